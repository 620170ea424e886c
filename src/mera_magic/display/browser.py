"""Paged browsers (ipywidgets): the samples of a run, the differences between runs.

Paging happens in the kernel: only the current page is sent to the browser (one ``HTML`` widget value), so
a notebook saved with widget state holds one page, never the whole run.  The samples browser reads the first
page by streaming the task's JSONL (the first lines only); searching or "wrong only" parse the task once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import pandas as pd

from . import html
from .media import MediaResolver

if TYPE_CHECKING:
    from ..results.compare import Comparison
    from ..results.model import RunResult

PAGE_SIZES = (10, 25, 50)
SEARCH_COLUMNS = ("prompt", "target", "response", "filtered", "pred_choice")


def search_mask(frame: pd.DataFrame, text: str, columns: tuple[str, ...] = SEARCH_COLUMNS) -> pd.Series:
    """Rows where ``text`` (case-insensitive, literal) occurs in any of ``columns``."""
    needle = text.casefold()
    mask = pd.Series(False, index=frame.index)
    for column in columns:
        if column in frame:
            mask |= frame[column].map(lambda v: needle in str(v).casefold() if v is not None else False)
    return mask


class Pager:
    """Page controls and one HTML page, filled by ``fetch(start, stop) -> (rows, total, exact)``."""

    def __init__(
        self,
        fetch: Callable[[int, int], tuple[list[dict[str, Any]], int | None, bool]],
        render: Callable[[list[dict[str, Any]]], str],
        page_size: int = PAGE_SIZES[0],
    ) -> None:
        import ipywidgets as w

        self.fetch = fetch
        self.render_rows = render
        self.page = 0
        self.prev = w.Button(description="◀", tooltip="previous page", layout=w.Layout(width="40px"))
        self.next = w.Button(description="▶", tooltip="next page", layout=w.Layout(width="40px"))
        self.size = w.Dropdown(
            options=list(PAGE_SIZES), value=page_size, description="rows", layout=w.Layout(width="130px")
        )
        self.status = w.HTML()
        self.table = w.HTML()
        self.prev.on_click(lambda _: self.go(self.page - 1))
        self.next.on_click(lambda _: self.go(self.page + 1))
        self.size.observe(lambda _: self.go(0), names="value")
        self.controls = w.HBox([self.prev, self.status, self.next, self.size])

    def go(self, page: int) -> None:
        """Show ``page`` (0-based; clamped to the pages that exist)."""
        size = int(self.size.value)
        page = max(page, 0)
        rows, total, exact = self.fetch(page * size, (page + 1) * size)
        if not rows and page > 0:
            if total:
                page = max((total - 1) // size, 0)
                rows, total, exact = self.fetch(page * size, (page + 1) * size)
            else:
                page -= 1
                rows, total, exact = self.fetch(page * size, (page + 1) * size)
        self.page = page
        start = page * size
        if total is None:
            total_text = "?"
        else:
            total_text = f"{total:,}" if exact else f"about {total:,}"
        shown = f"{start + 1:,}–{start + len(rows):,}" if rows else "0"
        pages = "" if total is None else f" · page {page + 1} of {max(-(-total // size), 1):,}"
        self.status.value = f"<span style='padding:0 8px'>rows {shown} of {total_text}{pages}</span>"
        self.prev.disabled = page == 0
        self.next.disabled = len(rows) < size or (exact and total is not None and start + len(rows) >= total)
        self.table.value = html.wrap(self.render_rows(rows))


class SamplesBrowser:
    """Task and filter selection, text search, "wrong only", paging; long prompts collapsed."""

    def __init__(self, result: RunResult, page_size: int = PAGE_SIZES[0]) -> None:
        import ipywidgets as w

        self.result = result
        self.media = MediaResolver(result)  # images / audio / video of multimodal documents
        tasks = result.sample_tasks
        self.task = w.Dropdown(options=tasks, value=tasks[0] if tasks else None, description="task")
        self.filter = w.Dropdown(description="filter", layout=w.Layout(width="220px"))
        self.search = w.Text(placeholder="search prompt, target, answer", continuous_update=False)
        self.wrong_only = w.Checkbox(description="wrong only", indent=False, layout=w.Layout(width="110px"))
        self.message = w.HTML()
        self.pager = Pager(self._fetch, self._render, page_size)
        self._quiet = False
        self._set_filters()
        self.task.observe(self._on_task, names="value")
        for control in (self.filter, self.search, self.wrong_only):
            control.observe(self._on_change, names="value")
        if not tasks:
            self.message.value = html.wrap(
                '<p class="ns">This run kept no samples (run with --log_samples or --predict_only to keep them).</p>'
            )
        self.widget = w.VBox(
            [
                w.HBox([self.task, self.filter, self.search, self.wrong_only]),
                self.pager.controls,
                self.message,
                self.pager.table,
            ]
        )
        if tasks:
            self.pager.go(0)

    def _set_filters(self) -> None:
        task = self.task.value
        options = self.result.filters(task) if task else []
        self._quiet = True
        try:
            self.filter.options = options
            self.filter.value = options[0] if options else None
        finally:
            self._quiet = False

    def _on_change(self, _: Any) -> None:
        if not self._quiet:
            self.pager.go(0)

    def _on_task(self, _: Any) -> None:
        self._set_filters()
        self.pager.go(0)

    def _fetch(self, start: int, stop: int) -> tuple[list[dict[str, Any]], int | None, bool]:
        task, filt = self.task.value, self.filter.value
        if not task:
            return [], 0, True
        source = self.result.source(task)
        text = (self.search.value or "").strip()
        self.message.value = ""
        if text or self.wrong_only.value:
            frame = source.frame()
            if filt is not None and filt in set(frame["filter"]):
                frame = frame[frame["filter"] == filt]
            if self.wrong_only.value:
                if frame["correct"].isna().all():
                    self.message.value = html.wrap(
                        '<p class="ns">No gold answers in this task (a closed test set): nothing can be marked wrong.</p>'
                    )
                frame = frame[frame["correct"].fillna(True).eq(False)]
            if text:
                frame = frame[search_mask(frame, text)]
            return frame.iloc[start:stop].to_dict("records"), len(frame), True
        rows = source.head(stop, filt)
        if not rows and filt is not None:
            rows = source.head(stop)  # lines with no filter label we could match
        total = source.count_hint(filt)
        exact = source._frame is not None or source._records is not None and filt is None
        if len(rows) < stop:  # the stream ended: now the count is exact
            total, exact = len(rows), True
        return rows[start:stop], total, exact

    def _render(self, rows: list[dict[str, Any]]) -> str:
        return self.media.samples_table(rows, self.task.value) or html.samples_table(rows)


class DifferencesBrowser:
    """The documents where compared runs answered differently, task by task, paged."""

    def __init__(self, comparison: Comparison, page_size: int = PAGE_SIZES[0]) -> None:
        import ipywidgets as w

        self.comparison = comparison
        common = [
            t
            for t in comparison.results[0].sample_tasks
            if all(t in r.sample_tasks for r in comparison.results[1:])
        ]
        self.task = w.Dropdown(options=common, value=common[0] if common else None, description="task")
        self.message = w.HTML()
        self._frames: dict[str, pd.DataFrame] = {}
        self.pager = Pager(self._fetch, self._render, page_size)
        self.task.observe(lambda _: self.pager.go(0), names="value")
        self.widget = w.VBox([self.task, self.pager.controls, self.message, self.pager.table])
        self.loaded = False
        if not common:
            self.message.value = html.wrap('<p class="ns">The runs have no task with samples in common.</p>')

    def load(self) -> None:
        """Compute and show the first page (deferred until the tab is opened: it reads every run's samples)."""
        if not self.loaded and self.task.value:
            self.loaded = True
            self.pager.go(0)

    def _fetch(self, start: int, stop: int) -> tuple[list[dict[str, Any]], int | None, bool]:
        task = self.task.value
        if not task:
            return [], 0, True
        if task not in self._frames:
            self._frames[task] = self.comparison.differences(task)
        frame = self._frames[task]
        by = frame.attrs.get("matched_by", "doc_id")
        self.message.value = html.wrap(
            f'<p class="na">{len(frame):,} document(s) answered differently (matched by {by}).</p>'
        )
        return frame.iloc[start:stop].to_dict("records"), len(frame), True

    def _render(self, rows: list[dict[str, Any]]) -> str:
        return html.differences_table(pd.DataFrame(rows), self.comparison.names)
