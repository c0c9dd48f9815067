#!/usr/bin/env bash
# Sets the machine up (scripts/setup.sh), then runs examples/demo.py: the agent
# signs up on the bundled demo page in headless Chromium; the run is reported,
# exported as training data and replayed, all under runs/. Real weights when
# they can be had, else a rule-based policy plus one step of a tiny offline model.
#   QWEN_AGENT_MODEL=ID_OR_PATH bash scripts/demo.sh     a model of your choice
#   bash scripts/demo.sh --help                         the demo's options
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. scripts/env.sh
activate_env
exec "$PY" examples/demo.py "$@"
