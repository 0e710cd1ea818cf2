"""The ingestion scripts: fetch (ConfigMap documents), convert (Docling Serve) and ingest
(llama-stack-client into a Llama Stack stub whose providers follow the Red Hat distribution,
storing into Milvus-Lite)."""

from __future__ import annotations

import json
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import COMPONENTS, run_script, script
from llama_stub import LlamaStackStub, count_rows

DOCS = COMPONENTS / "docling-pipeline" / "documents"
# The LlamaStackDistribution's environment, as the render sets it.
LSD_ENV = {"MILVUS_ENDPOINT": "http://milvus-standalone.private-ai-demo.svc.cluster.local:19530"}


def task_env(task: str, step: str) -> dict[str, str]:
    """Literal env values of a Tekton Task step (parameter defaults substituted)."""
    import yaml  # noqa: PLC0415 - only this helper needs it

    doc = yaml.safe_load((COMPONENTS / "docling-pipeline" / f"task-{task}.yaml").read_text())
    defaults = {p["name"]: p.get("default") for p in doc["spec"].get("params", [])}
    (s,) = [s for s in doc["spec"]["steps"] if s["name"] == step]
    env = {}
    for e in s.get("env", []):
        v = str(e.get("value", ""))
        for name, default in defaults.items():
            if default is not None:
                v = v.replace(f"$(params.{name})", str(default))
        env[e["name"]] = v
    return env


def ingest(stub: LlamaStackStub, base, db: str, **extra):
    env = {"BASE": str(base), "VECTOR_DB": db, "LLAMA_STACK_URL": stub.url}
    env.update({k: v for k, v in task_env("ingest-documents", "ingest").items()
                if k in ("PROVIDER_ID", "EMBEDDING_MODEL", "EMBEDDING_DIMENSION", "CHUNK_SIZE")})
    env.update(extra)
    return run_script(script("docling-pipeline", "ingest_documents.py"), env, timeout=120)


@pytest.fixture
def acme_markdown(tmp_path):
    base = tmp_path / "acme"
    (base / "markdown").mkdir(parents=True)
    for f in (DOCS / "acme").glob("*.md"):
        shutil.copy(f, base / "markdown" / f.name)
    return base


def result_line(stdout: str) -> dict:
    last = [l for l in stdout.splitlines() if l.startswith('{"democtl":"ingested"')]
    assert last, stdout
    return json.loads(last[-1])


def test_ingestion_reaches_the_deployed_milvus(tmp_path, acme_markdown):
    with LlamaStackStub(tmp_path, LSD_ENV) as stub:
        result = ingest(stub, acme_markdown, "acme-manufacturing")
        assert result.returncode == 0, result.stdout + result.stderr
    summary = result_line(result.stdout)
    assert summary["documents"] == 2 and summary["chunks"] > 2
    assert count_rows(stub.remote_db, "acme-manufacturing") == summary["chunks"]
    assert count_rows(stub.inline_db, "acme-manufacturing") == 0


def test_re_ingesting_replaces_the_collection(tmp_path, acme_markdown):
    with LlamaStackStub(tmp_path, LSD_ENV) as stub:
        first = ingest(stub, acme_markdown, "acme-manufacturing")
        assert first.returncode == 0, first.stderr
        second = ingest(stub, acme_markdown, "acme-manufacturing")
        assert second.returncode == 0, second.stderr
        assert "replaced" in second.stdout
    assert count_rows(stub.remote_db, "acme-manufacturing") == result_line(second.stdout)["chunks"]


def test_a_distribution_without_remote_milvus_is_refused(tmp_path, acme_markdown):
    with LlamaStackStub(tmp_path, {}) as stub:
        result = ingest(stub, acme_markdown, "acme-manufacturing")
    assert result.returncode == 1
    assert "MILVUS_ENDPOINT" in result.stderr


def test_chunks_stay_within_the_size():
    import importlib.util

    spec = importlib.util.spec_from_file_location("ingest", script("docling-pipeline", "ingest_documents.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    text = "# A\n\n" + "word " * 50 + "\n\n" + "x " * 5 + "\n\n# B\n\nshort"
    chunks = mod.chunk(text, 20)
    assert all(len(c.split()) <= 20 for c in chunks)
    assert " ".join(" ".join(chunks).split()) == " ".join(text.split())
    assert chunks[-1] == "# B\n\nshort"


class DoclingStub:
    """Docling Serve's `POST /v1/convert/file`: multipart in, `document.md_content` out."""

    def __init__(self):
        self.seen: list[str] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_a):
                pass

            def do_POST(self):
                n = int(self.headers["Content-Length"])
                body = self.rfile.read(n)
                ok = self.path == "/v1/convert/file" and b'name="to_formats"\r\n\r\nmd' in body
                name = body.split(b'filename="', 1)[1].split(b'"', 1)[0].decode()
                stub.seen.append(name)
                payload = {"document": {"filename": name, "md_content": f"# {name}\n\nconverted"},
                           "status": "success", "errors": []} if ok else {"detail": "bad request"}
                data = json.dumps(payload).encode()
                self.send_response(200 if ok else 422)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("scenario", ["redhat", "eu-ai-act", "acme"])
def test_fetch_and_convert_every_shipped_scenario(tmp_path, scenario):
    base = tmp_path / scenario
    fetched = run_script(script("docling-pipeline", "fetch_documents.sh"),
                         {"SOURCE": str(DOCS / scenario), "DIR": str(base / "source"), "CONFIGMAP": f"documents-{scenario}"})
    assert fetched.returncode == 0, fetched.stderr
    shipped = sorted(p.name for p in (DOCS / scenario).iterdir())
    assert sorted(p.name for p in (base / "source").iterdir()) == shipped
    docling = DoclingStub()
    try:
        url = f"http://127.0.0.1:{docling.server.server_address[1]}"
        converted = run_script(script("docling-pipeline", "convert_documents.py"), {"BASE": str(base), "DOCLING_URL": url})
    finally:
        docling.close()
    assert converted.returncode == 0, converted.stderr
    assert docling.seen == sorted(n for n in shipped if not n.endswith(".md"))
    assert sorted(p.stem for p in (base / "markdown").iterdir()) == sorted(n.rsplit(".", 1)[0] for n in shipped)


def test_fetch_fails_on_an_empty_configmap(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_script(script("docling-pipeline", "fetch_documents.sh"),
                        {"SOURCE": str(empty), "DIR": str(tmp_path / "src"), "CONFIGMAP": "documents-x"})
    assert result.returncode == 1
    assert "ConfigMap documents-x is empty" in result.stderr
