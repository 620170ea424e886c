#!/usr/bin/env bash
# The test command (README): set up the environment from a fresh clone, lint, type-check, run the tests.
#   LM_EVAL_VERSION=0.4.4 bash scripts/test.sh    tests against another lm-eval release
#   BROWSER=1 bash scripts/test.sh                also installs Chromium + JupyterLab and runs the browser test
#   extra arguments go to pytest (e.g. -k runner)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=$(bash scripts/env.sh | tail -n 1)
if [ "${BROWSER:-0}" = "1" ]; then
  VIRTUAL_ENV="$PWD/$VENV" PATH="$PWD/$VENV/bin:$PATH" bash .ci/browser-setup.sh
fi
"$VENV/bin/ruff" check src tests bench
"$VENV/bin/mypy" --no-error-summary src/mera_magic || { echo "mypy found type errors"; exit 1; }
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1
"$VENV/bin/python" -m pytest -p no:cacheprovider "$@"
