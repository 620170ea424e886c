"""Run a command as a child process (``accelerate launch``, ``--subprocess``, or import-time variables that
this kernel can no longer apply), with the same live progress and the same RunResult at the end.

The child is :mod:`mera_magic.lmeval.child_main` (``lm_eval`` with its writers' secret masking and failed-write
check): every secret in its argv is replaced by a placeholder and travels in its environment instead, so
``/proc/<pid>/cmdline`` (readable by every user of the machine) never shows one.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..command.render import spec_to_argv
from ..errors import RunError, RunInterrupted
from ..lmeval.child_main import MARKER, SECRETS_VARIABLE, WRITE_FAILED
from ..lmeval.output import output_files
from ..secrets import mask_text, register_spec
from ..spec import RunSpec
from .progress import Phase, Progress

# "Running loglikelihood requests:  45%|████▌     | 45/100 [00:01<00:02, 30.1it/s]"
#: the module the child runs: lm_eval's CLI with secrets kept off its argv (see mera_magic.lmeval.child_main)
CHILD_MODULE = "mera_magic.lmeval.child_main"
_TQDM = re.compile(r"^(?P<desc>.*?):?\s*(?P<pct>\d+)%\|.*?\|\s*(?P<n>\d+)/(?P<total>\d+)")


def secret_free(argv: list[str]) -> tuple[list[str], dict[str, str]]:
    """``argv`` with each secret replaced by a placeholder, and ``{placeholder: secret}``."""
    carried: dict[str, str] = {}
    by_value: dict[str, str] = {}

    def placeholder(secret: str) -> str:
        if secret in carried:  # already a placeholder
            return secret
        if secret not in by_value:
            by_value[secret] = f"@MERA_SECRET_{len(by_value)}@"
            carried[by_value[secret]] = secret
        return by_value[secret]

    return [mask_text(word, replace=placeholder) for word in argv], carried


def child_command(spec: RunSpec, output_path: str | None) -> list[str]:
    """The argv of the child process (with secrets in it: :func:`secret_free` takes them out)."""
    argv = spec_to_argv(spec)
    if output_path and not spec.options.get("output_path"):
        argv += ["--output_path", output_path]
    if spec.launcher:
        launcher = list(spec.launcher)
        local = Path(sys.executable).parent / launcher[0]
        if local.exists():
            launcher[0] = str(local)
        elif shutil.which(launcher[0]) is None:
            raise RunError(f"`{launcher[0]}` is not installed in the kernel's environment",
                           hint=f"pip install {launcher[0]}")
        return [*launcher, "-m", CHILD_MODULE, *argv]
    return [sys.executable, "-m", CHILD_MODULE, *argv]


def child_environment(spec: RunSpec, carried: dict[str, str]) -> dict[str, str]:
    """The child's environment: the kernel's, the run's variables, the argv's secrets, mera-magic importable."""
    env = dict(os.environ)
    env.update(spec.env)
    env.setdefault("PYTHONUNBUFFERED", "1")
    env[SECRETS_VARIABLE] = json.dumps(carried)
    package_root = str(Path(__file__).resolve().parents[2])  # the folder mera_magic is imported from
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    if package_root not in paths:
        env["PYTHONPATH"] = os.pathsep.join([*paths, package_root])
    return env


def _reader(stream: Any, progress: Progress) -> None:
    phases: dict[str, Phase] = {}
    buffer = ""
    while True:
        chunk = stream.read(1)
        if not chunk:
            break
        if chunk in "\r\n":
            line, buffer = buffer.strip(), ""
            if not line:
                continue
            m = _TQDM.match(line)
            if m:
                desc = m.group("desc").strip() or "working"
                n, total = int(m.group("n")), int(m.group("total"))
                phase = phases.get(desc) or phases.setdefault(desc, progress.start_phase(desc, total))
                progress.advance(phase, n, total)
                if n >= total and phase.finished is None:
                    progress.end_phase(phase)
            else:
                progress.write(line)
        else:
            buffer += chunk


def evaluate_in_child(spec: RunSpec, progress: Progress, reasons: list[str],
                      on_tick: Callable[[], None] | None = None) -> dict[str, Any]:
    """Run ``spec`` in a child process; return ``{"files", "elapsed", "returncode", "output_path"}``."""
    output_path = spec.options.get("output_path")
    if not output_path:
        output_path = tempfile.mkdtemp(prefix="mera-run-")
        progress.note(f"No --output_path: the child writes its results to {output_path} so they can be shown.")
    for reason in reasons:
        progress.note(f"Runs in a child process: {reason}.")
    before = output_files(output_path)
    register_spec(spec)
    cmd, carried = secret_free(child_command(spec, output_path))
    env = child_environment(spec, carried)
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True,
                            encoding="utf-8", errors="replace", start_new_session=True)
    reader = threading.Thread(target=_reader, args=(proc.stdout, progress), daemon=True)
    reader.start()
    interrupted = False
    while proc.poll() is None:
        try:
            time.sleep(0.25)
            if on_tick is not None:
                on_tick()
        except KeyboardInterrupt:
            interrupted = True
            progress.status = "stopping"
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
    reader.join(5)
    elapsed = time.monotonic() - start
    if interrupted:
        progress.status = "stopped"
        raise RunInterrupted(f"stopped by the user after {elapsed:.0f} s; the child process was ended")
    if proc.returncode != 0:
        progress.status = "failed"
        log = list(progress.log)
        tail = "\n".join(log[-12:])
        told = [line[len(MARKER):] for line in log if line.startswith(MARKER)]
        if proc.returncode == WRITE_FAILED and told:
            raise RunError(told[-1], hint="The evaluation ran, but its files were not saved: choose an "
                           "--output_path in a folder you can write to, with free space (files already written "
                           "are kept).")
        raise RunError(f"lm_eval exited with status {proc.returncode}", hint=f"Last lines of its output:\n{tail}")
    progress.status = "done"
    return {"files": sorted(output_files(output_path) - before), "elapsed": elapsed, "returncode": 0,
            "output_path": output_path}
