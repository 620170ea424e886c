"""A local vLLM OpenAI-compatible server as a managed child process (``%mera serve``).

``start("path/or/name", ["--dtype", "float32"])`` picks a free loopback port, starts
``python -m vllm.entrypoints.openai.api_server --model MODEL --host 127.0.0.1 --port PORT ...`` with its output
in a log file, waits until ``/v1/models`` answers (reporting progress), and returns a :class:`Server` whose
``base_url`` goes into ``--model_args base_url=...``.  While it runs, the environment holds

* ``MERA_SERVE_URL``   ``http://127.0.0.1:PORT/v1`` (write ``base_url=$MERA_SERVE_URL/completions`` or
  ``.../chat/completions`` in a ``%%mera`` cell);
* ``MERA_SERVE_MODEL`` the served model name (``model=$MERA_SERVE_MODEL``; by default the MODEL argument
  itself, so lm_eval's tokenizer loads from the same folder or hub name).

Which Python runs vLLM: ``python=`` / ``%mera serve --python PATH``, else ``$MERA_VLLM_PYTHON``, else this
kernel's Python when it can import vLLM, else ``.venv-vllm/bin/python`` in the working directory or the
nearest folder above it that has one (made by ``scripts/vllm-env.sh``).  vLLM often lives in its own environment (its torch and transformers pins differ
from lm_eval's); the kernel only talks HTTP to it.

Servers are kept in the session (``SESSION.servers``) and stopped by :func:`stop`, ``SESSION.reset()`` or when
the kernel exits (atexit).  The module imports nothing heavy.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .errors import MeraError
from .session import SESSION

__all__ = ["SERVE_HELP", "ServeError", "Server", "find_python", "get", "running", "serve_line", "start", "stop"]

#: environment variables a running server is announced in (see the module docstring)
URL_VARIABLE = "MERA_SERVE_URL"
MODEL_VARIABLE = "MERA_SERVE_MODEL"
#: where a vLLM environment may be named explicitly
PYTHON_VARIABLE = "MERA_VLLM_PYTHON"
#: the environment scripts/vllm-env.sh makes
DEFAULT_VENV = ".venv-vllm"
#: vLLM's flags that mera-magic sets itself
_OWN_FLAGS = ("--host", "--port", "--model")


class ServeError(MeraError):
    """The vLLM server could not be started, did not become ready, or is not running."""


@dataclass
class Server:
    """One vLLM server started by this kernel."""

    model: str
    served_name: str
    host: str
    port: int
    python: str
    argv: list[str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    started: float = field(default_factory=time.monotonic)
    ready_seconds: float | None = None

    @property
    def url(self) -> str:
        """``http://HOST:PORT``."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT/v1``: append ``/completions`` or ``/chat/completions`` for lm_eval's ``base_url``."""
        return f"{self.url}/v1"

    def alive(self) -> bool:
        """The process is still running."""
        return self.process is not None and self.process.poll() is None

    def log(self, lines: int | None = 80) -> str:
        """The server's output (the last ``lines`` lines; all with ``None``)."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return text if lines is None else "\n".join(text.splitlines()[-lines:])

    def answers(self, timeout: float = 2.0) -> bool:
        """``GET /v1/models`` answers 200."""
        try:
            with urllib.request.urlopen(f"{self.base_url}/models", timeout=timeout) as response:
                return bool(response.status == 200)
        except (OSError, ValueError):
            return False

    def served_models(self, timeout: float = 2.0) -> list[str]:
        """The model names ``/v1/models`` lists."""
        with urllib.request.urlopen(f"{self.base_url}/models", timeout=timeout) as response:
            data = json.loads(response.read().decode("utf-8"))
        return [str(m.get("id")) for m in data.get("data", [])]

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the server (SIGTERM to its process group, SIGKILL after ``timeout`` seconds)."""
        proc = self.process
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)

    def __repr__(self) -> str:
        return f"<vLLM server {self.describe()}>"

    def describe(self) -> str:
        """One line: name, URL, state."""
        state = "running" if self.alive() else f"stopped (exit {self.process.returncode if self.process else '?'})"
        ready = f", ready in {self.ready_seconds:.0f} s" if self.ready_seconds is not None else ""
        return f"{self.served_name} at {self.base_url} — {state}{ready}; log: {self.log_path}"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def find_python(python: str | None = None) -> str:
    """The Python that runs vLLM (see the module docstring for the order); raises ServeError if none has it."""
    candidates: list[tuple[str, str]] = []
    if python:
        candidates.append((python, "python="))
    elif os.environ.get(PYTHON_VARIABLE):
        candidates.append((os.environ[PYTHON_VARIABLE], f"${PYTHON_VARIABLE}"))
    else:
        if importlib.util.find_spec("vllm") is not None:
            return sys.executable
        candidates.append(_default_venv())
    for path, origin in candidates:
        if not Path(path).exists():
            raise ServeError(f"no Python at {path} (from {origin}) to run vLLM",
                             hint="Create vLLM's environment with `bash scripts/vllm-env.sh` (CPU build) or "
                                  "`python -m venv v && v/bin/pip install vllm` (GPU), then `%mera serve --python "
                                  "v/bin/python MODEL`, or set $MERA_VLLM_PYTHON.")
        probe = subprocess.run([path, "-c", "import importlib.util, sys; sys.exit(importlib.util.find_spec('vllm') is None)"],
                               capture_output=True, timeout=60)
        if probe.returncode != 0:
            raise ServeError(f"{path} (from {origin}) cannot import vllm",
                             hint="Install vLLM there (`pip install vllm`, or `bash scripts/vllm-env.sh` for the CPU "
                                  "build), or point `--python` / $MERA_VLLM_PYTHON at an environment that has it.")
        return path
    raise ServeError("no Python with vLLM was found")  # pragma: no cover - the loop returns or raises


