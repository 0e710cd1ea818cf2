"""Chunks a scenario's Markdown and stores it in a Llama Stack vector DB (Task ingest-documents).

Uses the `llama-stack-client` SDK. The vector DB is (re)created on the provider PROVIDER_ID, so every
run replaces the collection instead of adding duplicates. In the Red Hat distribution's run
configuration `milvus-remote` (remote::milvus, enabled by MILVUS_ENDPOINT) is the Milvus that
stage 2 deploys; `milvus` is the inline Milvus-Lite file inside the Llama Stack pod.
Chunks are cut here (by Markdown section, then by paragraph, at most CHUNK_SIZE words) so the
count is known and reported. Environment: BASE, VECTOR_DB, LLAMA_STACK_URL, PROVIDER_ID,
EMBEDDING_MODEL, EMBEDDING_DIMENSION, CHUNK_SIZE.

The last line is the result democtl records for `democtl status`:
  {"democtl":"ingested","vector_db":…,"provider_id":…,"documents":…,"chunks":…}
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

PROVIDER_ID = "milvus-remote"


def sections(text: str) -> list[str]:
    """Markdown split before each heading; empty parts dropped."""
    parts = re.split(r"(?m)^(?=#{1,6} )", text)
    return [p.strip() for p in parts if p.strip()]


def chunk(text: str, max_words: int) -> list[str]:
    """Sections, split further by paragraph (and a long paragraph by words) to at most
    max_words words per chunk."""
    out: list[str] = []
    for section in sections(text):
        current: list[str] = []
        count = 0
        for para in re.split(r"\n\s*\n", section):
            words = para.split()
            if not words:
                continue
            if count + len(words) > max_words and current:
                out.append("\n\n".join(current))
                current, count = [], 0
            if len(words) > max_words:
                out.extend(" ".join(words[i : i + max_words]) for i in range(0, len(words), max_words))
                continue
            current.append(para.strip())
            count += len(words)
        if current:
            out.append("\n\n".join(current))
    return out


def check_provider(client, provider: str) -> str | None:
    """Why `provider` cannot take the vector DB (None when it can)."""
    vector_io = {p.provider_id: p.provider_type for p in client.providers.list() if p.api == "vector_io"}
    if provider not in vector_io:
        return (f"Llama Stack has no vector_io provider `{provider}` (it has {sorted(vector_io)}); "
                "the remote Milvus provider needs MILVUS_ENDPOINT in the LlamaStackDistribution")
    return None


def main() -> int:
    from llama_stack_client import LlamaStackClient

    base = Path(os.environ["BASE"])
    db = os.environ["VECTOR_DB"]
    provider = os.environ.get("PROVIDER_ID", PROVIDER_ID)
    model = os.environ.get("EMBEDDING_MODEL", "granite-embedding-125m")
    dimension = int(os.environ.get("EMBEDDING_DIMENSION", "768"))
    max_words = int(os.environ.get("CHUNK_SIZE", "256"))
    docs = sorted((base / "markdown").glob("*.md"))
    if not docs:
        print(f"no Markdown documents in {base / 'markdown'}", file=sys.stderr)
        return 1
    client = LlamaStackClient(base_url=os.environ["LLAMA_STACK_URL"], timeout=600)
    problem = check_provider(client, provider)
    if problem:
        print(problem, file=sys.stderr)
        return 1
    existing = {v.identifier: v for v in client.vector_dbs.list()}
    if db in existing:
        client.vector_dbs.unregister(db)
        print(f"vector db {db} existed on provider {existing[db].provider_id}: replaced", flush=True)
    registered = client.vector_dbs.register(
        vector_db_id=db, embedding_model=model, embedding_dimension=dimension, provider_id=provider
    )
    print(f"vector db {db} registered on provider {registered.provider_id}", flush=True)
    total = 0
    for i, doc in enumerate(docs, 1):
        pieces = chunk(doc.read_text(), max_words)
        chunks = [
            {"content": text, "metadata": {"document_id": doc.stem, "source": doc.name, "chunk": n}}
            for n, text in enumerate(pieces)
        ]
        client.vector_io.insert(vector_db_id=db, chunks=chunks)
        total += len(chunks)
        print(f"[{i}/{len(docs)}] {doc.name}: {len(chunks)} chunks inserted into {db}", flush=True)
    probe = client.vector_io.query(vector_db_id=db, query=docs[0].stem.replace("-", " "))
    if not probe.chunks:
        print(f"vector db {db} returned nothing for a query after ingestion", file=sys.stderr)
        return 1
    print(json.dumps({"democtl": "ingested", "vector_db": db, "provider_id": registered.provider_id,
                      "documents": len(docs), "chunks": total}, separators=(",", ":")), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
