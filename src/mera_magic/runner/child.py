"""Run a command as a child process (``accelerate launch``, ``--subprocess``, or import-time variables that
this kernel can no longer apply), with the same live progress and the same RunResult at the end."""

from __future__ import annotations

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
from ..lmeval.output import output_files
from ..spec import RunSpec
from .progress import Phase, Progress

# "Running loglikelihood requests:  45%|████▌     | 45/100 [00:01<00:02, 30.1it/s]"
_TQDM = re.compile(r"^(?P<desc>.*?):?\s*(?P<pct>\d+)%\|.*?\|\s*(?P<n>\d+)/(?P<total>\d+)")


def child_command(spec: RunSpec, output_path: str | None) -> list[str]:
    """The argv of the child process."""
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
        return [*launcher, "-m", "lm_eval", *argv]
    return [sys.executable, "-m", "lm_eval", *argv]


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
    env = dict(os.environ)
    env.update(spec.env)
    env.setdefault("PYTHONUNBUFFERED", "1")
    cmd = child_command(spec, output_path)
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
        tail = "\n".join(list(progress.log)[-12:])
        raise RunError(f"lm_eval exited with status {proc.returncode}", hint=f"Last lines of its output:\n{tail}")
    progress.status = "done"
    return {"files": sorted(output_files(output_path) - before), "elapsed": elapsed, "returncode": 0,
            "output_path": output_path}