def _default_venv() -> tuple[str, str]:
    """``.venv-vllm/bin/python`` of the working directory, or of the nearest folder above it that has one (a
    notebook in ``examples/`` finds the repository's), and how to name it; the working directory's when none has."""
    here = Path.cwd()
    for folder in (here, *here.parents):
        python = folder / DEFAULT_VENV / "bin" / "python"
        if python.exists():
            return str(python), os.path.join(os.path.relpath(folder, here), DEFAULT_VENV)
    return str(here / DEFAULT_VENV / "bin" / "python"), f"./{DEFAULT_VENV}"


def _flag_value(args: Sequence[str], flag: str) -> str | None:
    for i, word in enumerate(args):
        if word == flag and i + 1 < len(args):
            return args[i + 1]
        if word.startswith(flag + "="):
            return word.split("=", 1)[1]
    return None


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    # vLLM's internal message queue binds the machine's first non-loopback address otherwise (fails in sandboxes)
    env.setdefault("VLLM_HOST_IP", "127.0.0.1")
    env.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")  # GiB; vLLM-CPU's default (4) is a lot on a small machine
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    env.pop(URL_VARIABLE, None)
    env.pop(MODEL_VARIABLE, None)
    return env


def running() -> list[Server]:
    """The servers this kernel started that are still running (stopped ones are forgotten)."""
    servers: dict[str, Server] = SESSION.servers
    for name in [n for n, s in servers.items() if not s.alive()]:
        _forget(servers.pop(name))
    return list(servers.values())


def _announce(server: Server) -> None:
    os.environ[URL_VARIABLE] = server.base_url
    os.environ[MODEL_VARIABLE] = server.served_name


def _forget(server: Server) -> None:
    if os.environ.get(URL_VARIABLE) == server.base_url:
        os.environ.pop(URL_VARIABLE, None)
        os.environ.pop(MODEL_VARIABLE, None)
        rest = [s for s in SESSION.servers.values() if s is not server and s.alive()]
        if rest:
            _announce(rest[-1])


