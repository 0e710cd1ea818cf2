import json, os, ssl, sys, time, urllib.error, urllib.request
base = os.environ["REGISTRY_URL"] + "/api/model_registry/v1alpha3"
token = open(os.environ.get("TOKEN_FILE", "/var/run/secrets/kubernetes.io/serviceaccount/token")).read().strip()
tls = ssl.create_default_context(cafile=os.environ["CA_FILE"]) if base.startswith("https") else None
def call(method, path, body=None):
    req = urllib.request.Request(base + path, method=method,
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Authorization": "Bearer " + token,
                                          "Content-Type": "application/json"})
    with urllib.request.urlopen(req, context=tls, timeout=30) as resp:
        return json.load(resp)
for attempt in range(30):
    try:
        call("GET", "/registered_models?pageSize=1")
        break
    except (urllib.error.URLError, OSError) as err:
        print(f"registry not reachable yet ({err}), retrying", flush=True)
        time.sleep(10)
else:
    sys.exit("model registry did not answer")
models = json.loads(os.environ["MODELS"])
for m in models:
    try:
        rm = call("GET", "/registered_model?name=" + m["name"])
    except urllib.error.HTTPError as err:
        if err.code != 404:
            raise
        rm = call("POST", "/registered_models", {"name": m["name"], "description": m["description"]})
    try:
        mv = call("GET", f"/model_versions?name={m['version']}&parentResourceId={rm['id']}")
    except urllib.error.HTTPError as err:
        if err.code != 404:
            raise
        mv = call("POST", f"/registered_models/{rm['id']}/versions",
                  {"name": m["version"], "registeredModelId": rm["id"], "author": "private-ai-demo"})
        call("POST", f"/model_versions/{mv['id']}/artifacts",
             {"artifactType": "model-artifact", "name": m["name"], "uri": m["uri"],
              "modelFormatName": "vLLM", "modelFormatVersion": "1",
              "customProperties": {"source": {"metadataType": "MetadataStringValue", "string_value": m["source"]},
                                   "gpus": {"metadataType": "MetadataStringValue", "string_value": m["gpus"]}}})
    print(f"registered {m['name']} version {m['version']} (model id {rm['id']}, version id {mv['id']})", flush=True)
