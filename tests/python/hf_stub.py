"""A local Hugging Face hub for the download script's tests: the two endpoints huggingface_hub
uses to list a model's files (`GET /api/models/{repo}/revision/{rev}?blobs=true`) and to fetch
one (`HEAD`/`GET /{repo}/resolve/{rev}/{file}`, with the `X-Repo-Commit`, `ETag` and
`Content-Length` headers its downloader requires), serving files held in memory."""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

SHA = "0123456789abcdef0123456789abcdef01234567"


class HubStub:
    def __init__(self, repo: str, files: dict[str, bytes], token: str | None = None):
        self.repo, self.files, self.token = repo, files, token
        self.fetched: list[str] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_a):
                pass

            def _reply(self, status: int, body: bytes = b"", headers: dict | None = None, head: bool = False):
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if not head:
                    self.wfile.write(body)

            def _route(self, head: bool):
                if stub.token and self.headers.get("authorization") != f"Bearer {stub.token}":
                    return self._reply(401, b'{"error":"Invalid credentials"}', {"X-Error-Code": "Unauthorized"}, head)
                path = unquote(urlsplit(self.path).path)
                if path.startswith(f"/api/models/{stub.repo}/revision/"):
                    siblings = [
                        {"rfilename": n, "size": len(b), "blobId": hashlib.sha1(b).hexdigest()}
                        for n, b in stub.files.items()
                    ]
                    body = json.dumps({"id": stub.repo, "sha": SHA, "siblings": siblings}).encode()
                    return self._reply(200, body, {"Content-Type": "application/json"}, head)
                prefix = f"/{stub.repo}/resolve/"
                if path.startswith(prefix):
                    name = path[len(prefix):].split("/", 1)[1]
                    if name in stub.files:
                        data = stub.files[name]
                        if not head:
                            stub.fetched.append(name)
                        headers = {"X-Repo-Commit": SHA, "ETag": f'"{hashlib.sha1(data).hexdigest()}"',
                                   "Content-Type": "application/octet-stream"}
                        return self._reply(200, data, headers, head)
                return self._reply(404, b'{"error":"Entry not found"}', {"X-Error-Code": "EntryNotFound"}, head)

            def do_GET(self):
                self._route(head=False)

            def do_HEAD(self):
                self._route(head=True)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

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
