"""Plain-text views (``text/plain``, ``repr``): a header line and the metrics as a Markdown table."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..results.export import markdown_table

if TYPE_CHECKING:
    from ..results.compare import Comparison
    from ..results.model import RunResult

MAX_ROWS = 60


def result_text(result: RunResult) -> str:
    """``RunResult(...)`` header, notes, problems and the metrics table (long tables cut)."""
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
    table = result.to_markdown().rstrip("\n").splitlines()
    if len(table) > MAX_ROWS + 2:
        table = table[: MAX_ROWS + 2] + [f"... {len(table) - MAX_ROWS - 2} more rows (see .metrics)"]
    return "\n".join(lines + [""] + table)


def comparison_text(comparison: Comparison) -> str:
    """``Comparison(...)`` header and the comparison as a Markdown table."""
    head = f"Comparison({', '.join(comparison.names)})"
    body = comparison.to_markdown().rstrip("\n").splitlines()
    if len(body) > MAX_ROWS + 2:
        body = body[: MAX_ROWS + 2] + [f"... {len(body) - MAX_ROWS - 2} more rows (see .table)"]
    return "\n".join([head, *body])


__all__ = ["comparison_text", "markdown_table", "result_text"]
