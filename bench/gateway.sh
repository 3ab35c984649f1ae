#!/usr/bin/env bash
# Gateway benchmark: a 4 KB prompt with PII, non-streamed and streamed, straight to a fixture
# provider vs through covault (release build, scanning and redaction on, its own process) vs
# through the LiteLLM proxy (pip install 'litellm[proxy]' into a venv), in one run. Prints CPU
# per request of the proxy process, requests/s at concurrency 16, p50/p99 added latency at a
# fixed arrival rate (open loop), and added time to first byte.
#
# Environment: COVAULT_BENCH_VENV (target/bench-venv), BENCH_RATE (1000), BENCH_SECONDS (5),
# BENCH_REQUESTS (2000), NO_LITELLM=1 to skip the peer.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --locked --release -p covault
export COVAULT_BIN="$PWD/target/release/covault"
if [ -z "${NO_LITELLM:-}" ]; then
  VENV=${COVAULT_BENCH_VENV:-target/bench-venv}
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/python" -c "import litellm" 2>/dev/null \
    || "$VENV/bin/pip" install -q --disable-pip-version-check 'litellm[proxy]'
  export LITELLM_BIN="$PWD/$VENV/bin/litellm"
  case "$VENV" in /*) export LITELLM_BIN="$VENV/bin/litellm" ;; esac
fi
cargo bench --locked -p covault-gateway --bench gateway
