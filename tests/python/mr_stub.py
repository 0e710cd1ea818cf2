"""A local Model Registry REST server for the scripts' tests, held to the published contract.

The contract is the Model Registry OpenAPI document as the `model-registry` PyPI package ships
it: its `mr_openapi` client is generated from that document (OpenAPI Generator), one coroutine
per operation, whose serializer names the HTTP method, the path template and the declared query
parameters, whose signature names the request body schema and whose return type names the
response schema. `Contract.from_sdk()` reads that table, so the stub serves exactly the
operations of the document at the pinned version, and nothing else:

- a request whose method and path match no operation answers 404 and is recorded;
- a query parameter the operation does not declare is ignored (as the Go server does) and
  recorded;
- a request body is validated against the operation's body schema (the generated pydantic
  model), unknown fields recorded; every response is validated against the operation's
  response schema before it is sent, so the stub cannot drift from the document either.

Semantics follow the real server: list endpoints answer `{items, size, pageSize,
nextPageToken}`; the `find` endpoints (`/registered_model`, `/model_version`, `/model_artifact`,
singular) answer the one object or 404; names are unique (registered models globally, versions
per registered model, artifacts per version) and a duplicate create is a 409.
"""

from __future__ import annotations

import inspect
import itertools
import json
import re
import threading
import time
import typing
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pydantic


@dataclass
class Operation:
    name: str
    method: str
    template: str
    pattern: re.Pattern
    query: list[str]
    body_model: type | None
    response_model: type | None

    def match(self, method: str, path: str) -> dict | None:
        if method != self.method:
            return None
        m = self.pattern.fullmatch(path)
        return m.groupdict() if m else None


@dataclass
class Contract:
    base: str
    operations: list[Operation]
    version: str

    @staticmethod
    def from_sdk() -> "Contract":
        import mr_openapi
        from mr_openapi.api.model_registry_service_api import ModelRegistryServiceApi

        ops = []
        for name, fn in inspect.getmembers(ModelRegistryServiceApi, inspect.iscoroutinefunction):
            if name.startswith("_") or name.endswith(("_with_http_info", "_without_preload_content")):
                continue
            src = inspect.getsource(getattr(ModelRegistryServiceApi, f"_{name}_serialize"))
            method = re.search(r'method="(\w+)"', src).group(1)
            template = re.search(r'resource_path="([^"]+)"', src).group(1)
            query = re.findall(r'_query_params\.append\(\("(\w+)"', src)
            hints = typing.get_type_hints(fn, include_extras=True)
            body = None
            for pname, hint in hints.items():
                base = typing.get_args(hint)[0] if typing.get_origin(hint) is typing.Annotated else hint
                if pname != "return" and inspect.isclass(base) and issubclass(base, pydantic.BaseModel):
                    body = base
            ret = hints.get("return")
            response = ret if inspect.isclass(ret) and issubclass(ret, pydantic.BaseModel) else None
            regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
            ops.append(Operation(name, method, template, re.compile(regex), query, body, response))
        base = ops[0].template.split("/")[:4]
        return Contract("/".join(base), ops, getattr(mr_openapi, "__version__", "?"))

    def find(self, method: str, path: str) -> tuple[Operation, dict] | None:
        for op in self.operations:
            params = op.match(method, path)
            if params is not None:
                return op, params
        return None


class ApiError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Store:
    models: dict = field(default_factory=dict)
    versions: dict = field(default_factory=dict)
    artifacts: dict = field(default_factory=dict)
    ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def new(self, table: dict, body: dict, **extra) -> dict:
        now = str(int(time.time() * 1000))
        obj = {
            "id": str(next(self.ids)),
            "createTimeSinceEpoch": now,
            "lastUpdateTimeSinceEpoch": now,
            "customProperties": {},
            **body,
            **extra,
        }
        table[obj["id"]] = obj
        return obj


def _listing(items: list) -> dict:
    return {"items": items, "size": len(items), "pageSize": 100, "nextPageToken": ""}


