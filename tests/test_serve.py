"""mera_magic.serve: what `%mera serve` refuses or reports before (or without) starting vLLM.

Starting a real vLLM server, its readiness, log, a server killed mid-run and `--stop` are tested in
tests/integration/test_vllm_server.py against vLLM's CPU build.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from IPython.utils.capture import capture_output

from mera_magic import serve
from mera_magic.serve import ServeError
from mera_magic.session import SESSION


@pytest.fixture(autouse=True)
def no_servers() -> None:
    assert not SESSION.servers  # these tests start none


def test_a_missing_python_is_named_with_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ServeError, match="no Python at .*nowhere") as info:
        serve.find_python(str(tmp_path / "nowhere" / "python"))
    assert "scripts/vllm-env.sh" in str(info.value)


def test_a_python_without_vllm_is_refused(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "v")], check=True)
    with pytest.raises(ServeError, match="cannot import vllm"):
        serve.find_python(str(tmp_path / "v" / "bin" / "python"))


def test_the_variable_names_the_python(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(serve.PYTHON_VARIABLE, str(tmp_path / "from-variable"))
    with pytest.raises(ServeError, match=r"from \$MERA_VLLM_PYTHON"):
        serve.find_python()


def test_the_default_is_the_vllm_venv_of_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    if importlib.util.find_spec("vllm") is not None:
        pytest.skip("this environment has vLLM: the kernel's own Python is the default then")
    monkeypatch.delenv(serve.PYTHON_VARIABLE, raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ServeError, match=r"\.venv-vllm/bin/python \(from \./\.venv-vllm\)"):
        serve.find_python()


def test_the_vllm_venv_of_a_folder_above_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A notebook in examples/ uses the repository's .venv-vllm (here one without vLLM, so it is named and refused)."""
    import importlib.util

    if importlib.util.find_spec("vllm") is not None:
        pytest.skip("this environment has vLLM: the kernel's own Python is the default then")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / ".venv-vllm")], check=True)
    (tmp_path / "examples").mkdir()
    monkeypatch.delenv(serve.PYTHON_VARIABLE, raising=False)
    monkeypatch.chdir(tmp_path / "examples")
    with pytest.raises(ServeError, match=r"/\.venv-vllm/bin/python \(from \.\./\.venv-vllm\) cannot import vllm"):
        serve.find_python()


@pytest.mark.parametrize("flag", ["--port", "--host", "--model", "--port=8000"])
def test_flags_serve_sets_itself_are_refused(flag: str) -> None:
    args = [flag] if "=" in flag else [flag, "x"]
    with pytest.raises(ServeError, match="is set by `%mera serve` itself"):
        serve.start("some-model", args, python="/no/such/python")


def test_line_without_a_model_or_a_value() -> None:
    with pytest.raises(ServeError, match="needs the model"):
        serve.serve_line(["--python", sys.executable])
    with pytest.raises(ServeError, match="`--python` needs a value"):
        serve.serve_line(["m", "--python"])
    with pytest.raises(ServeError, match="must be numbers"):
        serve.serve_line(["--port", "eighty", "m"])


def test_status_stop_and_log_without_servers() -> None:
    with capture_output() as out:
        serve.serve_line([])
        serve.serve_line(["--stop"])
        serve.serve_line(["--help"])
    assert "no server started in this kernel" in out.stdout and "no server was running" in out.stdout
    assert "$MERA_SERVE_URL" in out.stdout
    with pytest.raises(ServeError, match="no server was started"):
        serve.serve_line(["--log"])
    with pytest.raises(ServeError, match="no server named `x`"):
        serve.stop("x")


def test_free_port_is_free() -> None:
    port = serve.free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


def test_the_child_gets_loopback_and_no_stale_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VLLM_HOST_IP", raising=False)
    monkeypatch.setenv(serve.URL_VARIABLE, "http://stale")
    env = serve._child_env()
    assert env["VLLM_HOST_IP"] == "127.0.0.1" and serve.URL_VARIABLE not in env
    assert os.environ[serve.URL_VARIABLE] == "http://stale"  # the kernel's own environment is not changed