def start(model: str, vllm_args: Sequence[str] = (), *, python: str | None = None, host: str = "127.0.0.1",
          port: int | None = None, timeout: float = 900.0, log_dir: str | Path | None = None,
          on_progress: Callable[[float, str], None] | None = None) -> Server:
    """Start vLLM's OpenAI-compatible server for ``model`` and wait until it answers; return the :class:`Server`.

    ``vllm_args`` are vLLM's own flags (``--dtype float32``, ``--max-model-len 2048``, ``--served-model-name
    NAME``, ``--tensor-parallel-size 2`` ...).  ``on_progress(elapsed_seconds, last_log_line)`` is called about
    twice a second while waiting.  Raises :class:`ServeError` (with the end of the server's log) when the
    process exits or ``timeout`` seconds pass first; the process is stopped then.
    """
    args = list(vllm_args)
    for own in _OWN_FLAGS:
        if _flag_value(args, own) is not None:
            raise ServeError(f"`{own}` is set by `%mera serve` itself",
                             hint="Give the model as the first word, and `--port N` before it if you need a fixed port.")
    served_name = _flag_value(args, "--served-model-name") or model
    existing = SESSION.servers.get(served_name)
    if existing is not None and existing.alive():
        raise ServeError(f"a server for `{served_name}` is already running at {existing.base_url}",
                         hint="`%mera serve --stop` stops it first.")
    exe = find_python(python)
    port = port or free_port(host)
    folder = Path(log_dir) if log_dir else Path(tempfile.mkdtemp(prefix="mera-serve-"))
    folder.mkdir(parents=True, exist_ok=True)
    log_path = folder / f"vllm-{port}.log"
    argv = [exe, "-m", "vllm.entrypoints.openai.api_server", "--model", model, "--host", host, "--port", str(port), *args]
    server = Server(model, served_name, host, port, exe, argv, log_path)
    with open(log_path, "wb") as out:
        server.process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                          env=_child_env(), start_new_session=True)
    SESSION.servers[served_name] = server
    _register_atexit()
    try:
        _wait_ready(server, timeout, on_progress)
    except BaseException:
        server.stop(10)
        SESSION.servers.pop(served_name, None)
        raise
    server.ready_seconds = time.monotonic() - server.started
    _announce(server)
    return server


def _last_line(server: Server) -> str:
    lines = [line for line in server.log(5).splitlines() if line.strip()]
    return lines[-1][-160:] if lines else ""


def _wait_ready(server: Server, timeout: float, on_progress: Callable[[float, str], None] | None) -> None:
    deadline = server.started + timeout
    while True:
        if server.answers(timeout=2.0):
            return
        elapsed = time.monotonic() - server.started
        if not server.alive():
            code = server.process.returncode if server.process else "?"
            raise ServeError(f"vLLM exited with status {code} before it was ready ({elapsed:.0f} s)",
                             hint=f"The end of its log ({server.log_path}):\n{server.log(25)}")
        if time.monotonic() > deadline:
            raise ServeError(f"vLLM was not ready after {timeout:.0f} s",
                             hint=f"Raise --ready-timeout, or look at its log ({server.log_path}):\n{server.log(15)}")
        if on_progress is not None:
            on_progress(elapsed, _last_line(server))
        time.sleep(0.5)


def stop(name: str | None = None) -> list[Server]:
    """Stop one server (by served name) or all of them; return those stopped."""
    servers: dict[str, Server] = SESSION.servers
    if name is not None and name not in servers:
        raise ServeError(f"no server named `{name}`", hint=f"Running: {', '.join(servers) or 'none'}.")
    names = [name] if name is not None else list(servers)
    stopped = []
    for n in names:
        server = servers.pop(n)
        server.stop()
        _forget(server)
        stopped.append(server)
    return stopped


def get(name: str | None = None) -> Server:
    """The server named ``name`` (or the only/latest one); ServeError when there is none."""
    servers: dict[str, Server] = SESSION.servers
    if not servers:
        raise ServeError("no server was started in this kernel", hint="`%mera serve MODEL [vLLM flags]` starts one.")
    if name is None:
        return list(servers.values())[-1]
    if name not in servers:
        raise ServeError(f"no server named `{name}`", hint=f"Running: {', '.join(servers)}.")
    return servers[name]


_ATEXIT_REGISTERED = [False]


def _register_atexit() -> None:
    if not _ATEXIT_REGISTERED[0]:
        atexit.register(_stop_all_quietly)
        _ATEXIT_REGISTERED[0] = True


def _stop_all_quietly() -> None:
    for server in list(SESSION.servers.values()):
        with contextlib.suppress(Exception):
            server.stop(10)


