#!/usr/bin/env python3
"""Second oracle for democtl's renderer: kustomize v5.8 compiled to a C library
(PyPI `pykustomize==0.1.4`, `libpykustomize.so`), loaded with ctypes from any Python 3.

Renders every corpus case under tests/kustomize/corpus/ and every kustomization under
gitops/ with `democtl render DIR` and with the library, and compares the objects after
parsing (sorted-key JSON per document). `error-*` cases must fail in both;
`unsupported-*` cases are skipped (democtl refuses them by design).

Needs the network once to fetch the wheel (cached under --cache). Not part of `cargo test`;
CI may call it:  python3 tests/kustomize/pykustomize_oracle.py --democtl target/debug/democtl
Exit status: 0 all equal, 1 differences, 2 setup problem.
"""
import argparse
import ctypes
import json
import pathlib
import subprocess
import sys
import zipfile

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
WHEEL = "pykustomize==0.1.4"
SO = "pykustomize/_lib/linux-amd64/libpykustomize.so"


class NoTimestampLoader(yaml.SafeLoader):
    """YAML 1.1 SafeLoader without timestamp resolution (strings stay strings)."""


NoTimestampLoader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def fetch_library(cache: pathlib.Path) -> pathlib.Path:
    so = cache / SO
    if so.exists():
        return so
    cache.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
         "--python-version", "3.14", "--platform", "manylinux_2_17_x86_64", WHEEL, "-d", str(cache)],
        check=True, stdout=subprocess.DEVNULL,
    )
    wheel = next(cache.glob("pykustomize-*.whl"))
    with zipfile.ZipFile(wheel) as z:
        z.extract(SO, cache)
    return so


class Kustomize:
    def __init__(self, so: pathlib.Path):
        self.lib = ctypes.CDLL(str(so))
        self.lib.pykustomize_build_to_json.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p)]
        self.lib.pykustomize_build_to_json.restype = ctypes.c_int
        self.lib.pykustomize_last_error.restype = ctypes.c_void_p

    def build(self, path: pathlib.Path):
        out = ctypes.c_void_p()
        rc = self.lib.pykustomize_build_to_json(str(path).encode(), b"{}", ctypes.byref(out))
        if rc != 0:
            err = self.lib.pykustomize_last_error()
            return None, ctypes.string_at(err).decode() if err else "failed"
        return json.loads(ctypes.string_at(out.value).decode())["resources"], None


def democtl(binary: str, path: pathlib.Path):
    p = subprocess.run([binary, "render", str(path)], capture_output=True, text=True)
    if p.returncode != 0:
        return None, p.stderr.strip()
    return [d for d in yaml.load_all(p.stdout, Loader=NoTimestampLoader) if d is not None], None


def canon(docs):
    return [json.dumps(d, sort_keys=True, indent=1) for d in docs]


def dirs():
    corpus = ROOT / "tests/kustomize/corpus"
    for case in sorted(p for p in corpus.iterdir() if p.is_dir()):
        rel = case / "build-dir"
        yield case.name, (case / rel.read_text().strip()) if rel.exists() else case
    for k in sorted((ROOT / "gitops").rglob("kustomization.yaml")):
        if "kind: Component" not in k.read_text():
            yield str(k.parent.relative_to(ROOT)), k.parent


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--democtl", default=str(ROOT / "target/debug/democtl"))
    ap.add_argument("--cache", default=str(ROOT / "target/pykustomize"))
    args = ap.parse_args()
    try:
        k = Kustomize(fetch_library(pathlib.Path(args.cache)))
    except Exception as e:  # noqa: BLE001 - setup problems are reported, not raised
        print(f"SKIP: cannot load {WHEEL}: {e}", file=sys.stderr)
        return 2
    diffs, total = [], 0
    for name, path in dirs():
        if name.startswith("unsupported-"):
            continue
        total += 1
        theirs, terr = k.build(path)
        ours, oerr = democtl(args.democtl, path)
        if terr and oerr:
            continue
        if name.startswith("error-") or terr or oerr:
            diffs.append(f"{name}: kustomize {'failed: ' + terr if terr else 'ok'}; democtl {'failed: ' + oerr if oerr else 'ok'}")
        elif canon(theirs) != canon(ours):
            diffs.append(f"{name}: outputs differ")
    for d in diffs:
        print(d)
    print(f"pykustomize oracle (kustomize v5.8): {total - len(diffs)}/{total} equal")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
