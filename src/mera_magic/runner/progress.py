"""Live progress of a run: phases with done/total counts (from lm_eval's own tqdm bars), elapsed and remaining
time, and the lm_eval log at the chosen verbosity.  Rendered as a small HTML block updated in place."""

from __future__ import annotations

import contextlib
import html
import logging
import re
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Iterator

from ..lmeval.api_requests import REQUEST_PHASE
from ..lmeval.hooks import configure_lm_eval_logging
from ..secrets import mask_text as mask_secrets

#: a tqdm bar drawn as text (by libraries whose bars are not lm_eval's: datasets, transformers)
_BAR = re.compile(r"\d+%\|.*\||\d+/\d+ \[|(it|examples|ba)/s\]")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_LEVELS = {"CRITICAL": 50, "ERROR": 40, "WARNING": 30, "INFO": 20, "DEBUG": 10}


@dataclass
class Phase:
    """One progress bar of lm_eval (building contexts, running loglikelihood requests, ...)."""

    name: str
    done: int = 0
    total: int | None = None
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None

    @property
    def elapsed(self) -> float:
        return (self.finished or time.monotonic()) - self.started

    @property
    def remaining(self) -> float | None:
        if not self.total or not self.done or self.finished:
            return None
        return self.elapsed / self.done * (self.total - self.done)


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else f"{seconds // 60}:{seconds % 60:02d}"


class Progress:
    """Thread-safe progress state, written by the worker and read by the cell's display."""

    def __init__(self, title: str, verbosity: str | None = None, secrets: dict[str, str] | None = None,
                 max_log_lines: int = 200) -> None:
        self.title = title
        self.started = time.monotonic()
        self.phases: list[Phase] = []
        self.log: deque[str] = deque(maxlen=max_log_lines)
        self.status = "running"
        self.notes: list[str] = []
        self.level = _LEVELS.get((verbosity or "INFO").upper(), 20)
        self._secrets = secrets or {}
        self._lock = threading.Lock()
        self._version = 0

    # -- written by the worker ---------------------------------------------------------------------------------
    def start_phase(self, name: str, total: int | None) -> Phase:
        with self._lock:
            phase = Phase(self._clean(name) or "working", 0, total)
            self.phases.append(phase)
            self._version += 1
            return phase

    def advance(self, phase: Phase, done: int, total: int | None) -> None:
        with self._lock:
            phase.done, phase.total = done, total if total is not None else phase.total
            self._version += 1

    def end_phase(self, phase: Phase) -> None:
        with self._lock:
            phase.finished = time.monotonic()
            self._version += 1

    def write(self, text: str) -> None:
        """Take printed text (lm_eval's result table, warnings) into the log; progress-bar redraws are dropped."""
        with self._lock:
            for line in text.split("\n"):
                line = _ANSI.sub("", line.rsplit("\r", 1)[-1]).rstrip()  # vLLM colours its lines (FORCE_COLOR)
                if line.strip() and not _BAR.search(line):
                    self.log.append(self._mask(line))
            self._version += 1

    def note(self, text: str) -> None:
        """A line shown above the bars (model reused, child process, ...)."""
        with self._lock:
            self.notes.append(text)
            self._version += 1

    def _mask(self, text: str) -> str:
        return mask_secrets(text, self._secrets)

    @staticmethod
    def _clean(name: str) -> str:
        return re.sub(r"\s+", " ", name or "").strip().rstrip(":")

    # -- read by the display -------------------------------------------------------------------------------
    @property
    def version(self) -> int:
        return self._version

    def text(self) -> str:
        """A plain-text rendering (for logs and terminals)."""
        with self._lock:
            lines = [f"{self.title} — {self.status}, {_clock(time.monotonic() - self.started)}"]
            lines += self.notes
            for p in self.phases:
                total = p.total if p.total is not None else "?"
                lines.append(f"  {p.name}: {p.done}/{total}  {_clock(p.elapsed)} elapsed, {_clock(p.remaining)} left")
            return "\n".join(lines)

    def html(self) -> str:
        """The live block: title, notes, one bar per phase, and the log collapsed."""
        with self._lock:
            rows = []
            for p in self.phases[-8:]:
                frac = (p.done / p.total) if p.total else (1.0 if p.finished else 0.0)
                total = p.total if p.total is not None else "?"
                left = "done" if p.finished else f"{_clock(p.remaining)} left"
                rows.append(
                    f"<tr><td style='padding-right:1em'>{html.escape(p.name)}</td>"
                    f"<td><progress value='{frac:.3f}' max='1' style='width:14em'></progress></td>"
                    f"<td style='padding-left:.5em'>{p.done}/{total}</td>"
                    f"<td style='padding-left:.5em;color:#666'>{_clock(p.elapsed)} · {left}</td></tr>")
            notes = "".join(f"<div style='color:#555'>{html.escape(n)}</div>" for n in self.notes)
            log = "\n".join(self.log)
            log_html = (f"<details><summary>lm_eval log ({len(self.log)} lines)</summary>"
                        f"<pre style='max-height:16em;overflow:auto;font-size:85%'>{html.escape(log)}</pre></details>"
                        if self.log else "")
            return (f"<div class='mera-progress'><b>{html.escape(self.title)}</b> — {html.escape(self.status)}, "
                    f"{_clock(time.monotonic() - self.started)}{notes}"
                    f"<table style='margin-top:.3em'>{''.join(rows)}</table>{log_html}</div>")


