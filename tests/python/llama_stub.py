"""A local Llama Stack server for the ingestion tests, backed by Milvus-Lite.

It serves the endpoints `llama-stack-client` calls for ingestion (`/v1/providers`,
`/v1/vector-dbs`, `/v1/vector-io/insert`, `/v1/vector-io/query`) with the vector_io providers
of the Red Hat distribution's run configuration (contracts/rh-llama-stack-vector-io.json),
enabled by the same environment variables as there. Each provider stores into its own
Milvus-Lite database file: `milvus` (inline) into the "Llama Stack pod" file, `milvus-remote`
into the file standing for the Milvus server that stage 2 deploys — so a test can tell which
store the documents reached. Embeddings are a deterministic bag-of-words hash (no model).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from pymilvus import MilvusClient

CONTRACT = json.loads((Path(__file__).parent / "contracts" / "rh-llama-stack-vector-io.json").read_text())
REMOTE_STORES = {"remote::milvus"}


def embed(text: str, dim: int) -> list[float]:
    v = [0.0] * dim
    for word in re.findall(r"\w+", text.lower()):
        h = int(hashlib.md5(word.encode()).hexdigest(), 16)
        v[h % dim] += 1.0
    n = math.sqrt(sum(x * x for x in v)) or 1.0
    return [x / n for x in v]


def collection_name(db: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", db)


class LlamaStackStub:
    def __init__(self, workdir: Path, env: dict[str, str]):
        self.providers = [
            p for p in CONTRACT["vector_io"] if p["enabled_by"] is None or env.get(p["enabled_by"])
        ]
        self.inline_db = workdir / "llama-stack-pod-milvus.db"
        self.remote_db = workdir / "milvus-standalone.db"
        self.clients: dict[str, MilvusClient] = {}
        self.vector_dbs: dict[str, dict] = {}
        self.errors: list[str] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_a):
                pass

            def _send(self, status: int, payload) -> None:
                data = b"" if payload is None else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _body(self):
                n = int(self.headers.get("Content-Length") or 0)
                return json.loads(self.rfile.read(n) or b"{}")

            def do_GET(self):
                if self.path.startswith("/v1/providers"):
                    return self._send(200, {"data": [
                        {"api": "vector_io", "provider_id": p["provider_id"], "provider_type": p["provider_type"],
                         "config": {}, "health": {"status": "OK"}} for p in stub.providers]})
                if self.path.startswith("/v1/vector-dbs"):
                    return self._send(200, {"data": list(stub.vector_dbs.values())})
                self._send(404, {"detail": "Not Found"})

            def do_DELETE(self):
                if self.path.startswith("/v1/vector-dbs/"):
                    db = self.path.rsplit("/", 1)[1]
                    if db not in stub.vector_dbs:
                        return self._send(404, {"detail": f"vector db {db} not found"})
                    info = stub.vector_dbs.pop(db)
                    stub.client(info["provider_id"]).drop_collection(collection_name(db))
                    return self._send(200, None)
                self._send(404, {"detail": "Not Found"})

            def do_POST(self):
                body = self._body()
                try:
                    if self.path == "/v1/vector-dbs":
                        return self._send(200, stub.register(body))
                    if self.path == "/v1/vector-io/insert":
                        stub.insert(body)
                        return self._send(200, None)
                    if self.path == "/v1/vector-io/query":
                        return self._send(200, stub.query(body))
                except KeyError as err:
                    stub.errors.append(f"{self.path}: {err}")
                    return self._send(400, {"detail": f"missing or unknown {err}"})
                self._send(404, {"detail": "Not Found"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def client(self, provider_id: str) -> MilvusClient:
        provider = next(p for p in self.providers if p["provider_id"] == provider_id)
        path = self.remote_db if provider["provider_type"] in REMOTE_STORES else self.inline_db
        if str(path) not in self.clients:
            self.clients[str(path)] = MilvusClient(str(path))
        return self.clients[str(path)]

    def register(self, body: dict) -> dict:
        provider_id = body.get("provider_id") or self.providers[0]["provider_id"]
        if not any(p["provider_id"] == provider_id for p in self.providers):
            raise KeyError(f"provider_id {provider_id}")
        db = body["vector_db_id"]
        info = {"identifier": db, "provider_id": provider_id, "provider_resource_id": db, "type": "vector_db",
                "embedding_model": body["embedding_model"], "embedding_dimension": body.get("embedding_dimension", 768)}
        client = self.client(provider_id)
        if not client.has_collection(collection_name(db)):
            client.create_collection(collection_name(db), dimension=info["embedding_dimension"], auto_id=True)
        self.vector_dbs[db] = info
        return info

    def insert(self, body: dict) -> None:
        info = self.vector_dbs[body["vector_db_id"]]
        rows = [{"vector": embed(c["content"], info["embedding_dimension"]), "content": c["content"],
                 "metadata": json.dumps(c.get("metadata", {}))} for c in body["chunks"]]
        self.client(info["provider_id"]).insert(collection_name(info["identifier"]), rows)

    def query(self, body: dict) -> dict:
        info = self.vector_dbs[body["vector_db_id"]]
        hits = self.client(info["provider_id"]).search(
            collection_name(info["identifier"]), data=[embed(str(body["query"]), info["embedding_dimension"])],
            limit=3, output_fields=["content", "metadata"])[0]
        return {"chunks": [{"content": h["entity"]["content"], "metadata": json.loads(h["entity"]["metadata"])}
                           for h in hits], "scores": [h["distance"] for h in hits]}

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *_exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()
        for c in self.clients.values():
            c.close()


def count_rows(db_file: Path, vector_db: str) -> int:
    """Rows of a vector DB's collection in a Milvus-Lite file (0 when absent), read directly."""
    if not db_file.exists():
        return 0
    client = MilvusClient(str(db_file))
    try:
        name = collection_name(vector_db)
        if not client.has_collection(name):
            return 0
        return client.query(name, filter="", output_fields=["count(*)"])[0]["count(*)"]
    finally:
        client.close()