SERVE_HELP = """%mera serve MODEL [--python PATH] [--port N] [--ready-timeout S] [vLLM flags ...]
%mera serve                      the servers this kernel started
%mera serve --log [NAME] [--lines N]
%mera serve --stop [NAME]        (all of them without NAME; they also stop when the kernel exits)

Starts vLLM's OpenAI-compatible server (python -m vllm.entrypoints.openai.api_server) on 127.0.0.1 and a free
port, waits until it answers, and sets $MERA_SERVE_URL (http://127.0.0.1:PORT/v1) and $MERA_SERVE_MODEL (the
served name) for the cells:

    %%mera
    lm_eval --model local-completions \\
      --model_args model=$MERA_SERVE_MODEL,base_url=$MERA_SERVE_URL/completions,num_concurrent=8 \\
      --tasks parus,rcb --output_path $PWD/mera_results --log_samples

(local-chat-completions: base_url=$MERA_SERVE_URL/chat/completions and --apply_chat_template.)
--python: the Python whose environment has vLLM (default: $MERA_VLLM_PYTHON, this kernel's if it has vLLM,
else .venv-vllm/bin/python, as made by scripts/vllm-env.sh, here or in a folder above).  Every other flag is vLLM's own
(--dtype, --max-model-len, --served-model-name, --tensor-parallel-size, ...).  On a CPU, --enforce-eager skips
vLLM's graph compilation: ready in about half the time (measured 96 s vs 220 s for the demo model, loaded machine).
"""


def _live_status(text: str, handle: object | None) -> object | None:
    """Show ``text`` in the cell (updated in place under IPython; printed otherwise); returns the handle."""
    try:
        from IPython import get_ipython
        from IPython.display import display

        if get_ipython() is not None:
            if handle is None:
                return display({"text/plain": text}, raw=True, display_id=True)
            handle.update({"text/plain": text}, raw=True)  # type: ignore[attr-defined]
            return handle
    except ImportError:  # pragma: no cover - IPython is a dependency
        pass
    print(text, flush=True)
    return handle


def serve_line(words: Sequence[str]) -> Server | None:
    """``%mera serve ...`` (see :data:`SERVE_HELP`): start, list, show the log of, or stop servers."""
    words = list(words)
    if not words:
        servers = running()
        print("\n".join(s.describe() for s in servers) if servers else "no server started in this kernel")
        return None
    if words[0] in ("-h", "--help", "help"):
        print(SERVE_HELP)
        return None
    if words[0] == "--stop":
        stopped = stop(words[1] if len(words) > 1 else None)
        print("\n".join(f"stopped {s.served_name} ({s.base_url})" for s in stopped) or "no server was running")
        return None
    if words[0] == "--log":
        lines: int | None = 80
        rest = words[1:]
        if "--lines" in rest:
            i = rest.index("--lines")
            lines = int(rest[i + 1]) if i + 1 < len(rest) else None
            del rest[i:i + 2]
        server = get(rest[0] if rest else None)
        print(f"{server.describe()}\n{server.log(lines)}")
        return None
    own: dict[str, str] = {}
    model: str | None = None
    vllm_args: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        name, eq, value = word.partition("=")
        if name in ("--python", "--port", "--ready-timeout"):
            if not eq:
                if i + 1 >= len(words):
                    raise ServeError(f"`{name}` needs a value", hint=SERVE_HELP)
                value = words[i + 1]
                i += 1
            own[name] = value
        elif model is None and not word.startswith("-"):
            model = word
        else:
            vllm_args.append(word)
        i += 1
    if model is None:
        raise ServeError("`%mera serve` needs the model to serve (a folder or a hub name)", hint=SERVE_HELP)
    try:
        port = int(own["--port"]) if "--port" in own else None
        timeout = float(own.get("--ready-timeout", 900))
    except ValueError as err:
        raise ServeError(f"--port / --ready-timeout must be numbers: {err}") from None
    handle: list[object | None] = [None]
    last = [0.0]

    def progress(elapsed: float, line: str) -> None:
        if elapsed - last[0] >= 2 or handle[0] is None:
            last[0] = elapsed
            handle[0] = _live_status(f"starting vLLM for {model} … {elapsed:.0f} s\n  {line}", handle[0])

    server = start(model, vllm_args, python=own.get("--python"), port=port, timeout=timeout, on_progress=progress)
    _live_status(f"vLLM serves `{server.served_name}` at {server.base_url} (ready in {server.ready_seconds:.0f} s).\n"
                 f"In a %%mera cell: --model local-completions --model_args model=$MERA_SERVE_MODEL,"
                 f"base_url=$MERA_SERVE_URL/completions  (chat: base_url=$MERA_SERVE_URL/chat/completions "
                 f"--apply_chat_template).  `%mera serve --log` shows its log, `%mera serve --stop` stops it.",
                 handle[0])
    return server
