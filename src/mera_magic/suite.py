"""A whole MERA suite from one command: every task with MERA's few-shot count, one by one, with resume.

``%%mera --suite mera`` (or ``mera_gen``, ``mera_all``) takes the cell's model, model_args and settings, runs
each task of the suite as MERA's scripts do (``--num_fewshot`` per task from :mod:`mera_magic.catalog`), shows a
per-task board, skips tasks whose samples are already in ``--output_path`` for this model and settings (unless
``force``), and goes on after a task fails, reporting it.  The model is loaded once for the whole suite.
"""

from __future__ import annotations

import html
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import catalog
from .command import parse_command
from .errors import CheckError, MeraError
from .session import SESSION
from .spec import RunSpec


@dataclass
class SuiteTask:
    """One row of the board."""

    task: str
    fewshot: int
    status: str = "waiting"  # waiting, skipped, running, done, failed
    detail: str = ""
    seconds: float | None = None
    result: Any = None


@dataclass
class SuiteResult:
    """The outcome of a suite run: one :class:`SuiteTask` per task, with each task's RunResult."""

    suite: str
    output_path: str
    tasks: list[SuiteTask] = field(default_factory=list)

    @property
    def results(self) -> dict[str, Any]:
        """RunResults of the tasks that ran now, by task."""
        return {t.task: t.result for t in self.tasks if t.result is not None}

    @property
    def failed(self) -> list[SuiteTask]:
        """The tasks that failed."""
        return [t for t in self.tasks if t.status == "failed"]

    def table(self) -> Any:
        """The board as a DataFrame."""
        import pandas as pd

        return pd.DataFrame([{"task": t.task, "fewshot": t.fewshot, "status": t.status, "detail": t.detail,
                              "seconds": None if t.seconds is None else round(t.seconds, 1)} for t in self.tasks])

    def __str__(self) -> str:
        counts = {s: sum(t.status == s for t in self.tasks) for s in ("done", "skipped", "failed", "waiting")}
        lines = [f"suite {self.suite} -> {self.output_path}: " + ", ".join(f"{n} {s}" for s, n in counts.items() if n)]
        lines += [f"  {t.task:<18} {t.fewshot}-shot  {t.status:<8} {t.detail}" for t in self.tasks]
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        colors = {"done": "#2e7d32", "skipped": "#777", "failed": "#c62828", "running": "#1565c0", "waiting": "#999"}
        rows = "".join(
            f"<tr><td><code>{html.escape(t.task)}</code></td><td>{t.fewshot}</td>"
            f"<td style='color:{colors.get(t.status, '#000')}'>{t.status}</td>"
            f"<td>{'' if t.seconds is None else f'{t.seconds:.1f} s'}</td>"
            f"<td style='text-align:left'>{html.escape(t.detail)}</td></tr>" for t in self.tasks)
        return (f"<div class='mera-suite'><b>MERA suite {html.escape(self.suite)}</b> → "
                f"<code>{html.escape(self.output_path)}</code><table><thead><tr><th>task</th><th>few-shot</th>"
                f"<th>status</th><th>time</th><th></th></tr></thead><tbody>{rows}</tbody></table></div>")


def _settings(spec: RunSpec) -> dict[str, Any]:
    o = spec.options
    return {"model_args": spec.model_args, "limit": o.get("limit"),
            "chat": bool(o.get("apply_chat_template")), "system_instruction": o.get("system_instruction")}


def done_before(spec: RunSpec, task: str, fewshot: int) -> str | None:
    """The samples file of an earlier run of ``task`` with this model, few-shot and settings, if any."""
    from .command.values import to_mapping
    from .lmeval.output import SAMPLES_NAME

    output_path = Path(str(spec.options.get("output_path")))
    if not output_path.exists():
        return None
    want = _settings(spec)
    for samples in sorted(output_path.rglob(f"samples_{task}_*.json*"), reverse=True):
        m = SAMPLES_NAME.match(samples.name)
        if not m or m.group("task") != task:  # samples_parus_* also matches samples_parus_gen_*
            continue
        results = samples.parent / f"results_{m.group('stamp')}.json"
        try:
            raw = json.loads(results.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        config = raw.get("config", {})
        model_args = config.get("model_args")
        try:
            model_args = to_mapping("model_args", model_args)
        except MeraError:
            continue
        got = {"model_args": model_args, "limit": config.get("limit"),
               "chat": bool(raw.get("chat_template")), "system_instruction": raw.get("system_instruction")}
        nshot = raw.get("n-shot", {}).get(task)
        if got == want and (nshot is None or int(nshot) == fewshot):
            return str(samples)
    return None


def run_suite(text_or_spec: RunSpec | str, suite: str, *, namespace: Mapping[str, Any] | None = None,
              force: bool = False, display: bool = True) -> SuiteResult:
    """Run a MERA suite (``mera``, ``mera_gen``, ``mera_all``) under one command's model and settings.

    The command's ``--tasks`` (if any) narrows the suite to those tasks; ``--num_fewshot`` is set per task
    from MERA's scripts.  ``--output_path`` is required (resume reads it).  Returns the board.
    """
    from .runner import run

    if isinstance(text_or_spec, str):
        base = parse_command(text_or_spec, namespace, SESSION.secrets).spec
    else:
        base = text_or_spec
    if not base.options.get("output_path"):
        raise CheckError("--suite needs --output_path: it is where finished tasks are found when resuming",
                         hint="Add e.g. `--output_path $PWD/mera_results`.")
    plan = catalog.suite(suite)
    if base.tasks:
        wanted = set(base.tasks)
        plan = [(t, k) for t, k in plan if t in wanted]
    board = SuiteResult(suite, str(base.options["output_path"]), [SuiteTask(t, k) for t, k in plan])
    handle = None
    if display:
        try:
            from IPython import get_ipython
            from IPython.display import HTML
            from IPython.display import display as show

            if get_ipython() is not None:
                handle = show(HTML(board._repr_html_()), display_id=True)
        except ImportError:  # pragma: no cover
            handle = None

    def refresh() -> None:
        if handle is not None:
            from IPython.display import HTML

            handle.update(HTML(board._repr_html_()))

    for row in board.tasks:
        spec = base.copy()
        spec.tasks = [row.task]
        spec.options["num_fewshot"] = row.fewshot
        spec.options.setdefault("log_samples", True)
        previous = None if force else done_before(spec, row.task, row.fewshot)
        if previous:
            row.status, row.detail = "skipped", f"already done: {Path(previous).name}"
            refresh()
            continue
        row.status = "running"
        refresh()
        start = time.monotonic()
        try:
            row.result = run(spec, namespace=namespace, display=False)
            row.status = "done"
        except KeyboardInterrupt:
            row.status, row.detail = "failed", "interrupted"
            refresh()
            raise
        except Exception as exc:  # noqa: BLE001 - one task's failure is reported and the suite goes on
            row.status, row.detail = "failed", (exc.message if isinstance(exc, MeraError) else f"{type(exc).__name__}: {exc}")
        row.seconds = time.monotonic() - start
        refresh()
    return board
