"""Plain-text views (``text/plain``, ``repr``): they are the results' own ``repr`` (see
:mod:`mera_magic.results.export`), named here for the display code."""

from __future__ import annotations

from ..results.export import MAX_TEXT_ROWS, comparison_text, markdown_table, result_text

__all__ = ["MAX_TEXT_ROWS", "comparison_text", "markdown_table", "result_text"]
