"""Plotly figures for runs and comparisons, built from the metrics tables (data in, figure out).

Plain ``plotly.graph_objects.Figure`` objects (not ``FigureWidget``): ``mera_magic.display.charts`` turns one into
display data that is saved in the notebook (plotly's JSON mimetype plus a static HTML table of the same bars).
Rows not scored locally (``--predict_only``) are left out; a figure with nothing to draw says why.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from .metrics import breakdown, headline

if TYPE_CHECKING:
    import plotly.graph_objects as go

HEIGHT = 420


def _empty(title: str, message: str) -> go.Figure:
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.update_layout(
        title=title,
        height=220,
        xaxis={"visible": False},
        yaxis={"visible": False},
        annotations=[
            {"text": message, "showarrow": False, "x": 0.5, "y": 0.5, "xref": "paper", "yref": "paper"}
        ],
    )
    return fig


def _label(task: str, filt: str, filters_per_task: dict[str, int]) -> str:
    return task if filters_per_task.get(task, 1) <= 1 else f"{task} [{filt}]"


def tasks_figure(metrics: pd.DataFrame, *, title: str | None = None) -> go.Figure:
    """Each task's headline metrics as bars with ±stderr error bars (one colour per metric)."""
    import plotly.graph_objects as go

    heading = f"Metrics per task — {title}" if title else "Metrics per task"
    scored = headline(metrics)
    scored = scored[scored["scored_locally"]]
    if scored.empty:
        return _empty(heading, "No metric was scored locally (predict-only run: MERA scores the submission).")
    filters_per_task = scored.groupby("task")["filter"].nunique().to_dict()
    fig = go.Figure()
    for metric, frame in scored.groupby("metric", sort=False):
        labels = [_label(t, f, filters_per_task) for t, f in zip(frame["task"], frame["filter"])]
        fig.add_trace(
            go.Bar(
                name=str(metric),
                x=labels,
                y=frame["value"].tolist(),
                error_y={"type": "data", "array": frame["stderr"].fillna(0).tolist(), "visible": True},
                hovertemplate="%{x}<br>" + str(metric) + " = %{y:.4f} ± %{error_y.array:.4f}<extra></extra>",
            )
        )
    fig.update_layout(
        title=heading, barmode="group", height=HEIGHT, yaxis_title="value", legend_title="metric"
    )
    return fig


def domains_figure(metrics: pd.DataFrame, *, task: str | None = None) -> go.Figure:
    """One task's per-domain breakdown (``acc.<domain>``, ruHateSpeech groups, ruEthics criteria, USE task
    numbers): horizontal bars sorted by value, one colour per base metric, with ±stderr."""
    import plotly.graph_objects as go

    parts = breakdown(metrics)
    parts = parts[parts["scored_locally"]]
    if task is None:
        if parts.empty:
            return _empty("Per-domain breakdown", "No task in this run reports per-domain metrics.")
        task = str(parts["task"].iloc[0])
    parts = parts[parts["task"] == task]
    heading = f"{task}: per-domain breakdown"
    if parts.empty:
        return _empty(heading, f"{task} reports no per-domain metric that was scored locally.")
    first_filter = parts["filter"].iloc[0]
    parts = parts[parts["filter"] == first_filter]
    fig = go.Figure()
    order = parts.groupby("part")["value"].mean().sort_values().index.tolist()
    for base, frame in parts.groupby("base", sort=False):
        frame = frame.set_index("part").reindex(order).dropna(subset=["value"])
        fig.add_trace(
            go.Bar(
                name=str(base),
                y=frame.index.tolist(),
                x=frame["value"].tolist(),
                orientation="h",
                error_x={"type": "data", "array": frame["stderr"].fillna(0).tolist(), "visible": True},
            )
        )
    fig.update_layout(
        title=heading,
        barmode="group",
        height=max(HEIGHT, 22 * len(order) * max(1, parts["base"].nunique()) + 120),
        xaxis_title="value",
        legend_title="metric",
    )
    return fig


def all_figures(metrics: pd.DataFrame, *, title: str | None = None) -> list[go.Figure]:
    """The per-task figure, then one breakdown per task that reports per-domain metrics."""
    figures = [tasks_figure(metrics, title=title)]
    parts = breakdown(metrics)
    parts = parts[parts["scored_locally"]]
    for task in dict.fromkeys(parts["task"]):
        figures.append(domains_figure(metrics, task=str(task)))
    return figures


def compare_figure(long: pd.DataFrame) -> go.Figure:
    """Grouped bars: one group per task/metric, one bar per run, ±stderr (``long``: task, filter, metric,
    run, value, stderr)."""
    import plotly.graph_objects as go

    scored = long.dropna(subset=["value"])
    if scored.empty:
        return _empty("Comparison", "No metric scored locally in these runs.")
    fig = go.Figure()
    for run, frame in scored.groupby("run", sort=False):
        labels = [
            f"{t} · {m}" + ("" if f == "none" else f" [{f}]")
            for t, f, m in zip(frame["task"], frame["filter"], frame["metric"])
        ]
        fig.add_trace(
            go.Bar(
                name=str(run),
                x=labels,
                y=frame["value"].tolist(),
                error_y={"type": "data", "array": frame["stderr"].fillna(0).tolist(), "visible": True},
            )
        )
    fig.update_layout(
        title="Comparison", barmode="group", height=HEIGHT, yaxis_title="value", legend_title="run"
    )
    return fig


def figure_json_size(fig: Any) -> int:
    """The size in bytes of a figure as the notebook saves it (its plotly JSON)."""
    return len(fig.to_json())
