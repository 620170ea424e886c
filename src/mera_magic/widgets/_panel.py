"""The :class:`Panel`: a form and a command text that are two views of one :class:`~mera_magic.RunSpec`.

Editing a field writes that one value into the spec (parsed as the command parser would read it), then the
command text and the check's findings are redrawn; editing the command text parses it and redraws the fields.
"""

from __future__ import annotations

import contextlib
import html
import re
import traceback
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Optional

import ipywidgets as W

from .. import texts as T
from ..checks import check
from ..command import parse_command
from ..errors import MeraError, ParseError
from ..findings import Finding
from ..preflight import say
from ..secrets import mask_text
from ..session import SESSION
from ..spec import MASK, RunSpec, is_secret_name
from ._convert import FieldValueError
from ._env import EnvSection, remember_secrets
from ._fields import Field, close_tree, findings_html
from ._frontend import (
    cell_source,
    display_javascript,
    fallback_html,
    fallback_text,
    in_execute_request,
    insert_cell_script,
    set_next_input,
    writeback_html,
)
from ._gpus import Gpu
from ._model import ModelSection, accepted_keys
from ._options import OptionsSection
from ._run import RunControls
from ._section import Section
from ._tasks import TasksSection

_STYLE = """<style>
.mera-panel { max-width: 100%; box-sizing: border-box; }
.mera-panel .mera-command, .mera-panel .mera-command textarea { box-sizing: border-box; max-width: 100%; }
.mera-panel .mera-command textarea { font-family: var(--jp-code-font-family, monospace); font-size: 12px; }
.mera-panel .widget-tab > .p-TabBar .p-TabBar-tab, .mera-panel .lm-TabBar-tab { min-width: 110px; }
.mera-panel .mera-field > .widget-hbox { flex-wrap: wrap; }
.mera-panel .mera-run-progress progress { max-width: 30vw; }
</style>"""
#: marks on the tab titles of sections holding an error or a warning
_TAB_MARKS = {"error": " ✖", "warning": " ⚠"}
_TAB_KEYS = ("ui.tab.model", "ui.tab.tasks", "ui.tab.options", "ui.tab.env")


