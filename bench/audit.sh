#!/usr/bin/env bash
# Audit log benchmark: durable appends per second through the group committer with 1, 16, 64
# and 256 concurrent writers, beside the naive design (one fsynced transaction per event) in
# the same run; then `audit verify` over a log of 1,000,000 events beside a bare read of the
# same rows, and the first checkpoint signed over all of them.
# Knobs: BENCH_AUDIT_EVENTS (1000000), BENCH_AUDIT_APPENDS (200000). Needs ~1 GiB in $TMPDIR.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench --locked -p covault-store --bench audit
