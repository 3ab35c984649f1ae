#!/usr/bin/env bash
# Scanner throughput: `covault scan` against Presidio (presidio-analyzer + spaCy small
# English) and detect-secrets, per core, in one run. See bench/scan/throughput.py for the
# samples and method, bench/scan/eval.py for accuracy.
# Knobs: COVAULT_BIN (target/release/covault; built with cargo unless set),
#        COVAULT_BENCH_VENV (target/bench-venv), BENCH_DIR (target/bench-scan),
#        BENCH_SCAN_MB (20: size of covault's sample), BENCH_REPS (3), BENCH_BASELINE_REPS (3),
#        BENCH_SKIP (comma list: presidio,detect-secrets).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${COVAULT_BENCH_VENV:-target/bench-venv}
REQ=bench/scan/requirements.txt

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
# reinstall only when requirements.txt changed
stamp="$VENV/.covault-bench-req"
if [ ! -f "$stamp" ] || ! cmp -s "$REQ" "$stamp"; then
  "$VENV/bin/pip" install -q --disable-pip-version-check -r "$REQ"
  cp "$REQ" "$stamp"
fi

if [ -z "${COVAULT_BIN:-}" ]; then
  cargo build --release --locked -p covault
  export COVAULT_BIN=target/release/covault
fi

exec "$VENV/bin/python" bench/scan/throughput.py "$@"
