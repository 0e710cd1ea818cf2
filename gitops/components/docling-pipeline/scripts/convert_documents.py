"""Converts every document of a scenario to Markdown (Task convert-documents).

Markdown is copied as is; everything else (HTML, PDF, DOCX, …) goes to Docling Serve's
`POST /v1/convert/file` (multipart `files`, `to_formats=md`), whose answer carries the Markdown
in `document.md_content`. Environment: BASE (the scenario's workspace directory, with source/),
DOCLING_URL.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
import uuid
from pathlib import Path


def multipart(name: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode() + data + (
        f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="to_formats"\r\n\r\nmd\r\n--{boundary}--\r\n'
    ).encode()
    return body, f"multipart/form-data; boundary={boundary}"


def convert(url: str, doc: Path, timeout: float) -> str:
    body, ctype = multipart(doc.name, doc.read_bytes())
    req = urllib.request.Request(url.rstrip("/") + "/v1/convert/file", data=body, headers={"Content-Type": ctype})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        result = json.load(resp)
    if result.get("status") not in (None, "success"):
        raise RuntimeError(f"Docling answered status {result.get('status')}: {result.get('errors')}")
    md = (result.get("document") or {}).get("md_content")
    if not md:
        raise RuntimeError("Docling's answer has no document.md_content")
    return md


def main() -> int:
    base = Path(os.environ["BASE"])
    url = os.environ["DOCLING_URL"]
    timeout = float(os.environ.get("DOCLING_TIMEOUT", "900"))
    out = base / "markdown"
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.md"):
        old.unlink()
    docs = sorted(p for p in (base / "source").iterdir() if p.is_file())
    if not docs:
        print(f"no documents in {base / 'source'}", file=sys.stderr)
        return 1
    for i, doc in enumerate(docs, 1):
        if doc.suffix == ".md":
            (out / doc.name).write_text(doc.read_text())
            print(f"[{i}/{len(docs)}] {doc.name}: already Markdown", flush=True)
            continue
        try:
            md = convert(url, doc, timeout)
        except (urllib.error.URLError, OSError, RuntimeError, ValueError) as err:
            print(f"[{i}/{len(docs)}] {doc.name}: conversion by Docling at {url} failed: {err}", file=sys.stderr)
            return 1
        (out / (doc.stem + ".md")).write_text(md)
        print(f"[{i}/{len(docs)}] {doc.name}: converted by Docling", flush=True)
    print(f"{len(docs)} documents as Markdown in {out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
