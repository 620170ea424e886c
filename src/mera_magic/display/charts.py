"""Charts as display data that survives saving and export.

A figure (built by :mod:`mera_magic.results.charts`) becomes one output with

* ``application/vnd.plotly.v1+json``: plotly's own mimetype, rendered interactively and offline by JupyterLab's
  plotly extension and by VS Code, also when the notebook is reopened without a kernel;
* ``text/html``: the same bars as a static HTML table (values, ± stderr, a bar drawn with CSS), no script, so
  nbconvert with no network, GitHub and any viewer without plotly.js still show the numbers;
* ``text/plain``: the title and the values.

The figure builders are re-exported here for code that reads them as display functions.
"""

from __future__ import annotations

import json
import math
from typing import Any

from ..results.charts import all_figures, compare_figure, domains_figure, tasks_figure
from . import html

#: bar colours of the static table, plotly's default sequence
COLORS = ("#636efa", "#ef553b", "#00cc96", "#ab63fa", "#ffa15a", "#19d3f3", "#ff6692", "#b6e880")

PLOTLY_MIME = "application/vnd.plotly.v1+json"


def _title(layout: dict[str, Any]) -> str:
    title = layout.get("title")
    if isinstance(title, dict):
        return str(title.get("text") or "")
    return str(title or "")


def _numbers(values: Any) -> list[float | None]:
    if isinstance(values, dict) and "bdata" in values:  # plotly's base64 typed array (numpy input)
        import base64

        import numpy as np

        values = np.frombuffer(base64.b64decode(values["bdata"]), dtype=values.get("dtype", "f8")).tolist()
    out: list[float | None] = []
    for value in values or []:
        try:
            number = float(value)
        except (TypeError, ValueError):
            out.append(None)
            continue
        out.append(None if math.isnan(number) else number)
    return out


def _series(trace: dict[str, Any]) -> tuple[list[str], list[float | None], list[float | None]]:
    """(labels, values, errors) of a bar trace, vertical or horizontal."""
    horizontal = trace.get("orientation") == "h"
    labels = [str(v) for v in (trace.get("y") if horizontal else trace.get("x")) or []]
    values = _numbers(trace.get("x") if horizontal else trace.get("y"))
    error = (trace.get("error_x") if horizontal else trace.get("error_y")) or {}
    errors = _numbers(error.get("array")) if error.get("visible", True) else []
    return labels, values, errors


def figure_html(spec: dict[str, Any]) -> str:
    """A plotly figure's bars as a static HTML table: one row per label, one column per trace (value ± stderr
    and a bar scaled to the largest value).  ``spec`` is the figure's JSON (``{"data": ..., "layout": ...}``)."""
    layout = spec.get("layout") or {}
    title = _title(layout)
    traces = [t for t in spec.get("data") or [] if t.get("type", "bar") == "bar"]
    heading = f"<div class='cap'><b>{html.esc(title)}</b></div>" if title else ""
    if not traces:
        notes = [a.get("text", "") for a in layout.get("annotations") or []]
        text = " ".join(str(n) for n in notes if n) or "Nothing to draw."
        return html.wrap(f"{heading}<p class='ns'>{html.esc(text)}</p>")
    series = [_series(t) for t in traces]
    labels: list[str] = []
    for names, _, _ in series:
        labels += [n for n in names if n not in labels]
    largest = max((abs(v) for _, values, _ in series for v in values if v is not None), default=0.0) or 1.0
    rows = []
    for label in labels:
        cells = [html.esc(label)]
        for i, (names, values, errors) in enumerate(series):
            if label not in names:
                cells.append("")
                continue
            k = names.index(label)
            value = values[k] if k < len(values) else None
            if value is None:
                cells.append("")
                continue
            err = errors[k] if k < len(errors) else None
            width = max(1, round(120 * abs(value) / largest))
            bar = f"<span class='bar' style='width:{width}px;background:{COLORS[i % len(COLORS)]}'></span>"
            pm = f" <span class='na'>± {err:.4f}</span>" if err else ""
            cells.append(f"{bar}{value:.4f}{pm}")
        rows.append(cells)
    header = [""] + [
        f"<span class='bar' style='width:9px;background:{COLORS[i % len(COLORS)]}'></span>{html.esc(t.get('name') or '')}"
        for i, t in enumerate(traces)
    ]
    return html.wrap(heading + html.table(header, rows, [""] + ["num"] * len(traces)))


def figure_text(spec: dict[str, Any]) -> str:
    """A plotly figure as text: the title, then ``label  trace=value ± stderr`` lines."""
    lines = [_title(spec.get("layout") or {}) or "plotly figure"]
    for trace in spec.get("data") or []:
        labels, values, errors = _series(trace)
        for k, label in enumerate(labels):
            value = values[k] if k < len(values) else None
            if value is None:
                continue
            err = errors[k] if k < len(errors) else None
            lines.append(f"  {label}  {trace.get('name') or ''}={value:.4f}" + (f" ± {err:.4f}" if err else ""))
    return "\n".join(lines)


def figure_bundle(fig: Any) -> dict[str, Any]:
    """A plotly figure as display data that survives saving (see the module docstring)."""
    spec = json.loads(fig.to_json())
    data, layout = spec.get("data", []), spec.get("layout", {})
    return {
        PLOTLY_MIME: {"data": data, "layout": layout, "config": {"displaylogo": False}},
        "text/html": figure_html(spec),
        "text/plain": figure_text(spec),
    }


__all__ = [
    "all_figures",
    "compare_figure",
    "domains_figure",
    "figure_bundle",
    "figure_html",
    "figure_text",
    "tasks_figure",
]
