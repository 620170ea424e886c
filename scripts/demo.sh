#!/usr/bin/env bash
# The main job (README): set up the environment from a fresh clone and execute the quickstart notebook end to
# end in a real Jupyter kernel, offline, on the CPU.  The executed notebook is written next to it as
# examples/quickstart.executed.ipynb (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=$(bash scripts/env.sh | tail -n 1)
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1
"$VENV/bin/python" scripts/run_notebook.py examples/quickstart.ipynb
