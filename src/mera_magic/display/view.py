"""How a RunResult or a Comparison shows itself in a notebook.

``_repr_mimebundle_`` returns, in one output:

* ``application/vnd.jupyter.widget-view+json``: the interactive Tab view (Metrics | Samples | Config | Charts,
  or Table | Chart | Differences), only when a kernel with ipywidgets is running;
* ``text/html``: a static view (metrics, a few samples, configuration) with no script, bounded in size, which is
  what nbconvert, GitHub and a notebook reopened without widget state show;
* ``text/plain``: the header and the metrics as a Markdown table.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from . import html
from .text import comparison_text, result_text

if TYPE_CHECKING:
    from ..results.compare import Comparison
    from ..results.model import RunResult


def widgets_available() -> bool:
    """True inside a Jupyter kernel (an IPython shell with a kernel) where ipywidgets imports."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return False
    shell = get_ipython()
    if shell is None or getattr(shell, "kernel", None) is None:
        return False
    try:
        import ipywidgets  # noqa: F401
    except ImportError:  # pragma: no cover - ipywidgets is a dependency
        return False
    return True


def figure_bundle(fig: Any) -> dict[str, Any]:
    """A plotly figure as display data that survives saving: plotly's own JSON mimetype (rendered again by
    JupyterLab without a kernel), an HTML version loading plotly.js from its CDN, and a text line."""
    spec = json.loads(fig.to_json())
    title = ((spec.get("layout") or {}).get("title") or {}).get("text") or "plotly figure"
    return {
        "application/vnd.plotly.v1+json": {
            "data": spec.get("data", []),
            "layout": spec.get("layout", {}),
            "config": {},
        },
        "text/html": fig.to_html(
            full_html=False, include_plotlyjs="cdn", default_height=fig.layout.height or 420
        ),
        "text/plain": f"<Figure: {title}>",
    }


def figures_output(figures: list[Any]) -> Any:
    """An ipywidgets Output holding the figures as display data (no kernel round trip needed)."""
    import ipywidgets as w

    out = w.Output()
    out.outputs = tuple(
        {"output_type": "display_data", "data": figure_bundle(f), "metadata": {}} for f in figures
    )
    return out


def result_widget(result: RunResult) -> Any:
    """The Tab view of a run: Metrics | Samples | Config | Charts."""
    import ipywidgets as w

    from .browser import SamplesBrowser

    top = html.header(result) + html.notes_section(result.notes, result.problems)
    metrics = w.HTML(html.wrap(top + html.metrics_table(result.metrics, result.groups)))
    browser = SamplesBrowser(result)
    config = w.HTML(html.wrap(html.config_section(result)))
    charts = figures_output(result.figures())
    tab = w.Tab(children=[metrics, browser.widget, config, charts])
    for i, title in enumerate(["Metrics", "Samples", "Config", "Charts"]):
        tab.set_title(i, title)
    tab._mera_browser = browser  # keep the browser (and its callbacks) alive with the view
    return tab


def _merge_widget(bundle: dict[str, Any], widget: Any) -> dict[str, Any]:
    data = widget._repr_mimebundle_()
    if isinstance(data, tuple):  # (data, metadata) from some versions
        data = data[0]
    for key, value in (data or {}).items():
        if key != "text/plain":
            bundle[key] = value
    return bundle


def result_bundle(result: RunResult) -> dict[str, Any]:
    """The display data of a run (see the module docstring)."""
    bundle: dict[str, Any] = {"text/plain": result_text(result), "text/html": html.result_html(result)}
    if widgets_available():
        bundle = _merge_widget(bundle, result_widget(result))
    return bundle


def comparison_widget(comparison: Comparison) -> Any:
    """The Tab view of a comparison: Table | Chart | Differences (computed when its tab is opened)."""
    import ipywidgets as w

    from .browser import DifferencesBrowser

    table = w.HTML(html.comparison_html(comparison))
    chart = figures_output([comparison.figure()])
    differences = DifferencesBrowser(comparison)
    tab = w.Tab(children=[table, chart, differences.widget])
    for i, title in enumerate(["Table", "Chart", "Differences"]):
        tab.set_title(i, title)

    def opened(change: dict[str, Any]) -> None:
        if change.get("new") == 2:
            differences.load()

    tab.observe(opened, names="selected_index")
    tab._mera_differences = differences
    return tab


def comparison_bundle(comparison: Comparison) -> dict[str, Any]:
    """The display data of a comparison (see the module docstring)."""
    bundle: dict[str, Any] = {
        "text/plain": comparison_text(comparison),
        "text/html": html.comparison_html(comparison),
    }
    if widgets_available():
        bundle = _merge_widget(bundle, comparison_widget(comparison))
    return bundle