class LogHandler(logging.Handler):
    """Sends lm_eval's log records into a :class:`Progress` (masked), at the run's verbosity."""

    def __init__(self, progress: Progress) -> None:
        super().__init__(level=progress.level)
        self.progress = progress
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.progress.write(self.format(record))
        except Exception:  # noqa: BLE001 - logging must never break the run
            self.handleError(record)


#: loggers whose own stream handlers would print to the cell as raw stderr during a run
_CAPTURED_LOGGERS = ("", "lm_eval", "lm-eval", "transformers", "datasets", "huggingface_hub", "accelerate")


class _OnceHandler(LogHandler):
    """A :class:`LogHandler` attached to several loggers that takes each record once (records propagate)."""

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "_mera_magic_seen", False):
            return
        record._mera_magic_seen = True
        super().emit(record)


def _restore_handlers(logger: logging.Logger, before: list[logging.Handler], ours: logging.Handler) -> None:
    """The handlers ``logger`` had, in their order, plus any a library added during the run (not ours)."""
    added = [h for h in logger.handlers if h is not ours and h not in before]
    logger.handlers = before + added


@contextlib.contextmanager
def capture_logs(progress: Progress) -> Iterator[None]:
    """For the run only: every log record of lm_eval and the libraries it drives goes into ``progress`` (at its
    verbosity), and nothing else prints it.

    lm_eval 0.4.4 configures the root logger with ``logging.basicConfig`` and 0.4.13 gives its ``lm_eval`` logger
    a stream handler; transformers and datasets have their own.  Those handlers hold the stream they were made
    with (the kernel's stderr), so without this every warning (e.g. 12 copies of "Label index was not in within
    range" per closed task) reaches the cell as a raw stderr block.  Their stream handlers are set aside and one
    handler at the run's verbosity takes their records; everything is put back afterwards, however the run ends.

    lm_eval's own once-per-process logging setup is made first (:func:`~mera_magic.lmeval.hooks.
    configure_lm_eval_logging`), so the handler it adds is bound to the real stderr and set aside here.
    """
    configure_lm_eval_logging(progress.level)
    handler = _OnceHandler(progress)
    with contextlib.ExitStack() as stack:
        for name in _CAPTURED_LOGGERS:
            logger = logging.getLogger(name)
            stack.callback(_restore_handlers, logger, list(logger.handlers), handler)
            for old in list(logger.handlers):
                if isinstance(old, logging.StreamHandler) and not isinstance(old, logging.FileHandler):
                    logger.removeHandler(old)
            logger.addHandler(handler)
        for name in ("lm_eval", "lm-eval"):
            logger = logging.getLogger(name)
            stack.callback(logger.setLevel, logger.level)
            logger.setLevel(progress.level)  # the run's --verbosity for the whole run (0.4.13 applies it at the end)
        yield


