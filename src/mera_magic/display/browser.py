"""Paged browsers: the samples of a run, the documents where compared runs answered differently.

The controls (task, filter, search, "wrong only", ◀ ▶, rows per page) are ipywidgets; the page itself is a plain
output (:class:`~mera_magic.display.outputs.LiveOutput`: ``text/html`` + ``text/plain``) that each control
replaces in place.  Paging happens in the kernel: only the current page is ever in the notebook, so a saved
notebook holds the page last viewed, never the whole run, and shows it without a kernel.  The samples browser
reads the first page by streaming the task's JSONL (the first lines only); searching or "wrong only" parse the
task once.  A page's rows are rendered by :func:`render_samples_page` (one row's cells by
:func:`mera_magic.display.html.sample_cells`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import pandas as pd

from . import html
from .media import MediaResolver
from .outputs import Bundle, LiveOutput

if TYPE_CHECKING:
    from ..results.compare import Comparison
    from ..results.model import RunResult

PAGE_SIZES = (10, 25, 50)
SEARCH_COLUMNS = ("prompt", "target", "response", "filtered", "pred_choice")

Fetch = Callable[[int, int], tuple[list[dict[str, Any]], "int | None", bool]]


def search_mask(frame: pd.DataFrame, text: str, columns: tuple[str, ...] = SEARCH_COLUMNS) -> pd.Series:
    """Rows where ``text`` (case-insensitive, literal) occurs in any of ``columns``."""
    needle = text.casefold()
    mask = pd.Series(False, index=frame.index)
    for column in columns:
        if column in frame:
            mask |= frame[column].map(lambda v: needle in str(v).casefold() if v is not None else False)
    return mask


def render_samples_page(rows: list[dict[str, Any]]) -> str:
    """The HTML table of one page of samples (one row per document; cells by ``html.sample_cells``)."""
    return html.samples_table(rows)


def status_text(start: int, shown: int, total: int | None, exact: bool, size: int, page: int) -> str:
    """``rows 11–20 of 1,234 · page 2 of 124`` (``about`` when the total is an estimate)."""
    if total is None:
        total_text = "?"
    else:
        total_text = f"{total:,}" if exact else f"about {total:,}"
    rows = f"{start + 1:,}–{start + shown:,}" if shown else "0"
    pages = "" if total is None else f" · page {page + 1} of {max(-(-total // size), 1):,}"
    return f"rows {rows} of {total_text}{pages}"


def sample_line(row: dict[str, Any]) -> str:
    """One sample as a line of text: doc id, target, answer, ✓/✗."""
    answer = next((row[k] for k in ("pred_choice", "filtered", "response") if not html.missing(row.get(k))), None)
    return f"doc {row.get('doc_id')}: target={_clip(row.get('target'))} answer={_clip(answer)}" + _mark(
        row.get("correct")
    )


def _mark(correct: Any) -> str:
    return "" if html.missing(correct) else (" ✓" if correct else " ✗")


def page_bundle(title: str, status: str, table_html: str, lines: list[str], note: str = "") -> Bundle:
    """A page as plain display data: a caption (what is shown, which rows), a note, the table; and as text."""
    caption = f'<div class="cap"><b>{html.esc(title)}</b> · {html.esc(status)}</div>' if title else ""
    text = [f"{title} · {status}" if title else status]
    if note:
        text.append(note)
    text += lines
    body = caption + (f'<p class="na">{html.esc(note)}</p>' if note else "") + table_html
    return {"text/html": html.wrap(body), "text/plain": "\n".join(text)}


def _clip(value: Any, limit: int = 60) -> str:
    text = "—" if html.missing(value) else (value if isinstance(value, str) else repr(value))
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Pager:
    """◀ ▶ and rows-per-page controls over one plain page output.

    ``fetch(start, stop) -> (rows, total, exact)`` reads rows; ``render(rows)`` makes the table; ``describe()``
    says what is being paged (shown above the table, e.g. ``rcb · filter scoring · wrong only``); ``line(row)``
    is a row in the page's ``text/plain``.
    """

    def __init__(
        self,
        fetch: Fetch,
        render: Callable[[list[dict[str, Any]]], str],
        describe: Callable[[], str],
        page_size: int = PAGE_SIZES[0],
        line: Callable[[dict[str, Any]], str] = sample_line,
    ) -> None:
        import ipywidgets as w

        self.line = line
        self.fetch = fetch
        self.render_rows = render
        self.describe = describe
        self.page = 0
        self.note = ""
        self.output = LiveOutput(page_bundle("", "nothing shown yet", "", []))
        self.prev = w.Button(description="◀", tooltip="previous page", layout=w.Layout(width="40px"))
        self.next = w.Button(description="▶", tooltip="next page", layout=w.Layout(width="40px"))
        self.size = w.Dropdown(
            options=list(PAGE_SIZES), value=page_size, description="rows", layout=w.Layout(width="160px")
        )
        self.status = w.HTML()
        self.prev.on_click(lambda _: self.go(self.page - 1))
        self.next.on_click(lambda _: self.go(self.page + 1))
        self.size.observe(lambda _: self.go(0), names="value")
        self.controls = w.HBox([self.prev, self.status, self.next, self.size])

    @property
    def text(self) -> str:
        """The page's HTML as it is shown (and saved) now."""
        return str(self.output.bundle["text/html"])

    def show_message(self, title: str, message: str) -> None:
        """Show a message instead of a page (nothing to page through)."""
        self.prev.disabled = self.next.disabled = True
        self.status.value = ""
        self.output.update(page_bundle(title, message, "", []))

    def go(self, page: int) -> None:
        """Show ``page`` (0-based; clamped to the pages that exist)."""
        size = int(self.size.value)
        page = max(page, 0)
        self.note = ""
        rows, total, exact = self.fetch(page * size, (page + 1) * size)
        if not rows and page > 0:
            if total:
                page = max((total - 1) // size, 0)
            else:
                page -= 1
            rows, total, exact = self.fetch(page * size, (page + 1) * size)
        self.page = page
        start = page * size
        status = status_text(start, len(rows), total, exact, size, page)
        self.status.value = f"<span style='padding:0 8px'>{html.esc(status)}</span>"
        self.prev.disabled = page == 0
        self.next.disabled = len(rows) < size or (exact and total is not None and start + len(rows) >= total)
        self.output.update(
            page_bundle(self.describe(), status, self.render_rows(rows), [self.line(r) for r in rows], self.note)
        )


class SamplesBrowser:
    """Task and filter selection, text search, "wrong only", paging; long prompts collapsed.

    ``controls`` is the widget; ``pager.output`` the page (a plain output).  :meth:`show` displays both.
    """

    def __init__(self, result: RunResult, page_size: int = PAGE_SIZES[0]) -> None:
        import ipywidgets as w

        self.result = result
        self.media = MediaResolver(result)  # images / audio / video of multimodal documents
        tasks = result.sample_tasks
        self.task = w.Dropdown(options=tasks, value=tasks[0] if tasks else None, description="task")
        self.filter = w.Dropdown(description="filter", layout=w.Layout(width="220px"))
        self.search = w.Text(placeholder="search prompt, target, answer", continuous_update=False)
        self.wrong_only = w.Checkbox(description="wrong only", indent=False, layout=w.Layout(width="110px"))
        self.pager = Pager(self._fetch, self._render, self._describe, page_size)
        self._quiet = False
        self._set_filters()
        self.task.observe(self._on_task, names="value")
        for control in (self.filter, self.search, self.wrong_only):
            control.observe(self._on_change, names="value")
        self.controls = w.VBox(
            [w.HBox([self.task, self.filter, self.search, self.wrong_only]), self.pager.controls],
            layout=w.Layout(margin="4px 0 0 0"),
        )
        self.controls.add_class("mera-controls")
        if tasks:
            self.pager.go(0)
        else:
            self.pager.show_message(
                "Samples", "this run kept no samples (run with --log_samples or --predict_only to keep them)"
            )

    def show(self) -> None:
        """Display the controls and the page (the page as a plain output)."""
        from .outputs import show_controls

        if self.result.sample_tasks:
            show_controls(self.controls)
        self.pager.output.show()

    def _describe(self) -> str:
        bits = [f"Samples: {self.task.value}"]
        if self.filter.value is not None and len(self.filter.options) > 1:
            bits.append(f"filter {self.filter.value}")
        text = (self.search.value or "").strip()
        if text:
            bits.append(f"search “{text}”")
        if self.wrong_only.value:
            bits.append("wrong only")
        return " · ".join(bits)

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
        if text or self.wrong_only.value:
            frame = source.frame()
            if filt is not None and filt in set(frame["filter"]):
                frame = frame[frame["filter"] == filt]
            if self.wrong_only.value:
                if frame["correct"].isna().all():
                    self.pager.note = (
                        "No gold answers in this task (a closed test set): nothing can be marked wrong."
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
        """A page with each document's images, when the task has media; else :func:`render_samples_page`."""
        return self.media.samples_table(rows, self.task.value) or render_samples_page(rows)


class DifferencesBrowser:
    """The documents where compared runs answered differently, task by task, paged.

    Nothing is read until :meth:`load` (the "show" button): it reads every run's samples of the task.
    """

    def __init__(self, comparison: Comparison, page_size: int = PAGE_SIZES[0]) -> None:
        import ipywidgets as w

        self.comparison = comparison
        self.common = [
            t
            for t in comparison.results[0].sample_tasks
            if all(t in r.sample_tasks for r in comparison.results[1:])
        ]
        self.task = w.Dropdown(
            options=self.common, value=self.common[0] if self.common else None, description="task"
        )
        self.button = w.Button(description="show documents answered differently", layout=w.Layout(width="auto"))
        self._frames: dict[str, pd.DataFrame] = {}
        self.pager = Pager(self._fetch, self._render, self._describe, page_size, self._line)
        self.loaded = False
        self.task.observe(lambda _: self.pager.go(0) if self.loaded else None, names="value")
        self.button.on_click(lambda _: self.load())
        self.controls = w.VBox([w.HBox([self.task, self.button]), self.pager.controls])
        self.controls.add_class("mera-controls")
        if self.common:
            self.pager.show_message(
                "Documents answered differently",
                "not computed yet: it reads every run's samples (the “show” button above, or cmp.differences(task))",
            )
        else:
            self.pager.show_message("Documents answered differently", "the runs have no task with samples in common")

    def show(self) -> None:
        """Display the controls and the page (the page as a plain output)."""
        from .outputs import show_controls

        if self.common:
            show_controls(self.controls)
        self.pager.output.show()

    def load(self) -> None:
        """Compute and show the first page (it reads every run's samples of the task)."""
        if self.task.value:
            self.loaded = True
            self.button.disabled = True
            self.pager.go(0)

    def _describe(self) -> str:
        task = self.task.value
        frame = self._frames.get(task) if task else None
        if frame is None:
            return f"Documents answered differently: {task}"
        by = frame.attrs.get("matched_by", "doc_id")
        return f"Documents answered differently: {task} ({len(frame):,}, matched by {by})"

    def _fetch(self, start: int, stop: int) -> tuple[list[dict[str, Any]], int | None, bool]:
        task = self.task.value
        if not task:
            return [], 0, True
        if task not in self._frames:
            self._frames[task] = self.comparison.differences(task)
        frame = self._frames[task]
        return frame.iloc[start:stop].to_dict("records"), len(frame), True

    def _line(self, row: dict[str, Any]) -> str:
        answers = "; ".join(
            f"{name}={_clip(row.get(f'answer {name}'), 40)}{_mark(row.get(f'correct {name}'))}"
            for name in self.comparison.names
        )
        return f"doc {row.get('doc_id')}: target={_clip(row.get('target'), 40)} {answers}"

    def _render(self, rows: list[dict[str, Any]]) -> str:
        return html.differences_table(pd.DataFrame(rows), self.comparison.names)