class Registry:
    """The server's behaviour, one handler per operation name of the contract."""

    def __init__(self) -> None:
        self.store = Store()

    def handle(self, op: Operation, params: dict, query: dict, body: dict | None) -> tuple[int, dict]:
        handler = getattr(self, op.name, None)
        if handler is None:
            raise ApiError(501, f"stub does not implement operation {op.name}")
        return handler(params=params, query=query, body=body)

    # -- helpers
    def _get(self, table: dict, oid: str, what: str) -> dict:
        if oid not in table:
            raise ApiError(404, f"{what} with id {oid} not found")
        return table[oid]

    def _patch(self, obj: dict, body: dict) -> dict:
        obj.update(body)
        obj["lastUpdateTimeSinceEpoch"] = str(int(time.time() * 1000))
        return obj

    def _find(self, table: dict, query: dict, parent_key: str | None, what: str) -> dict:
        name, parent = query.get("name"), query.get("parentResourceId")
        ext = query.get("externalId")
        for obj in table.values():
            if name is not None and obj.get("name") != name:
                continue
            if ext is not None and obj.get("externalId") != ext:
                continue
            if parent_key and parent is not None and obj.get(parent_key) != parent:
                continue
            return obj
        raise ApiError(404, f"no {what} found for {query}")

    # -- registered models
    def get_registered_models(self, **_kw):
        return 200, _listing(list(self.store.models.values()))

    def find_registered_model(self, query, **_kw):
        return 200, self._find(self.store.models, query, None, "registered model")

    def create_registered_model(self, body, **_kw):
        if any(m["name"] == body["name"] for m in self.store.models.values()):
            raise ApiError(409, f"registered model {body['name']} already exists")
        return 201, self.store.new(self.store.models, body, state="LIVE")

    def get_registered_model(self, params, **_kw):
        return 200, self._get(self.store.models, params["registeredmodelId"], "registered model")

    def update_registered_model(self, params, body, **_kw):
        return 200, self._patch(self._get(self.store.models, params["registeredmodelId"], "registered model"), body)

    # -- versions
    def _create_version(self, body: dict, parent: str) -> dict:
        self._get(self.store.models, parent, "registered model")
        if any(v["name"] == body["name"] and v["registeredModelId"] == parent for v in self.store.versions.values()):
            raise ApiError(409, f"model version {body['name']} already exists")
        body = {**body, "registeredModelId": parent}
        return self.store.new(self.store.versions, body, state="LIVE")

    def get_model_versions(self, **_kw):
        return 200, _listing(list(self.store.versions.values()))

    def get_registered_model_versions(self, params, **_kw):
        parent = params["registeredmodelId"]
        self._get(self.store.models, parent, "registered model")
        return 200, _listing([v for v in self.store.versions.values() if v["registeredModelId"] == parent])

    def create_model_version(self, body, **_kw):
        return 201, self._create_version(body, body["registeredModelId"])

    def create_registered_model_version(self, params, body, **_kw):
        return 201, self._create_version(body, params["registeredmodelId"])

    def find_model_version(self, query, **_kw):
        return 200, self._find(self.store.versions, query, "registeredModelId", "model version")

    def get_model_version(self, params, **_kw):
        return 200, self._get(self.store.versions, params["modelversionId"], "model version")

    def update_model_version(self, params, body, **_kw):
        return 200, self._patch(self._get(self.store.versions, params["modelversionId"], "model version"), body)

    # -- artifacts
    def get_model_version_artifacts(self, params, **_kw):
        parent = params["modelversionId"]
        self._get(self.store.versions, parent, "model version")
        return 200, _listing([a for a in self.store.artifacts.values() if a["_parent"] == parent])

    def upsert_model_version_artifact(self, params, body, **_kw):
        parent = params["modelversionId"]
        self._get(self.store.versions, parent, "model version")
        if body.get("id"):
            return 200, self._patch(self._get(self.store.artifacts, body["id"], "artifact"), body)
        for a in self.store.artifacts.values():
            if a["_parent"] == parent and a.get("name") == body.get("name"):
                raise ApiError(409, f"artifact {body.get('name')} already exists")
        return 201, self.store.new(self.store.artifacts, body, _parent=parent, state="LIVE")

    def find_model_artifact(self, query, **_kw):
        return 200, self._find(self.store.artifacts, query, "_parent", "model artifact")

    def get_model_artifact(self, params, **_kw):
        return 200, self._get(self.store.artifacts, params["modelartifactId"], "model artifact")

    def update_model_artifact(self, params, body, **_kw):
        return 200, self._patch(self._get(self.store.artifacts, params["modelartifactId"], "model artifact"), body)

    def get_artifact(self, params, **_kw):
        return 200, self._get(self.store.artifacts, params["id"], "artifact")

    def update_artifact(self, params, body, **_kw):
        return 200, self._patch(self._get(self.store.artifacts, params["id"], "artifact"), body)


