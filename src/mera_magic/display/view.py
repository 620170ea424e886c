"""How a RunResult or a Comparison shows itself in a notebook: content as plain outputs, controls as widgets.

In a Jupyter kernel, showing a run (:func:`show_result`, what the registered IPython formatter calls) writes
these outputs, each plain ``text/html`` + ``text/plain`` unless said otherwise:

1. the summary: header, notes, the metrics table, the configuration (collapsed);
2. the samples browser's controls (a widget), then the current page of samples (a plain output the controls
   replace in place: what was last shown is what the notebook saves);
3. a chart selector (a widget, only when there are several charts), then the chart (plotly's JSON mimetype plus
   a static table of the same bars).

A comparison (:func:`show_comparison`): the runs and the table; the chart; the controls of the documents answered
differently and their page.  Outside a kernel (IPython in a terminal, or ipywidgets missing) one static bundle is
shown instead (:func:`result_bundle`, :func:`comparison_bundle`), bounded in size.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import html
from .charts import figure_bundle
from .outputs import Bundle, LiveOutput, show_bundle, show_controls, widgets_available
from .text import comparison_text, result_text

if TYPE_CHECKING:
    from ..results.compare import Comparison
    from ..results.model import RunResult

__all__ = [
    "ChartView",
    "ComparisonView",
    "ResultView",
    "comparison_bundle",
    "figure_bundle",
    "result_bundle",
    "show_comparison",
    "show_result",
    "widgets_available",
]


def result_bundle(result: RunResult) -> Bundle:
    """The static display data of a run: header, metrics, the first samples of each task, configuration."""
    return {"text/plain": result_text(result), "text/html": html.result_html(result)}


def comparison_bundle(comparison: Comparison) -> Bundle:
    """The static display data of a comparison: the runs and the table."""
    return {"text/plain": comparison_text(comparison), "text/html": html.comparison_html(comparison)}


class ChartView:
    """One chart output, and a selector widget when there are several figures."""

    def __init__(self, figures: list[Any]) -> None:
        self.figures = figures
        self.output = LiveOutput(figure_bundle(figures[0]))
        self.selector: Any = None
        if len(figures) > 1:
            import ipywidgets as w

            titles = [_title(f) or f"chart {i + 1}" for i, f in enumerate(figures)]
            self.selector = w.Dropdown(
                options=list(zip(titles, range(len(figures)))),
                value=0,
                description="chart",
                layout=w.Layout(width="520px"),
            )
            self.selector.add_class("mera-controls")
            self.selector.observe(lambda change: self.select(int(change["new"])), names="value")

    def select(self, index: int) -> None:
        """Show figure ``index``."""
        self.output.update(figure_bundle(self.figures[index]))

    def show(self) -> None:
        """Display the selector (if any) and the chart."""
        if self.selector is not None:
            show_controls(self.selector)
        self.output.show()


def _title(fig: Any) -> str:
    title = fig.layout.title
    return str(title.text or "") if title is not None else ""


class ResultView:
    """The outputs of a run (see the module docstring); built without displaying anything, shown by :meth:`show`."""

    def __init__(self, result: RunResult) -> None:
        from .browser import SamplesBrowser

        self.result = result
        self.summary: Bundle = {"text/plain": result_text(result), "text/html": html.summary_html(result)}
        self.browser = SamplesBrowser(result)
        self.charts = ChartView(result.figures())

    def show(self) -> None:
        """Display every output in order."""
        show_bundle(self.summary)
        self.browser.show()
        self.charts.show()


class ComparisonView:
    """The outputs of a comparison (see the module docstring); shown by :meth:`show`."""

    def __init__(self, comparison: Comparison) -> None:
        from .browser import DifferencesBrowser

        self.comparison = comparison
        self.summary = comparison_bundle(comparison)
        self.charts = ChartView([comparison.figure()])
        self.differences = DifferencesBrowser(comparison)

    def show(self) -> None:
        """Display every output in order."""
        show_bundle(self.summary)
        self.charts.show()
        self.differences.show()


def show_result(result: RunResult) -> ResultView | None:
    """Show a run in the notebook: plain outputs and their controls in a kernel, else one static bundle."""
    if widgets_available():
        view = ResultView(result)
        view.show()
        return view
    show_bundle(result_bundle(result))
    return None


def show_comparison(comparison: Comparison) -> ComparisonView | None:
    """Show a comparison in the notebook: plain outputs and their controls in a kernel, else one static bundle."""
    if widgets_available():
        view = ComparisonView(comparison)
        view.show()
        return view
    show_bundle(comparison_bundle(comparison))
    return None
