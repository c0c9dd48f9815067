#!/usr/bin/env bash
# Sets the machine up (scripts/setup.sh), then runs the whole test suite in the
# environment it installed into. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. scripts/env.sh
activate_env
exec "$PY" -m pytest "$@"
