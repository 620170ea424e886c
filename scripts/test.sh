#!/usr/bin/env bash
# The test command (README): set up the environment from a fresh clone, lint, type-check, run the tests.
#   LM_EVAL_VERSION=0.4.4 bash scripts/test.sh    tests against another lm-eval release
#   BROWSER=1 bash scripts/test.sh                also installs Chromium + JupyterLab and runs the browser test
#   extra arguments go to pytest (e.g. -k runner)
#   the vLLM CPU-build environment (.venv-vllm, scripts/vllm-env.sh) is made too, unless MERA_VLLM_PYTHON names one
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=$(bash scripts/env.sh | tail -n 1)
if [ "${BROWSER:-0}" = "1" ]; then
  VIRTUAL_ENV="$PWD/$VENV" PATH="$PWD/$VENV/bin:$PATH" bash .ci/browser-setup.sh
fi
if [ -z "${MERA_VLLM_PYTHON:-}" ]; then
  # the API-backend tests start a real vLLM server (CPU build), which lives in an environment of its own
  VLLM_VENV=$(bash scripts/vllm-env.sh | tail -n 1)
  export MERA_VLLM_PYTHON="$PWD/$VLLM_VENV/bin/python"
fi
"$VENV/bin/ruff" check src tests bench
"$VENV/bin/mypy" --no-error-summary src/mera_magic || { echo "mypy found type errors"; exit 1; }
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1
"$VENV/bin/python" -m pytest -p no:cacheprovider "$@"
