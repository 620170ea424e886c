"""Exports: the Markdown table people paste into a model card or a pull request, CSV files, and the plain-text
views (``repr``) of a run and of a comparison.  HTML views and pages are rendered by :mod:`mera_magic.display`."""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from .compare import Comparison
    from .model import RunResult

NOT_SCORED = "not scored locally"


def write_or_return(text: str, path: str | Path | None) -> str | None:
    """Write ``text`` to ``path`` (creating folders) and return None, or return the text when no path."""
    if path is None:
        return text
    target = Path(path).expanduser()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return None


def fmt_value(value: Any, digits: int = 4) -> str:
    """A metric value for a table: fixed digits, empty for NaN/None."""
    if value is None:
        return ""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(number):
        return ""
    return f"{number:.{digits}f}"


def _md_cell(text: Any) -> str:
    """A table cell: HTML escaped (a task named ``<script>`` stays text in any Markdown renderer), pipes escaped."""
    return html.escape(str(text), quote=False).replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def markdown_table(header: list[str], rows: list[list[Any]], align: list[str] | None = None) -> str:
    """A GitHub-flavoured Markdown table (``align`` items: ``l``, ``r`` or ``c``)."""
    align = align or ["l"] * len(header)
    marks = {"l": ":---", "r": "---:", "c": ":---:"}
    lines = [
        "| " + " | ".join(_md_cell(h) for h in header) + " |",
        "|" + "|".join(marks[a] for a in align) + "|",
    ]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def arrow(higher_is_better: Any) -> str:
    """↑ / ↓ / empty, as lm_eval's table shows the metric direction."""
    if higher_is_better is None or (isinstance(higher_is_better, float) and math.isnan(higher_is_better)):
        return ""
    return "↑" if bool(higher_is_better) else "↓"


def metrics_markdown(metrics: pd.DataFrame, groups: dict[str, list[str]] | None = None) -> str:
    """The metrics table in Markdown; subtasks of a group are written `` - name`` as lm_eval prints them.

    Rows that were not scored locally (``--predict_only``) say so instead of showing a number.
    """
    present = set(metrics["task"])
    members = {t for g, subs in (groups or {}).items() if g in present for t in subs}
    rows = []
    last = None
    for row in metrics.itertuples(index=False):
        name = str(row.task)
        label = (" - " + name) if name in members else name
        shown = label if name != last else ""
        last = name
        if row.scored_locally:
            value, stderr = fmt_value(row.value), fmt_value(row.stderr)
            pm = "±" if stderr else ""
        else:
            value, pm, stderr = NOT_SCORED, "", ""
        n_shot = "" if pd.isna(row.n_shot) else str(row.n_shot)
        rows.append([shown, row.filter, n_shot, row.metric, arrow(row.higher_is_better), value, pm, stderr])
    return markdown_table(
        ["Task", "Filter", "n-shot", "Metric", "", "Value", "", "Stderr"],
        rows,
        ["l", "l", "r", "l", "c", "r", "c", "r"],
    )


#: rows of a metrics or comparison table kept in a text view (``repr``); the rest is counted
MAX_TEXT_ROWS = 60


def _cut(table: str, what: str) -> list[str]:
    lines = table.rstrip("\n").splitlines()
    if len(lines) > MAX_TEXT_ROWS + 2:
        lines = lines[: MAX_TEXT_ROWS + 2] + [f"... {len(lines) - MAX_TEXT_ROWS - 2} more rows (see {what})"]
    return lines


def result_text(result: RunResult) -> str:
    """``RunResult(...)`` header, notes, problems and the metrics as a Markdown table (long tables cut)."""
    date = result.date.strftime("%Y-%m-%d %H:%M:%S") if result.date else "unknown date"
    lines = [
        f"RunResult(model={result.model_name!r}, date={date}, tasks={len(result.tasks)}"
        + (", predict_only" if result.predict_only else "")
        + (f", path={str(result.output_dir)!r}" if result.output_dir else "")
        + ")"
    ]
    lines += [f"note: {n}" for n in result.notes]
    problems = result.problems
    if problems:
        lines.append(f"skipped {len(problems)} unreadable item(s), first: {problems[0]}")
    return "\n".join(lines + [""] + _cut(result.to_markdown(), ".metrics"))


def comparison_text(comparison: Comparison) -> str:
    """``Comparison(...)`` header and the comparison as a Markdown table (long tables cut)."""
    head = f"Comparison({', '.join(comparison.names)})"
    return "\n".join([head, *_cut(comparison.to_markdown(), ".table")])