class Panel(W.VBox):
    """A form for one lm_eval run, with the exact command it stands for.

    ``spec`` is the current :class:`~mera_magic.RunSpec` (a copy; assign to replace it), ``command`` its
    command text.  Secrets typed into the panel live in ``SESSION.secrets`` (environment) or in this object
    (``auth_token``-like model args), never in widget state.
    """

    def __init__(self, spec: Optional[RunSpec] = None, *, namespace: Optional[Mapping[str, Any]] = None,
                 text: Optional[str] = None, language: Optional[str] = None,
                 gpus: Optional[list[Gpu]] = None, origin: Optional[str] = None, auto_index: bool = True) -> None:
        super().__init__(layout=W.Layout(width="100%"))
        self.add_class("mera-panel")
        self._namespace = namespace
        self._auto_index = auto_index
        self._language = language or T.current_language()
        self._gpus = gpus
        self._spec = (spec or RunSpec()).copy()
        self._text_source: Optional[str] = text
        self._quiet = 0
        self._findings: list[Finding] = []
        #: values a field holds that the check cannot see (a launcher or "other" text that does not parse)
        self._field_errors: dict[str, Finding] = {}
        #: model_args the current backend does not take, kept for a backend that does (hf -> gguf -> hf)
        self._set_aside: dict[str, Any] = {}
        #: the command of the ``%%mera --panel`` cell the panel came from (None: not from a cell)
        self.origin = origin
        self._record_id = f"mera-panel-{uuid.uuid4().hex}"
        self._record_shown = False
        self._run_html = ""
        self._run_text = ""
        self._results_html = ""
        self._results_text = ""
        self.model: ModelSection
        self.sections: list[Section] = []

        self._title = W.HTML()
        self._language_toggle = W.ToggleButtons(options=list(T.LANGUAGES), value=self._language,
                                                layout=W.Layout(width="auto"), style={"button_width": "40px"})
        self._language_toggle.observe(lambda change: self.set_language(change["new"]), names="value")
        # the tab bodies are fixed boxes whose content is swapped: replacing a Tab's children blanks its body in the
        # front end until a tab is clicked
        self._tab_boxes = [W.VBox(layout=W.Layout(width="100%")) for _ in _TAB_KEYS]
        self._tabs = W.Tab(children=self._tab_boxes, selected_index=0)
        self.command_box = W.Textarea(rows=6, continuous_update=False, layout=W.Layout(width="100%", margin="2px 0"))
        self.command_box.add_class("mera-command")
        self.command_box.observe(self._command_edited, names="value")
        self._command_label = W.HTML()
        self._command_error = W.HTML()
        self._summary = W.HTML()
        self.insert_button = W.Button(icon="plus-square", layout=W.Layout(width="auto"))
        self.controls = RunControls(self.texts)
        self.run_button = self.controls.run_button
        self.insert_button.on_click(lambda _: self.insert_cell())
        self.run_button.on_click(lambda _: self.run())
        self.output = self.controls.output
        self.writeback = W.HTML(layout=W.Layout(display="none"))
        header = W.HBox([self._title, self._language_toggle],
                        layout=W.Layout(justify_content="space-between", align_items="center", width="100%",
                                        margin="0"))
        buttons = W.HBox([self.insert_button, self.run_button, self.controls.stop, self.writeback],
                         layout=W.Layout(flex_flow="row wrap", align_items="center"))
        self.children = [W.HTML(_STYLE), header, self._tabs, self._command_label, self.command_box,
                         self._command_error, self._summary, buttons, self.controls.progress, self.output]
        remember_secrets(self._spec.env)
        self._build()

    # construction --------------------------------------------------------------------------------------------------
    def texts(self, key: str, **fields: Any) -> str:
        """A text in the panel's language."""
        return T.text(key, self._language, **fields)

    def _build(self) -> None:
        """(Re)build every section for the current backend and language, then show the spec."""
        for section in self.sections:
            section.close()
        self.model = ModelSection(self.texts, self._field_changed, self._language, self._spec.model, self._namespace)
        self.model.backend_field.widget.observe(self._backend_changed, names="value")
        self.tasks = TasksSection(self.texts, self._field_changed, self._language, self._namespace, self._auto_index)
        self.options = OptionsSection(self.texts, self._field_changed, self._language, self._namespace)
        self.env = EnvSection(self.texts, self._field_changed, self._language, self._namespace, self._gpus)
        if self._gpus is None:
            self._gpus = self.env.gpus
        self.tasks.on_index_ready = self._index_ready
        self.sections = [self.model, self.tasks, self.options, self.env]
        self._set_tabs([s.box for s in self.sections])
        self._title.value = f"<b>{html.escape(self.texts('ui.title'))}</b>"
        self._command_label.value = (f"<b>{html.escape(self.texts('ui.command'))}</b> "
                                     f'<span style="color:#666;font-size:85%">{html.escape(self.texts("ui.command.help"))}</span>')
        self.insert_button.description = self.texts("ui.insert")
        self.insert_button.tooltip = self.texts("ui.insert.help")
        self.controls.texts = self.texts
        self.controls.relabel()
        self._load()

    def _set_tabs(self, children: list[W.Widget]) -> None:
        """New tab contents in the fixed tab boxes (the selected tab stays selected and shown)."""
        for box, child in zip(self._tab_boxes, children):
            if box.children != (child,):
                box.children = (child,)
        self._title_tabs()

    def _title_tabs(self, marks: Optional[Mapping[int, str]] = None) -> None:
        for i, key in enumerate(_TAB_KEYS[:len(self._tabs.children)]):
            self._tabs.set_title(i, self.texts(key) + (marks or {}).get(i, ""))

    def _rebuild_model(self) -> None:
        old = self.model
        self.model = ModelSection(self.texts, self._field_changed, self._language, self._spec.model, self._namespace)
        self.model.backend_field.widget.observe(self._backend_changed, names="value")
        self.sections[0] = self.model
        self._set_tabs([s.box for s in self.sections])
        old.close()

    @contextlib.contextmanager
    def _quietly(self) -> Iterator[None]:
        self._quiet += 1
        try:
            yield
        finally:
            self._quiet -= 1

    def _load(self) -> None:
        with self._quietly():
            for section in self.sections:
                section.load(self._spec)
                for field in section.fields.values():
                    field.problem(None)
        self._field_errors.clear()
        self._refresh()

    # the two views ---------------------------------------------------------------------------------------------------
    def _field_changed(self, section: Section, field: Field) -> None:
        if self._quiet:
            return
        try:
            section.store(self._spec, field)
        except FieldValueError as exc:
            self._keep_raw(field)
            self._field_errors[field.where] = Finding(
                "error", "invalid-value", self.texts("ui.value.invalid", error=str(exc)), field.where)
        else:
            self._field_errors.pop(field.where, None)
        self._text_source = None
        self._refresh()

    def _keep_raw(self, field: Field) -> None:
        """An option or model arg whose text cannot be converted goes into the spec as that text, so the command
        shows what the field shows (never a stale value) and the check reports it like a typed command."""
        text = field.get()
        section, _, key = field.where.partition(".")
        if text is None or key in ("", "*"):
            return
        if section == "options":
            self._spec.options[key] = text
        elif section == "model_args":
            self._spec.model_args[key] = text

    def _backend_changed(self, change: Any) -> None:
        if self._quiet or change["new"] == self._spec.model:
            return
        from ..checks_values import required_model_args

        self._spec.model_args = carry_model_args(self._spec.model_args, accepted_keys(change["new"]),
                                                 self._set_aside, required_model_args(change["new"]))
        self._spec.model = change["new"]
        self._text_source = None
        self._rebuild_model()
        self._load()

    def _command_edited(self, change: Any) -> None:
        if self._quiet:
            return
        text = change["new"]
        try:
            parsed = parse_command(text, self._namespace, SESSION.secrets)
        except ParseError as exc:
            self._command_error.value = findings_html([], [("error", f"{self.texts('ui.parse_error')}: {exc}")])
            return
        self._command_error.value = ""
        spec = parsed.spec
        for key, value in spec.model_args.items():  # a masked secret stands for the value the panel holds
            if is_secret_name(key) and value == MASK and key in self._spec.model_args:
                spec.model_args[key] = self._spec.model_args[key]
        self._set_spec(spec, text)

    def _set_spec(self, spec: RunSpec, text: Optional[str] = None) -> None:
        rebuild = spec.model != self._spec.model
        self._spec = spec.copy()
        self._text_source = text
        remember_secrets(self._spec.env)
        if rebuild:
            self._rebuild_model()
        self._load()

    def _refresh(self) -> None:
        """Redraw the command text and the findings from the spec."""
        command = self.command
        with self._quietly():
            self.command_box.value = command
            self.command_box.rows = min(max(3, command.count("\n") + 2), 18)
        self._findings = self._check()
        self._show_findings(self._findings)
        self._show_writeback()
        self._update_record()

    def _check(self) -> list[Finding]:
        findings = self._run_check()
        said = {f.where for f in findings if f.level == "error"}
        extra = [f for where, f in self._field_errors.items() if where not in said]
        return extra + findings

    def _run_check(self) -> list[Finding]:
        """The checks' findings, worded in the panel's language (it may differ from the session's)."""
        before = SESSION.config.language
        SESSION.config.language = self._language
        try:
            return self._run_check_in_language()
        finally:
            SESSION.config.language = before

    def _run_check_in_language(self) -> list[Finding]:
        source: RunSpec | str = self._text_source if self._text_source is not None else self._spec
        try:
            return check(source, namespace=self._namespace, tasks=self.tasks.checkable(self._spec))
        except MeraError:
            pass
        except Exception as exc:  # a failing check must not break the form: say so and go on
            return [say.finding("error", "check-failed", "", error=f"{type(exc).__name__}: {exc}")]
        try:
            return check(self._spec, namespace=self._namespace, tasks=False)
        except Exception as exc:
            return [say.finding("error", "check-failed", "", error=f"{type(exc).__name__}: {exc}")]

    def field_for(self, where: str) -> Optional[Field]:
        """The field that shows findings about ``where`` (``model_args.dtype``, ``env.HF_HOME``, ...)."""
        for section in self.sections:
            if where in section.fields:
                return section.fields[where]
        for section in self.sections:
            fallback = section.fallback_field(where)
            if fallback is not None:
                return fallback
        return None

    def _show_findings(self, findings: Sequence[Finding]) -> None:
        by_field: dict[int, list[Finding]] = {}
        fields: dict[int, Field] = {}
        general: list[Finding] = []
        for finding in findings:
            field = self.field_for(finding.where)
            if field is None:
                general.append(finding)
            else:
                by_field.setdefault(id(field), []).append(finding)
                fields[id(field)] = field
        for section in self.sections:
            for field in section.fields.values():
                field.show(by_field.get(id(field), []))
        notes: list[tuple[str, str]] = []
        if self._spec.tasks and not self.tasks.checkable(self._spec) and not self.tasks.is_indexing:
            notes.append(("info", self.texts("ui.tasks.unchecked")))
        self.tasks.tasks.show(by_field.get(id(self.tasks.tasks), []))
        if notes:
            self.tasks.tasks.note.value += findings_html([], notes)
        marks: dict[int, str] = {}
        for i, section in enumerate(self.sections):
            levels = {f.level for field in section.fields.values() for f in by_field.get(id(field), [])}
            level = "error" if "error" in levels else "warning" if "warning" in levels else None
            if level:
                marks[i] = _TAB_MARKS[level]
        self._title_tabs(marks)
        summary = self.summary
        counts = {level: sum(f.level == level for f in findings) for level in ("error", "warning", "info")}
        color = "#c62828" if counts["error"] else "#b26a00" if counts["warning"] else "#2e7d32"
        self._summary.value = (f'<div style="color:{color};font-weight:bold">{html.escape(summary)}</div>'
                               + findings_html(general))

    @property
    def summary(self) -> str:
        """The check's summary line (``Check: 1 error, 2 warnings``)."""
        counts = {level: sum(f.level == level for f in self._findings) for level in ("error", "warning", "info")}
        if not self._findings:
            return self.texts("ui.findings.none")
        return self.texts("ui.findings.summary", counts=T.count_words(counts, self._language))

    def _index_ready(self) -> None:
        """The background task index is built: check the task names now (unless a run holds the kernel)."""
        if not self.controls.running:
            self._refresh()

    # public API --------------------------------------------------------------------------------------------------------
    @property
    def spec(self) -> RunSpec:
        """The current RunSpec (a copy)."""
        return self._spec.copy()

    @spec.setter
    def spec(self, spec: RunSpec) -> None:
        self._set_spec(spec)

    @property
    def command(self) -> str:
        """The command text of the current spec (secrets as ``$NAME`` or masked)."""
        return self._spec.to_command()

    @property
    def findings(self) -> list[Finding]:
        """The check's findings for the current spec."""
        return list(self._findings)

    @property
    def language(self) -> str:
        """The interface language, ``ru`` or ``en``."""
        return self._language

    def set_language(self, language: str) -> None:
        """Switch the interface language (``ru`` or ``en``); the spec is kept."""
        T.text("ui.title", language)  # validates
        if language == self._language:
            return
        self._language = language
        self._language_toggle.value = language
        self._build()

    def read_fields(self) -> RunSpec:
        """A RunSpec built from nothing but what the fields show now (what the panel would save)."""
        spec = RunSpec(model=self.model.backend_field.widget.value)
        with self._quietly():
            for section in self.sections:
                for field in section.fields.values():
                    if field.where != "model":
                        section.store(spec, field)
        return spec

    def insert_cell(self) -> None:
        """Put the command into a new ``%%mera`` cell below (see :mod:`._frontend` for how)."""
        source = cell_source(self.command)
        if in_execute_request() and set_next_input(source):
            return
        self.output.clear_output()
        with self.output:
            display_javascript(insert_cell_script(source, self.texts("ui.inserted"), self.texts("ui.insert.manual")))

    def run(self) -> Any:
        """Run the spec as a ``%%mera`` cell would, showing its live progress in the panel; returns its result.

        One run at a time: Run is disabled while it runs, and a click sent during a run is ignored.  Stop (or the
        kernel's stop button) ends it with status "stopped".  Returns None when the run did not finish.
        """
        if self.controls.stale_click():
            self.controls.ignored_clicks += 1
            return None
        self.output.clear_output()
        self.controls.progress.value = ""
        if any(f.level == "error" for f in self._findings):
            with self.output:
                print(self.texts("ui.run.blocked"))
            return None
        spec = self.spec
        outcome: dict[str, Any] = {}

        def work(progress: Any) -> Any:
            from ..runner import run as runner

            with self.output:
                try:
                    return runner(spec, namespace=self._namespace, display=progress)
                except MeraError as exc:
                    shown = "\n".join(exc._render_traceback_())
                    outcome["error"] = re.sub(r"\x1b\[[0-9;]*m", "", shown)
                    print(shown)
                    return None
                except Exception:  # noqa: BLE001 - a bug: shown in the panel (a widget callback's error is
                    shown = mask_text(traceback.format_exc())  # otherwise only in the kernel's log)
                    outcome["error"] = shown
                    print(shown)
                    return None

        result = self.controls.run(work)
        status = self.controls.last_status or ("done" if result is not None else "failed")
        said = self.texts("ui.record.run", status=status)
        self._run_text, self._run_html = said, f'<div style="margin-top:6px;font-weight:bold">{html.escape(said)}</div>'
        if result is not None:
            self._show_result(result)
        elif "error" in outcome:
            self._run_html += f'<pre style="white-space:pre-wrap;color:#c62828">{html.escape(outcome["error"])}</pre>'
            self._run_text += "\n" + outcome["error"]
        self._run_html += self._results_html  # the results of the last run that finished stay in the record
        self._run_text += self._results_text
        self._update_record()
        return result

    def _show_result(self, result: Any) -> None:
        """Show the result in the panel (its normal display) and keep its static views for the saved record."""
        bundles = result_bundles(result)
        with self.output:
            from IPython.display import display

            for bundle in bundles:
                display(bundle, raw=True)
        self._results_html = "".join(str(b.get("text/html", "")) for b in bundles)
        self._results_text = "\n" + "\n".join(str(b.get("text/plain", "")) for b in bundles)

    # what the notebook saves ------------------------------------------------------------------------------------------
    def _record_bundle(self) -> dict[str, Any]:
        title = self.texts("ui.record.title")
        return {"text/plain": fallback_text(title, self.command, self._findings, self._run_text),
                "text/html": fallback_html(title, self.command, self._findings, self.summary, self._run_html)}

    def _update_record(self) -> None:
        """Redraw the static record (command, findings, last run) that the notebook saves below the panel."""
        if not self._record_shown:
            return
        from IPython.display import update_display

        update_display(self._record_bundle(), raw=True, display_id=self._record_id)

    def _ipython_display_(self, **kwargs: Any) -> None:
        """The live panel, then its static record: what a saved notebook shows where the panel cannot render."""
        from IPython.display import display

        bundle = dict(W.VBox._repr_mimebundle_(self, **kwargs) or {})
        bundle["text/plain"] = self.texts("ui.record.title")
        display(bundle, raw=True)
        display(self._record_bundle(), raw=True, display_id=self._record_id)
        self._record_shown = True

    # writing the panel back into its %%mera --panel cell -----------------------------------------------------------------
    @property
    def edited(self) -> bool:
        """True when the panel came from a ``%%mera --panel`` cell and its command differs from the cell's."""
        if self.origin is None:
            return False
        try:
            return parse_command(self.origin, self._namespace, SESSION.secrets).spec != self._spec
        except ParseError:
            return True

    def _show_writeback(self) -> None:
        if self.origin is None:
            return
        if self.edited:
            self.writeback.value = writeback_html(f"%%mera --panel\n{self.command}", self.texts("ui.writeback"),
                                                  self.texts("ui.writeback.help"), self.texts("ui.writeback.done"))
            self.writeback.layout.display = None
        else:
            self.writeback.layout.display = "none"

    def close(self) -> None:
        """Close the panel and every widget in it."""
        for section in self.sections:
            section.close()
        for child in self.children:
            close_tree(child)
        super().close()

    # where widgets cannot render ----------------------------------------------------------------------------------------
    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle: dict[str, Any] = {}
        parent = getattr(super(), "_repr_mimebundle_", None)
        if parent is not None:
            got = parent(**kwargs)
            bundle.update(got or {})
        title = self.texts("ui.fallback")
        bundle["text/plain"] = fallback_text(title, self.command, self._findings, self._run_text)
        bundle["text/html"] = fallback_html(title, self.command, self._findings, self.summary, self._run_html)
        return bundle


