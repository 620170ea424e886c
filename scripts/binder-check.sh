#!/usr/bin/env bash
# Check binder/ the way Binder uses it: a fresh virtual environment from exactly binder/requirements.txt,
# then binder/postBuild, then the quickstart notebook executed through binder/start in a real kernel.
# (Binder's own image differs in the Python it brings; the files are the same.)  The pytorch.org index named in
# requirements.txt is unreachable from this project's machines: PIP_RETRIES=0 makes pip give up on it at once
# and take torch from the registries it can reach.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv-binder
rm -rf "$VENV"
python3 -m venv "$VENV"
export PATH="$PWD/$VENV/bin:$PATH" VIRTUAL_ENV="$PWD/$VENV" PIP_RETRIES=0
python -m pip install -q --upgrade pip
python -m pip install -q -r binder/requirements.txt
bash binder/postBuild
bash binder/start python scripts/run_notebook.py examples/quickstart.ipynb --output "$VENV/quickstart.binder.ipynb"
python - "$VENV/quickstart.binder.ipynb" <<'PY'
import sys, nbformat
nb = nbformat.read(sys.argv[1], as_version=4)
errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
assert not errors, f"the quickstart raised on Binder's files: {errors[0].get('ename')}: {errors[0].get('evalue')}"
print(f"binder: the quickstart ran from binder/ alone ({len(nb.cells)} cells, no errors)")
PY
