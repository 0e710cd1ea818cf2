"""Downloads one Hugging Face model into a volume, reporting progress as JSON lines.

Run by the download Jobs in the KServe storage-initializer image (which ships huggingface_hub;
nothing is installed at run time). Environment: MODEL (repo id), TARGET (directory on the model
PVC), HF_TOKEN (may be empty for public models), REVISION (default main), HF_ENDPOINT (the hub
or a mirror; huggingface_hub reads it).

Progress lines (the contract democtl and the simulated cluster share), one JSON object per line
on stdout, nothing before it:
  {"democtl":"progress","file":…,"file_bytes":…,"file_total":…,"bytes_done":…,"bytes_total":…,"files_done":…,"files_total":…}
and at the end
  {"democtl":"done","bytes_total":…,"files_total":…}
Other lines are for humans; readers ignore them.

Re-runs are cheap: a complete copy (marker file .download-complete, written last) is kept, and
files already present with the right size are not fetched again.
"""

from __future__ import annotations

import fnmatch
import json
import os
import sys
from pathlib import Path

ALLOW = ["*.json", "*.safetensors", "*.model", "*.txt", "*.tekken*"]
MARKER = ".download-complete"


def emit(**fields) -> None:
    print(json.dumps({"democtl": fields.pop("kind"), **fields}, separators=(",", ":")), flush=True)


def wanted(name: str) -> bool:
    return any(fnmatch.fnmatch(name, p) for p in ALLOW)


def main() -> int:
    from huggingface_hub import HfApi, hf_hub_download
    from huggingface_hub.utils import HfHubHTTPError

    model, target = os.environ["MODEL"], Path(os.environ["TARGET"])
    revision = os.environ.get("REVISION", "main")
    token = os.environ.get("HF_TOKEN") or None
    if (target / MARKER).is_file():
        print(f"model {model} already present in {target}, nothing to download", flush=True)
        done = json.loads((target / MARKER).read_text() or "{}")
        emit(kind="done", bytes_total=done.get("bytes_total", 0), files_total=done.get("files_total", 0))
        return 0
    target.mkdir(parents=True, exist_ok=True)
    try:
        info = HfApi(token=token).model_info(model, revision=revision, files_metadata=True)
    except HfHubHTTPError as err:
        status = getattr(err.response, "status_code", None)
        hint = {401: "the token is missing or invalid", 403: "accept the model's licence on its Hugging Face page",
                404: "check the model id"}.get(status, "check the network path to the hub")
        print(f"cannot read model {model} from the hub: {err} ({hint})", file=sys.stderr, flush=True)
        return 2
    files = sorted((s.rfilename, s.size or 0) for s in info.siblings if wanted(s.rfilename))
    if not files:
        print(f"model {model} has no files matching {ALLOW}", file=sys.stderr, flush=True)
        return 2
    bytes_total = sum(size for _, size in files)
    print(f"downloading {model} ({len(files)} files, {bytes_total} bytes) into {target}", flush=True)
    bytes_done = 0
    for files_done, (name, size) in enumerate(files):
        common = dict(file=name, file_total=size, bytes_total=bytes_total, files_total=len(files))
        local = target / name
        if not (local.is_file() and local.stat().st_size == size):
            emit(kind="progress", file_bytes=0, bytes_done=bytes_done, files_done=files_done, **common)
            hf_hub_download(model, name, revision=info.sha or revision, local_dir=target, token=token)
        bytes_done += size
        emit(kind="progress", file_bytes=size, bytes_done=bytes_done, files_done=files_done + 1, **common)
    (target / MARKER).write_text(json.dumps({"bytes_total": bytes_total, "files_total": len(files), "sha": info.sha}))
    emit(kind="done", bytes_total=bytes_total, files_total=len(files))
    print(f"download of {model} complete", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
