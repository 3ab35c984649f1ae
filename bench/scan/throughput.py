#!/usr/bin/env python3
"""Per-core throughput of `covault scan` against Presidio and detect-secrets, in one run.

Run through bench/scan.sh (which sets up the venv). Steps:
1. Build three samples of >= 1 MB in $BENCH_DIR (default target/bench-scan):
   prose  licence texts + Python 3.11 documentation sources (Debian base-files,
          python3.11-doc, fetched with apt-get download)
   dense  PII sentences (the pii.jsonl generator, another seed, + pii_intl.jsonl) with
          a labelled secret line (shared/data/secrets-dev.jsonl) after every 4th line
   code   Rust (pinned crates from the local cargo registry), Python standard library,
          TOML/YAML, mixed by file
   and a >= BENCH_SCAN_MB (20) MB version of each (the 1 MB sample repeated) for covault.
2. The whole process is pinned to CPU 0 (covault runs under `taskset -c 0` too).
   covault: `covault scan --format jsonl BIG` x BENCH_REPS (3), median wall time.
   Presidio: AnalyzerEngine.analyze on ~5 KB chunks of the 1 MB sample (model loaded
   beforehand, not timed), BENCH_BASELINE_REPS (3) runs, median.
   detect-secrets: SecretsCollection.scan_file on the 1 MB sample (in process, default
   plugins and filters, so interpreter start-up is not counted), same repetitions.
3. Print a Markdown table: MB/s (1 MB = 10^6 bytes) and covault/presidio,
   covault/detect-secrets; write $BENCH_DIR/results.json.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE / "corpora"))

MB = 1_000_000
SAMPLE_BYTES = int(float(os.environ.get("BENCH_SAMPLE_MB", "1.05")) * MB)
BIG_MB = float(os.environ.get("BENCH_SCAN_MB", "20"))
REPS = int(os.environ.get("BENCH_REPS", "3"))
BASE_REPS = int(os.environ.get("BENCH_BASELINE_REPS", "3"))
CHUNK = 5000
TARGETS = {"prose": 500, "dense": 100}


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- samples
def fill(parts, limit=SAMPLE_BYTES):
    out, n = [], 0
    for p in parts:
        b = p.encode("utf-8", errors="replace")
        out.append(b)
        n += len(b)
        if n >= limit:
            break
    data = b"".join(out)
    if len(data) < limit:
        raise SystemExit(f"sample too small: {len(data)} bytes")
    return data


def prose_sample():
    from _common import apt_fetch

    parts = []
    lic = apt_fetch("base-files") / "usr/share/common-licenses"
    parts += [p.read_text(errors="replace") for p in sorted(lic.iterdir()) if p.is_file() and not p.is_symlink()]
    src = apt_fetch("python3.11-doc") / "usr/share/doc/python3.11/html/_sources"
    for sub in ("tutorial", "howto", "faq", "reference", "using", "whatsnew"):
        parts += [p.read_text(errors="replace") for p in sorted((src / sub).rglob("*.rst.txt"))]
    return fill(parts)


def secrets_dev():
    for p in (os.environ.get("COVAULT_SECRETS_DEV"), REPO.parent / "shared/data/secrets-dev.jsonl",
              Path("/work/shared/data/secrets-dev.jsonl")):
        if p and Path(p).is_file():
            return [json.loads(l)["text"] for l in open(p, encoding="utf-8")]
    log("warning: secrets-dev.jsonl not found; dense sample has PII only")
    return []


def dense_sample():
    from build_pii import Gen

    random.seed(20240)  # Faker providers that use the global random
    g = Gen(seed=20240)
    rng = random.Random(3)
    secrets = [s for s in secrets_dev()]
    intl = [json.loads(l)["text"] for l in open(HERE / "corpora/pii_intl.jsonl", encoding="utf-8")]
    lines, n, i = [], 0, 0
    while n < SAMPLE_BYTES:
        new = [(g.sample(i)["text"] if i % 5 else rng.choice(intl)) + "\n"]
        i += 1
        if secrets and i % 4 == 0:
            new.append(rng.choice(secrets) + "\n")
        lines += new
        n += sum(len(x.encode()) for x in new)
    return fill(lines)


def code_sample():
    rng = random.Random(5)
    rs, py, cfg = [], [], []
    from _common import pinned_crates

    for crate in pinned_crates():
        rs += sorted(p for p in crate.rglob("*.rs") if p.stat().st_size < 300_000)
        cfg += sorted(crate.glob("Cargo.toml")) + sorted(crate.rglob("*.yml")) + sorted(crate.rglob("*.yaml"))
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    py = sorted(p for p in stdlib.glob("*.py") if p.is_file())
    cfg += sorted(REPO.glob("**/Cargo.toml"))[:50]
    for l in (rs, py, cfg):
        rng.shuffle(l)
    parts = []
    while rs or py or cfg:
        for l, k in ((rs, 2), (py, 2), (cfg, 1)):
            for _ in range(k):
                if l:
                    parts.append(l.pop().read_text(errors="replace"))
    return fill(parts)


def build_samples(d: Path):
    d.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, fn in (("prose", prose_sample), ("dense", dense_sample), ("code", code_sample)):
        small, big = d / f"{name}.txt", d / f"{name}-big.txt"
        if not small.exists():
            log(f"building {small}")
            small.write_bytes(fn())
        data = small.read_bytes()
        reps = max(1, int(-(-BIG_MB * MB // len(data))))
        if not big.exists() or big.stat().st_size != reps * len(data):
            big.write_bytes(data * reps)
        out[name] = (small, big)
    return out


# --------------------------------------------------------------------------- runners
def pin():
    try:
        os.sched_setaffinity(0, {0})
    except (AttributeError, OSError):
        log("warning: could not pin to CPU 0")
    for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[v] = "1"


def time_covault(binary, path: Path):
    cmd = ([shutil.which("taskset"), "-c", "0"] if shutil.which("taskset") else []) + [binary, "scan", "--format", "jsonl", str(path)]
    ts = []
    for _ in range(REPS):
        t0 = time.perf_counter()
        p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        ts.append(time.perf_counter() - t0)
        if p.returncode not in (0, 1):
            raise SystemExit(f"covault scan failed ({p.returncode}): {p.stderr.decode(errors='replace')[-1000:]}")
    return ts


def count_covault(binary, path: Path):
    p = subprocess.run([binary, "scan", "--format", "jsonl", str(path)], capture_output=True)
    return sum(1 for l in p.stdout.splitlines() if l.strip())


def chunks(text: str, size=CHUNK):
    out, cur, n = [], [], 0
    for line in text.splitlines(keepends=True):
        cur.append(line)
        n += len(line)
        if n >= size:
            out.append("".join(cur))
            cur, n = [], 0
    if cur:
        out.append("".join(cur))
    return out


def time_presidio(analyzer, path: Path):
    cs = chunks(path.read_text(encoding="utf-8"))
    ts, found = [], 0
    for _ in range(BASE_REPS):
        t0 = time.perf_counter()
        found = sum(len(analyzer.analyze(text=c, language="en")) for c in cs)
        ts.append(time.perf_counter() - t0)
    return ts, found


def time_detect_secrets(path: Path):
    from detect_secrets import SecretsCollection
    from detect_secrets.settings import default_settings

    ts, found = [], 0
    for _ in range(BASE_REPS):
        with default_settings():
            sc = SecretsCollection()
            t0 = time.perf_counter()
            sc.scan_file(str(path))
            ts.append(time.perf_counter() - t0)
            found = sum(len(v) for v in sc.data.values())
    return ts, found


def mbps(size, ts):
    return size / MB / statistics.median(ts)


def main():
    from _common import fixed_hashseed

    fixed_hashseed()  # samples identical from run to run (Faker draws from set-built lists)
    pin()
    bench_dir = Path(os.environ.get("BENCH_DIR", REPO / "target/bench-scan"))
    binary = os.environ.get("COVAULT_BIN", str(REPO / "target/release/covault"))
    have_cov = Path(binary).is_file() and os.access(binary, os.X_OK)
    if not have_cov:
        log(f"warning: no covault binary at {binary}; baselines only")
    samples = build_samples(bench_dir)
    skip = set(os.environ.get("BENCH_SKIP", "").split(","))

    analyzer = None
    if "presidio" not in skip:
        from presidio_engine import make_analyzer, presidio_version

        log("loading Presidio")
        analyzer = make_analyzer()
        analyzer.analyze(text="warm-up: John Smith, john@example.com", language="en")

    res = {}
    for name, (small, big) in samples.items():
        r = {"sample_bytes": small.stat().st_size, "big_bytes": big.stat().st_size}
        if have_cov:
            log(f"covault {name} ({big.stat().st_size / MB:.1f} MB) x{REPS}")
            ts = time_covault(binary, big)
            r["covault_s"] = ts
            r["covault_mbps"] = mbps(big.stat().st_size, ts)
            r["covault_findings_per_mb"] = count_covault(binary, small) / (small.stat().st_size / MB)
        if analyzer is not None:
            log(f"presidio {name} x{BASE_REPS}")
            ts, n = time_presidio(analyzer, small)
            r["presidio_s"], r["presidio_mbps"], r["presidio_findings_per_mb"] = ts, mbps(small.stat().st_size, ts), n / (small.stat().st_size / MB)
        if "detect-secrets" not in skip:
            log(f"detect-secrets {name} x{BASE_REPS}")
            ts, n = time_detect_secrets(small)
            r["ds_s"], r["ds_mbps"], r["ds_findings_per_mb"] = ts, mbps(small.stat().st_size, ts), n / (small.stat().st_size / MB)
        res[name] = r

    def ratio(a, b):
        return "–" if not a or not b else f"{a / b:,.0f}×" if a / b >= 100 else f"{a / b:,.1f}×"

    def f(x, nd=2):
        return "–" if x is None else (f"{x:,.{nd}f}" if x < 100 else f"{x:,.0f}")

    print(f"\n## covault scan throughput, one core (CPU 0)\n")
    print(f"covault: `{binary}` on the {BIG_MB:g}+ MB samples, median of {REPS}; Presidio "
          f"{presidio_version() if analyzer else '-'} (en_core_web_sm 3.8.0, ~5 KB chunks) and detect-secrets "
          f"1.5.0 (in process) on the 1 MB samples, median of {BASE_REPS}. MB = 10^6 bytes.\n")
    print("| sample | covault MB/s | target | Presidio MB/s | detect-secrets MB/s | covault / Presidio | covault / detect-secrets | findings/MB covault · Presidio · d-s |")
    print("|---|---|---|---|---|---|---|---|")
    for name, r in res.items():
        c, p, d = r.get("covault_mbps"), r.get("presidio_mbps"), r.get("ds_mbps")
        tgt = TARGETS.get(name)
        tgt_s = f"≥ {tgt}" + ("" if c is None else (" ✓" if c >= tgt else " ✗")) if tgt else "–"
        print(f"| {name} | {f(c)} | {tgt_s} | {f(p, 3)} | {f(d)} | {ratio(c, p)} | {ratio(c, d)} | {f(r.get('covault_findings_per_mb'), 0)} · "
              f"{f(r.get('presidio_findings_per_mb'), 0)} · {f(r.get('ds_findings_per_mb'), 0)} |")
    (bench_dir / "results.json").write_text(json.dumps(res, indent=1))
    log(f"wrote {bench_dir / 'results.json'}")


if __name__ == "__main__":
    main()
