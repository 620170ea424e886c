#!/usr/bin/env bash
# The README's pictures, taken by the browser tests (not drawn): runs the panel-run test and the saved-results test
# in JupyterLab with headless Chromium, then copies their screenshots from artifacts/browser/ into docs/images/.
#   bash scripts/screenshots.sh        (needs .venv from scripts/env.sh; installs Chromium + JupyterLab if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=$(bash scripts/env.sh | tail -n 1)
VIRTUAL_ENV="$PWD/$VENV" PATH="$PWD/$VENV/bin:$PATH" bash .ci/browser-setup.sh
rm -f artifacts/browser/run-panel-en.png artifacts/browser/run-panel-ru.png artifacts/browser/static-live-r1.png \
  artifacts/browser/static-reloaded-compare.png
HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 "$VENV/bin/python" -m pytest -p no:cacheprovider -q \
  tests/integration/test_browser.py::test_a_panel_run_is_a_cell_run \
  tests/integration/test_static_outputs.py::test_saved_quickstart_shows_results_without_a_kernel
mkdir -p docs/images
cp artifacts/browser/run-panel-en.png docs/images/panel.png
cp artifacts/browser/run-panel-ru.png docs/images/panel-ru.png
cp artifacts/browser/static-live-r1.png docs/images/results.png
cp artifacts/browser/static-reloaded-compare.png docs/images/compare.png
ls -l docs/images
