"""Showing results: content as plain outputs, controls as widgets.

Every result view (a run's metrics, its current page of samples, configuration and charts; a comparison; the
documents answered differently) is written to the notebook as plain ``text/html`` + ``text/plain`` (a chart also
as plotly's JSON) that any viewer shows without a kernel or JavaScript; the widgets (samples browser, chart
selector) are controls that replace those outputs in place, so a saved notebook shows what was last on screen.

* :mod:`.html`, :mod:`.text`: static HTML and text; :mod:`.charts`: figures as saved display data;
* :mod:`.outputs`: plain outputs updated in place; :mod:`.browser`: the paged browsers; :mod:`.view`: the views;
* :mod:`.formatters`: registers the views with IPython (results never import display).

Functions here: :func:`show` (display a RunResult or a Comparison), :func:`to_html` (a standalone HTML page),
:func:`register` (the IPython formatters).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .formatters import register

__all__ = ["register", "show", "to_html"]


def show(obj: Any) -> Any:
    """Display a RunResult or a Comparison in the notebook; returns its view (None outside a kernel)."""
    from .view import show_comparison, show_result

    return show_comparison(obj) if type(obj).__name__ == "Comparison" else show_result(obj)


def to_html(obj: Any, path: str | Path | None = None) -> str | None:
    """A standalone HTML page of a RunResult (metrics, configuration) or a Comparison (the table): written to
    ``path`` (returns None), or returned as a string."""
    from ..results.export import write_or_return
    from ..secrets import mask_text
    from .html import comparison_page, result_page

    page = comparison_page(obj) if type(obj).__name__ == "Comparison" else result_page(obj)
    return write_or_return(mask_text(page), path)
