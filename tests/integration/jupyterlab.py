"""A real JupyterLab server for browser tests: started in a temporary home, on a free local port, no network.

``JupyterLab.start(tmp)`` runs ``jupyter lab`` with this Python (so the kernel is this environment's, with
mera_magic importable), ``HOME``, the Jupyter and IPython directories and the HuggingFace cache inside ``tmp``,
news and update checks off; ``url(path)`` gives a page address with the token; ``stop()`` ends it.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync", "--disable-dev-shm-usage"]
INSTALL_HINT = "install it with `bash .ci/browser-setup.sh` (Debian's chromium + jupyterlab and playwright in the venv)"


def chromium_path() -> str | None:
    """The system Chromium, or None."""
    if os.path.exists(CHROMIUM):
        return CHROMIUM
    return shutil.which("chromium")


def free_port() -> int:
    """A TCP port free on the loopback interface now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def notebook(cells: list[str]) -> dict:
    """A minimal nbformat-4 notebook with these code cells and the python3 kernel."""
    return {
        "cells": [{"cell_type": "code", "execution_count": None, "id": f"cell{i}", "metadata": {}, "outputs": [],
                   "source": source} for i, source in enumerate(cells)],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
        "nbformat": 4, "nbformat_minor": 5,
    }


def write_lab_settings(tmp: Path, plugin: str, values: dict) -> None:
    """Settings for ``JupyterLab.start(tmp)`` (call before it): ``plugin`` as ``@jupyterlab/notebook-extension:tracker``."""
    package, name = plugin.rsplit(":", 1)
    folder = tmp / "lab-settings" / package
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.jupyterlab-settings").write_text(json.dumps(values), encoding="utf-8")


@dataclass
class JupyterLab:
    """A running ``jupyter lab``."""

    process: subprocess.Popen
    port: int
    token: str
    root: Path
    log: Path

    @classmethod
    def start(cls, tmp: Path, timeout: float = 120.0) -> JupyterLab:
        """Start JupyterLab with everything it writes inside ``tmp``; wait until it answers."""
        home, root = tmp / "home", tmp / "root"
        for d in (home, root, tmp / "jupyter-config", tmp / "jupyter-data", tmp / "jupyter-runtime", tmp / "ipython",
                  tmp / "lab-settings" / "@jupyterlab" / "apputils-extension", tmp / "hf"):
            d.mkdir(parents=True, exist_ok=True)
        # no "receive Jupyter news?" toast over the notebook
        (tmp / "lab-settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings").write_text(
            json.dumps({"fetchNews": "false", "checkForUpdates": False}))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "JPY_"))}
        env.update(HOME=str(home), JUPYTER_CONFIG_DIR=str(tmp / "jupyter-config"),
                   JUPYTER_DATA_DIR=str(tmp / "jupyter-data"), JUPYTER_RUNTIME_DIR=str(tmp / "jupyter-runtime"),
                   JUPYTERLAB_SETTINGS_DIR=str(tmp / "lab-settings"), JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"),
                   IPYTHONDIR=str(tmp / "ipython"), HF_HOME=str(tmp / "hf"), HF_HUB_OFFLINE="1",
                   HF_DATASETS_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONUNBUFFERED="1")
        port, token = free_port(), secrets.token_hex(16)
        log = tmp / "jupyterlab.log"
        command = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
                   f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--ServerApp.open_browser=False",
                   "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
                   "--ServerApp.port_retries=0", "--ServerApp.allow_root=True"]
        with open(log, "wb") as out:
            process = subprocess.Popen(command, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT)
        lab = cls(process, port, token, root, log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with {process.returncode}:\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(lab.url("api/status"), timeout=2) as reply:
                    if reply.status == 200:
                        return lab
            except OSError:
                time.sleep(0.5)
        lab.stop()
        raise RuntimeError(f"jupyter lab did not answer within {timeout:.0f} s:\n{log.read_text()[-3000:]}")

    def url(self, path: str) -> str:
        """``http://127.0.0.1:<port>/<path>?token=...``."""
        sep = "&" if "?" in path else "?"
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}{sep}token={self.token}"

    def write_notebook(self, name: str, cells: list[str]) -> Path:
        """Write a notebook into the server's root folder."""
        path = self.root / name
        path.write_text(json.dumps(notebook(cells), indent=1), encoding="utf-8")
        return path

    def api(self, method: str, path: str) -> object:
        """Call the server's REST API (``GET api/sessions``, ``DELETE api/kernels/<id>``); the JSON reply or None."""
        request = urllib.request.Request(self.url(path), method=method)
        with urllib.request.urlopen(request, timeout=30) as reply:
            body = reply.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> int:
        """Shut down every running kernel (as Kernel > Shut Down Kernel does); returns how many there were."""
        kernels = self.api("GET", "api/kernels") or []
        assert isinstance(kernels, list)
        for kernel in kernels:
            self.api("DELETE", f"api/kernels/{kernel['id']}")
        return len(kernels)

    def stop(self) -> None:
        """End the server (and the kernels it started)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def require_browser() -> None:
    """Skip when Chromium is not installed (the browser tests' stated reason); fail when Chromium is there but
    JupyterLab or Playwright is missing (a broken set-up, not a reason to skip)."""
    import pytest

    if chromium_path() is None:
        pytest.skip(f"Chromium is not installed: {INSTALL_HINT}")
    try:
        import jupyterlab  # noqa: F401
        import playwright  # noqa: F401
    except ImportError as exc:
        pytest.fail(f"{exc.name} is missing although Chromium is installed: {INSTALL_HINT}")