def _conform(model: type, data: dict):
    """`data` parsed as the generated model does it (oneOf wrappers resolve to their one
    matching schema, which is returned); raises ValueError/ValidationError when it does not fit."""
    parsed = model.from_dict(data)
    if parsed is None:
        raise ValueError(f"not a {model.__name__}")
    return getattr(parsed, "actual_instance", None) or parsed


def _wire(obj: dict) -> dict:
    """The object as the server sends it (internal fields dropped)."""
    return {k: v for k, v in obj.items() if not k.startswith("_")}


class Stub:
    """The server: `with Stub() as mr: …` serves on 127.0.0.1 until the block ends."""

    def __init__(self, token: str | None = None) -> None:
        self.contract = Contract.from_sdk()
        self.registry = Registry()
        self.token = token
        self.violations: list[str] = []
        self.requests: list[tuple[str, str]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args):  # quiet
                pass

            def _serve(self, method: str) -> None:
                url = urlsplit(self.path)
                stub.requests.append((method, self.path))
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                status, payload = stub.dispatch(method, url.path, dict(parse_qsl(url.query)), raw, self.headers)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._serve("GET")

            def do_POST(self):
                self._serve("POST")

            def do_PATCH(self):
                self._serve("PATCH")

            def do_PUT(self):
                self._serve("PUT")

            def do_DELETE(self):
                self._serve("DELETE")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "Stub":
        self.thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()

    def dispatch(self, method: str, path: str, query: dict, raw: bytes, headers) -> tuple[int, dict]:
        if self.token is not None and headers.get("Authorization") != f"Bearer {self.token}":
            return 401, {"code": "401", "message": "missing or wrong bearer token"}
        found = self.contract.find(method, path)
        if found is None:
            self.violations.append(f"{method} {path}: no such operation in the OpenAPI document")
            return 404, {"code": "404", "message": "not found"}
        op, params = found
        for q in query:
            if q not in op.query:
                self.violations.append(f"{method} {path}: query parameter `{q}` is not declared by {op.name}")
        body = None
        if op.body_model is not None:
            try:
                body = json.loads(raw or b"null")
                schema = type(_conform(op.body_model, body))
            except (ValueError, pydantic.ValidationError) as err:
                self.violations.append(f"{method} {path}: body does not match {op.body_model.__name__}: {err}")
                return 400, {"code": "400", "message": str(err)}
            known = {f.alias or n for n, f in schema.model_fields.items()}
            for k in body:
                if k not in known:
                    self.violations.append(f"{method} {path}: field `{k}` is not in {schema.__name__}")
        try:
            status, obj = self.registry.handle(op, params, query, body)
        except ApiError as err:
            return err.status, {"code": str(err.status), "message": err.message}
        payload = _wire(obj)
        if "items" in payload:
            payload = {**payload, "items": [_wire(i) for i in payload["items"]]}
        if op.response_model is not None:
            _conform(op.response_model, payload)
        return status, payload

    # -- for assertions
    def versions_of(self, model_name: str) -> list[dict]:
        models = [m for m in self.registry.store.models.values() if m["name"] == model_name]
        if not models:
            return []
        return [v for v in self.registry.store.versions.values() if v["registeredModelId"] == models[0]["id"]]

    def artifacts_of(self, version_id: str) -> list[dict]:
        return [a for a in self.registry.store.artifacts.values() if a["_parent"] == version_id]
