"""Connecting to the Model Registry from a pod: the `model-registry` SDK, the pod's service
account token and the service CA (OpenShift's oauth proxy in front of the REST API).

REGISTRY_URL  https://<service>.<namespace>.svc.cluster.local:8443 (http:// for a plain server)
TOKEN_FILE    bearer token (default: the pod's service account token)
CA_FILE       CA bundle for https (default: the service CA OpenShift mounts into every pod)
"""

from __future__ import annotations

import os
import sys
import time
from urllib.parse import urlsplit

SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
AUTHOR = "private-ai-demo"


def connect(attempts: int = int(os.environ.get("CONNECT_ATTEMPTS", "30")), pause: float = 10.0):
    from model_registry import ModelRegistry

    url = urlsplit(os.environ["REGISTRY_URL"])
    secure = url.scheme == "https"
    token = open(os.environ.get("TOKEN_FILE", f"{SA_DIR}/token")).read().strip()
    port = url.port or (443 if secure else 80)
    kwargs = {"author": AUTHOR, "is_secure": secure, "user_token": token}
    if secure:
        kwargs["custom_ca"] = os.environ.get("CA_FILE", f"{SA_DIR}/service-ca.crt")
    last = None
    for attempt in range(1, attempts + 1):
        try:
            registry = ModelRegistry(f"{url.scheme}://{url.hostname}", port, **kwargs)
            # One cheap call: the registry answers (and our token is accepted) or we wait.
            registry.get_registered_model("democtl-connectivity-probe")
            return registry
        except Exception as err:  # noqa: BLE001 - any failure to connect is retried, then reported
            last = err
            print(f"model registry at {url.geturl()} not usable yet ({err}); attempt {attempt}/{attempts}", flush=True)
            if attempt < attempts:
                time.sleep(pause)
    sys.exit(f"model registry at {url.geturl()} not usable after {attempts} attempts: {last}")
