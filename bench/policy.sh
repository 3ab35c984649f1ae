#!/usr/bin/env bash
# Policy benchmark: authorization decisions per second on one thread for the default Cedar
# policy set (and with 50 custom policies added), over a mix of 65 requests (every role,
# file / workspace / principal / provider actions, token scopes, MFA), beside a naive engine
# in the same run (the whole policy set and schema-validated entities per request).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench --locked -p covault-policy --bench decisions