class StreamToProgress:
    """A file-like object for ``redirect_stdout``: printed text goes to the progress log."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress

    def write(self, text: str) -> int:
        self.progress.write(text)
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


from tqdm import tqdm as _tqdm  # noqa: E402 - a dependency of lm_eval and transformers


def _unnamed_bar_label(caller: Any) -> str:
    """A name for a bar its caller did not name: lm_eval's per-task "Building contexts" loop (``Task.
    build_all_requests``, which logs the task's name but gives tqdm no ``desc``), else "working"."""
    if caller is not None and caller.f_code.co_name == "build_all_requests":
        task = getattr(getattr(caller.f_locals.get("self"), "config", None), "task", None)
        return f"Building contexts · {task}" if task else "Building contexts"
    return "working"


class ProgressTqdm(_tqdm):  # type: ignore[misc]
    """A tqdm that reports to the running cell's :class:`Progress` instead of drawing a bar.

    It behaves as tqdm does for every caller: ``disable=True`` (lm_eval's ``disable_tqdm=True``, MERA's fork
    calls ``lm.loglikelihood([req], disable_tqdm=True)`` once per ruTiE question) gives a silent bar that adds no
    phase; ``desc``, ``unit``, ``total``, ``n``, ``set_description``, ``reset`` and iteration work whether the bar
    is enabled or not.  ``disable=None`` (tqdm's "only on a terminal") counts as enabled during a run, since the
    cell is where the bar is shown.  While no mera-magic run is active (``current`` is None) it is plain tqdm,
    so modules that imported it during a run keep working normally afterwards.
    """

    current: Progress | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        progress = ProgressTqdm.current
        self._mera_progress: Progress | None = None
        self._mera_phase: Phase | None = None
        if progress is not None:
            import io

            if kwargs.get("disable") is None and len(args) <= 10:  # `disable` is tqdm's 11th parameter
                kwargs["disable"] = False
            kwargs["file"] = io.StringIO()
            kwargs["mininterval"] = 0.0
            kwargs["miniters"] = 1
        super().__init__(*args, **kwargs)
        if self.disable:
            # plain tqdm sets only iterable, n, total and leave on a disabled bar; callers may read the rest
            self.desc = kwargs.get("desc", args[1] if len(args) > 1 else None) or ""
            for name, default in (("unit", "it"), ("unit_scale", False), ("postfix", None), ("initial", 0),
                                  ("dynamic_ncols", False), ("ncols", None), ("position", None)):
                if not hasattr(self, name):
                    setattr(self, name, kwargs.get(name, default))
            return
        if progress is not None:
            self._mera_progress = progress
            self._mera_phase = progress.start_phase(str(self.desc or _unnamed_bar_label(sys._getframe(1))),
                                                    self.total)

    def _report(self) -> None:
        if self._mera_progress is not None and self._mera_phase is not None:
            self._mera_progress.advance(self._mera_phase, int(self.n), self.total)

    def update(self, n: float | None = 1) -> bool | None:
        out = super().update(n)
        self._report()
        return out

    def set_description(self, desc: str | None = None, refresh: bool = True) -> None:
        if self.disable:
            self.desc = f"{desc}: " if desc else ""
            return
        super().set_description(desc, refresh)
        if self._mera_phase is not None and desc:
            self._mera_phase.name = Progress._clean(desc)

    def set_description_str(self, desc: str | None = None, refresh: bool = True) -> None:
        if self.disable:
            self.desc = desc or ""
            return
        super().set_description_str(desc, refresh)
        if self._mera_phase is not None and desc:
            self._mera_phase.name = Progress._clean(desc)

    def reset(self, total: float | None = None) -> None:
        super().reset(total)
        self._report()

    def close(self) -> None:
        progress = getattr(self, "_mera_progress", None)
        phase = getattr(self, "_mera_phase", None)
        if progress is not None and phase is not None and phase.finished is None:
            progress.advance(phase, int(self.n), self.total)
            progress.end_phase(phase)
        super().close()


def requests_done(progress: Progress) -> tuple[int, int | None] | None:
    """``(answered, total)`` of the run's API requests so far (summed over its request phases), or None."""
    phases = [p for p in progress.phases if p.name.startswith(REQUEST_PHASE)]
    if not phases:
        return None
    done = sum(p.done for p in phases)
    totals = [p.total for p in phases]
    return done, (sum(t for t in totals if t is not None) if all(t is not None for t in totals) else None)
