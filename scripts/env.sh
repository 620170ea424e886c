#!/usr/bin/env bash
# Create (or reuse) a virtual environment with mera-magic and its test tools installed.
#   LM_EVAL_VERSION=0.4.13 (default) | 0.4.4 | 0.4.8 ...   which lm-eval release to test against
#   VENV=.venv (default: .venv for the newest, .venv-<version> otherwise)
# torch is pinned to the CPU wheel this machine provides: a bare `torch` requirement would pull a multi-GB CUDA
# build.  lm-eval < 0.4.10 (MERA's forks are 0.4.4- and 0.4.8-based) needs transformers < 5 and huggingface-hub < 1.
set -euo pipefail
cd "$(dirname "$0")/.."
LM_EVAL_VERSION="${LM_EVAL_VERSION:-0.4.13}"
if [ "$LM_EVAL_VERSION" = "0.4.13" ]; then VENV="${VENV:-.venv}"; else VENV="${VENV:-.venv-$LM_EVAL_VERSION}"; fi
PYTHON="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --upgrade pip
extra=()
case "$LM_EVAL_VERSION" in
  0.4.[0-9]) extra=("transformers<5" "huggingface-hub<1") ;;
esac
"$VENV/bin/python" -m pip install -q "torch==2.13.0"
"$VENV/bin/python" -m pip install -q "lm-eval[hf,api]==$LM_EVAL_VERSION" "${extra[@]}" -e ".[test]"
echo "$VENV"