def carry_model_args(args: Mapping[str, Any], accepted: set[str], set_aside: dict[str, Any],
                     required: Sequence[str] = ()) -> dict[str, Any]:
    """The model_args a backend switch keeps: those the new backend takes, ``pretrained`` as ``model`` (and back)
    where the new backend names the model so (its required argument, or the only one it takes), and values set
    aside by an earlier switch; the rest is set aside."""
    out = {k: v for k, v in args.items() if k in accepted}
    for old, new in (("pretrained", "model"), ("model", "pretrained")):
        if old in args and new in accepted and new not in args and (old not in accepted or new in required):
            out.pop(old, None)
            out[new] = args[old]
    for key, value in set_aside.items():
        if key in accepted and key not in out:
            out[key] = value
    kept = {**set_aside, **{k: v for k, v in args.items() if k not in out}}
    set_aside.clear()
    set_aside.update({k: v for k, v in kept.items() if k not in out})
    return out


def result_bundles(result: Any) -> list[dict[str, Any]]:
    """The outputs ``display(result)`` makes (its normal display, whatever shape it has), as mime bundles."""
    try:
        from IPython import get_ipython
        from IPython.display import display
        from IPython.utils.capture import capture_output
    except ImportError:  # pragma: no cover - IPython is a dependency
        get_ipython = None  # type: ignore[assignment]
    if get_ipython is not None and get_ipython() is not None:
        with capture_output(stdout=False, stderr=False, display=True) as captured:
            display(result)
        bundles = [dict(o.data) for o in captured.outputs]
        if bundles:
            return bundles
    from ..display.outputs import masked  # no IPython shell (a script, a test): the same view, built directly
    from ..display.view import result_bundle

    return [dict(masked(result_bundle(result)))]


def panel(spec_or_text: RunSpec | str | None = None, *, namespace: Optional[Mapping[str, Any]] = None,
          language: Optional[str] = None, origin: Optional[str] = None) -> Panel:
    """A form for an lm_eval run that shows, and edits, the exact ``%%mera`` command.

    ``spec_or_text`` is a :class:`~mera_magic.RunSpec`, a command text (parsed with ``namespace`` for ``$VAR``),
    or None for an empty ``--model hf`` run.  ``origin`` is the text of the ``%%mera --panel`` cell it opens from
    (the panel then offers to write an edited command back into that cell).  The language is the session's (``%config MeraMagic.language``)
    unless given.  Raises :class:`~mera_magic.errors.ParseError` when the text is not a command.
    """
    text: Optional[str] = None
    if isinstance(spec_or_text, str):
        text = spec_or_text
        spec = parse_command(text, namespace, SESSION.secrets).spec
    elif spec_or_text is None:
        spec = RunSpec()
    elif isinstance(spec_or_text, RunSpec):
        spec = spec_or_text
    else:
        raise TypeError(f"panel() takes a RunSpec, a command text or None, not {type(spec_or_text).__name__}")
    return Panel(spec, namespace=namespace, text=text, language=language, origin=origin)
