#!/usr/bin/env bash
# Store benchmark: put/get of a 1 GiB file and 10,000 small files (1-16 KiB) through the real
# covault server on loopback, against `cp` and `cp` + fsync of the same data, in one run.
# Knobs: BENCH_LARGE_MIB (1024), BENCH_SMALL_FILES (10000), BENCH_CONCURRENCY (16),
# BENCH_DIR (where data is generated; default $TMPDIR). Needs ~3 GiB free there.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench --locked -p covault-server --bench store
