"""The tasks part of the panel: ``--tasks``, ``--include_path`` and a searchable picker over the task index.

The picker lists the names lm_eval's own TaskManager finds (:func:`mera_magic.lmeval.tasks.task_index`, the index
``--dry-run`` and the run use): the tasks in ``--include_path`` at once (a small folder indexes in a moment);
when a name is not there, lm_eval's ~15k built-in tasks are indexed in a background thread (several seconds,
the elapsed time shown, then kept in the session) and the names are checked as soon as it is ready.  "Load"
starts the same indexing by hand.  MERA tasks are annotated from :mod:`mera_magic.catalog`: output type, closed
test (unless the task's own test data holds answers), ``_gen`` twin.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from typing import Any, Callable, Optional

import ipywidgets as W

from .. import texts as T
from ..session import SESSION
from ..spec import RunSpec
from ._convert import option_text, option_value, tasks_text, tasks_value
from ._fields import LABEL_WIDTH, Field, TextField
from ._section import Section, Texts

#: how many matches the picker lists at most
MAX_LISTED = 300


#: one lock per include path, so two panels do not index the same tasks at once
_INDEX_LOCKS: dict[Optional[str], threading.Lock] = {}


def _index_lock(include_path: Optional[str]) -> threading.Lock:
    key = os.path.abspath(include_path) if include_path else None
    return _INDEX_LOCKS.setdefault(key, threading.Lock())


def annotate(name: str, texts: Texts, output_types: frozenset[str] = frozenset(), yaml_path: Any = None) -> str:
    """``name — multiple_choice · closed test · generative twin name_gen`` for the picker."""
    parts: list[str] = []
    try:
        from .. import catalog
    except ImportError:  # the catalog is optional: names are listed without MERA facts
        catalog = None  # type: ignore[assignment]
    task = catalog.find(name) if catalog is not None else None
    if task is not None:
        is_twin = task.gen_twin is not None and name.lower().startswith(task.gen_twin)
        parts.append("generate_until" if is_twin else task.output_type)
        if task.closed_test and not name.endswith(catalog.LOCAL_SUFFIX) \
                and catalog.has_test_answers(yaml_path) is not True:
            parts.append(texts("ui.task.closed"))
        if task.gen_twin and not is_twin:
            parts.append(texts("ui.task.twin", twin=task.gen_twin))
    elif output_types:
        parts.append("/".join(sorted(output_types)))
    return f"{name} — {' · '.join(parts)}" if parts else name


def _is_mera(name: str) -> bool:
    try:
        from ..catalog import is_mera_task
    except ImportError:
        return False
    return is_mera_task(name)


def loaded_full_index(include_path: Optional[str]) -> Any:
    """The session's index with lm_eval's built-in tasks for ``include_path``, if it was built already."""
    key = (os.path.abspath(include_path) if include_path else None, True)
    return SESSION.task_indexes.get(key)


def include_index(include_path: Optional[str]) -> Any:
    """The (fast) index of the include path alone, or None when there is no existing include path."""
    if not include_path or not os.path.isdir(include_path):
        return None
    from ..lmeval.tasks import task_index

    return task_index(include_path, include_defaults=False)


class TasksSection(Section):
    """``--tasks``, ``--include_path`` and the picker."""

    def __init__(self, texts: Texts, changed: Callable[[Section, Field], None], language: str,
                 namespace: Optional[Mapping[str, Any]] = None, auto_index: bool = True) -> None:
        super().__init__(texts, changed, namespace)
        self.language = language
        #: index lm_eval's built-in tasks in the background when a name needs them
        self.auto_index = auto_index
        #: called (from the indexing thread) when the index is ready, so the panel checks the names
        self.on_index_ready: Optional[Callable[[], None]] = None
        self.indexing: Optional[threading.Thread] = None
        self.index_status = W.HTML()
        self.tasks = self.add(TextField("tasks", "--tasks", T.text("options.tasks", language),
                                        placeholder="rummlu,parus"))
        self.include = self.add(TextField("options.include_path", "--include_path",
                                          T.text("options.include_path", language),
                                          placeholder="./benchmark_tasks", continuous=False))
        self.search = W.Text(placeholder=texts("ui.tasks.search"), continuous_update=True,
                             layout=W.Layout(width="340px"))
        self.matches = W.SelectMultiple(options=[], rows=8, layout=W.Layout(width="540px", max_width="100%"))
        self.add_button = W.Button(description=texts("ui.tasks.add"), icon="plus", layout=W.Layout(width="120px"))
        self.load_button = W.Button(description=texts("ui.tasks.load"), tooltip=texts("ui.tasks.load.help"),
                                    layout=W.Layout(width="220px"))
        self.status = W.HTML()
        self.search.observe(lambda _: self.refresh_list(), names="value")
        self.add_button.on_click(lambda _: self.add_selected())
        self.load_button.on_click(lambda _: self.load_builtin())
        self._names: list[str] = []
        self._types: dict[str, frozenset[str]] = {}
        self._yamls: dict[str, Any] = {}
        picker = W.VBox([W.HBox([self.search, self.add_button, self.load_button],
                                layout=W.Layout(flex_flow="row wrap")), self.matches, self.status],
                        layout=W.Layout(margin=f"4px 0 0 {LABEL_WIDTH}", max_width="100%"))
        self.box = W.VBox([self.tasks.row, self.index_status, self.include.row, picker])

    # the picker ------------------------------------------------------------------------------------------------
    def index_names(self) -> None:
        """Collect the names of the indexes available for the current include path (building only the fast one)."""
        include = self.include.get()
        names: dict[str, None] = {}
        self._types = {}
        try:
            small = include_index(include)
        except Exception as exc:  # a broken task folder: say so in the status line, list nothing from it
            small = None
            self.status.value = f'<span style="color:#c62828">{type(exc).__name__}: {exc}</span>'
        if small is not None:
            for name in small.names:
                names[name] = None
                self._types[name] = small.output_types(name)
                try:
                    self._yamls[name] = small.info(name).yaml_path
                except Exception:  # noqa: BLE001 - a name the index lists but cannot describe
                    pass
        full = loaded_full_index(include)
        if full is not None:
            names.update(dict.fromkeys(full.names))
        self.load_button.layout.display = "none" if full is not None else None
        self._names = sorted(names, key=lambda n: (not _is_mera(n), n))
        self.refresh_list()

    def refresh_list(self) -> None:
        """List the names matching the search text (MERA tasks first)."""
        needle = self.search.value.strip().lower()
        found = [n for n in self._names if needle in n.lower()]
        shown = found[:MAX_LISTED]
        self.matches.options = [(annotate(n, self.texts, self._types.get(n, frozenset()), self._yamls.get(n)), n)
                                for n in shown]
        self.status.value = f'<span style="color:#666;font-size:85%">{self.texts("ui.tasks.count", n=len(found))}</span>'

    def add_selected(self) -> None:
        """Append the selected names to ``--tasks`` (each once)."""
        current = tasks_value(self.tasks.get() or "")
        for name in self.matches.value:
            if name not in current:
                current.append(name)
        self.tasks.set(tasks_text(current) or None)

    def load_builtin(self) -> None:
        """Index lm_eval's built-in tasks (slow, once per session) in the background and list them."""
        self.load_button.disabled = True
        self.start_indexing(force=True)

    def start_indexing(self, force: bool = False) -> None:
        """Start indexing lm_eval's built-in tasks in a background thread, unless built, running, or not needed."""
        include = self.include.get()
        if self.indexing is not None and self.indexing.is_alive():
            return
        if loaded_full_index(include) is not None:
            return
        if not force:
            names = tasks_value(self.tasks.get() or "")
            if not self.auto_index or not names or self._names_found(names, include):
                return
        self.indexing = threading.Thread(target=self._index, args=(include,), daemon=True,
                                         name="mera-panel-task-index")
        self.indexing.start()

    def _names_found(self, names: list[str], include: Optional[str]) -> bool:
        try:
            small = include_index(include)
        except Exception:  # noqa: BLE001 - a broken folder: the check says why
            return False
        return small is not None and all(n in small for n in names)

    def _index(self, include: Optional[str]) -> None:
        from ..lmeval.tasks import task_index

        failure: list[BaseException] = []

        def build() -> None:
            try:
                with _index_lock(include):
                    task_index(include, include_defaults=True)
            except Exception as exc:  # noqa: BLE001 - shown in the status line
                failure.append(exc)

        started = time.monotonic()
        worker = threading.Thread(target=build, daemon=True)
        worker.start()
        while worker.is_alive():
            self.index_status.value = (f'<div class="mera-indexing" style="margin-left:{LABEL_WIDTH};color:#546e7a;'
                                       f'font-size:90%">⏳ {self.texts("ui.tasks.indexing", seconds=int(time.monotonic() - started))}</div>')
            worker.join(1.0)
        if failure:
            error = f"{type(failure[0]).__name__}: {failure[0]}"
            self.index_status.value = (f'<div style="margin-left:{LABEL_WIDTH};color:#c62828;font-size:90%">'
                                       f'{self.texts("ui.tasks.index_failed", error=error)}</div>')
        else:
            self.index_status.value = ""
        self.load_button.disabled = False
        self.index_names()
        if self.on_index_ready is not None:
            self.on_index_ready()

    @property
    def is_indexing(self) -> bool:
        """True while the background indexing runs."""
        return self.indexing is not None and self.indexing.is_alive()

    # RunSpec <-> fields ----------------------------------------------------------------------------------------------
    def load(self, spec: RunSpec) -> None:
        """Show the tasks and include path of ``spec``."""
        self.tasks.set(tasks_text(spec.tasks) or None)
        include = spec.options.get("include_path")
        self.include.set(option_text("include_path", include) if include is not None else None)
        self.index_names()
        self.start_indexing()

    def store(self, spec: RunSpec, field: Field) -> None:
        """Write ``--tasks`` or ``--include_path`` into ``spec``."""
        text = field.get()
        if field is self.tasks:
            spec.tasks = tasks_value(text or "")
            self.start_indexing()
            return
        if text is None:
            spec.options.pop("include_path", None)
        else:
            spec.options["include_path"] = option_value("include_path", text)
        self.index_names()
        self.start_indexing()

    def checkable(self, spec: RunSpec) -> bool:
        """True when checking the task names costs no slow indexing (the names are in a built index)."""
        include = spec.options.get("include_path")
        if loaded_full_index(include) is not None:
            return True
        try:
            small = include_index(include)
        except Exception:
            return False
        if small is None:
            return False
        plain = [n for n in spec.tasks if not any(c in n for c in "*?[") and not n.endswith((".yaml", ".yml"))]
        return len(plain) == len(spec.tasks) and all(n in small for n in plain)
