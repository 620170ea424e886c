"""Fixtures of the integration tests: the vLLM environment and one real vLLM server per test session.

* ``vllm_python``  the Python of the environment with vLLM's CPU build (``$MERA_VLLM_PYTHON``, else
  ``.venv-vllm/bin/python`` at the repository root, as ``scripts/vllm-env.sh`` makes it; ``.ci/run`` builds it);
* ``vllm_server``  a :class:`mera_magic.serve.Server` serving the demo model on 127.0.0.1 (float32, CPU),
  started once per session with :func:`mera_magic.serve.start` and stopped after the session.  The served
  name is the model's folder, so lm_eval's tokenizer loads from ``model=`` as it would for a user.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
#: vLLM flags of every server the tests start: the demo model in float32, a small context, no graph compilation
#: (ready in about half the time on a CPU)
VLLM_FLAGS = ["--dtype", "float32", "--max-model-len", "1024", "--max-num-seqs", "16", "--enforce-eager"]


@pytest.fixture(scope="session")
def vllm_python() -> str:
    """The Python with vLLM's CPU build (fails with the command that makes it when there is none)."""
    path = os.environ.get("MERA_VLLM_PYTHON") or str(REPO / ".venv-vllm" / "bin" / "python")
    if not Path(path).exists():
        pytest.fail(f"no vLLM environment at {path}: run `bash scripts/vllm-env.sh` (as .ci/run does), or set "
                    "MERA_VLLM_PYTHON to a Python that has vLLM", pytrace=False)
    return path


@pytest.fixture(scope="session")
def vllm_server(vllm_python: str, demo_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A real vLLM OpenAI-compatible server for the demo model, for the whole session."""
    from mera_magic import serve
    from mera_magic.session import SESSION

    server = serve.start(str(demo_model), VLLM_FLAGS, python=vllm_python,
                         log_dir=tmp_path_factory.mktemp("vllm-server"), timeout=1200)
    # the tests own it, not the session: SESSION.reset() elsewhere must not stop it, nor its URL leak
    SESSION.servers.pop(server.served_name, None)
    os.environ.pop(serve.URL_VARIABLE, None)
    os.environ.pop(serve.MODEL_VARIABLE, None)
    try:
        yield server
    finally:
        server.stop()
