#!/usr/bin/env bash
# Installs what the browser test (tests/integration/test_browser.py, marker `browser`) needs:
#   - Debian's Chromium and its driver (apt), used headless at /usr/bin/chromium;
#   - JupyterLab and the Playwright Python package, into the active virtual environment.
# Playwright drives the system Chromium: this script never runs `playwright install` and downloads no browser.
# Usage (as root, with the project's venv active):  bash .ci/browser-setup.sh
set -euo pipefail

if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends chromium chromium-driver fonts-dejavu-core
fi

if [ -z "${VIRTUAL_ENV:-}" ]; then
    echo "browser-setup: activate the project's virtual environment first (source .venv/bin/activate)" >&2
    exit 1
fi
python -m pip install --quiet "jupyterlab>=4,<5" "playwright>=1.40"

chromium --version
python -c "import jupyterlab, playwright; print('jupyterlab', jupyterlab.__version__)"
