#!/usr/bin/env bash
# Rebuild every corpus in this directory from its registry sources (fixed seeds).
# Needs the bench venv (bench/scan.sh creates it) and apt-get (Debian packages are
# downloaded, not installed).
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-../../../${COVAULT_BENCH_VENV:-target/bench-venv}/bin/python}
"$PY" build_pii.py
"$PY" build_pii_intl.py
"$PY" build_negatives.py
"$PY" build_secrets.py
"$PY" build_injection.py   # uses pii.jsonl and negatives.jsonl
