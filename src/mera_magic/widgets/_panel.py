"""The :class:`Panel`: a form and a command text that are two views of one :class:`~mera_magic.RunSpec`.

Editing a field writes that one value into the spec (parsed as the command parser would read it), then the
command text and the check's findings are redrawn; editing the command text parses it and redraws the fields.
"""

from __future__ import annotations

import contextlib
import html
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Optional

import ipywidgets as W

from .. import texts as T
from ..checks import check
from ..command import parse_command
from ..errors import MeraError, ParseError
from ..findings import Finding
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
)
from ._gpus import Gpu
from ._model import ModelSection, accepted_keys
from ._options import OptionsSection
from ._section import Section
from ._tasks import TasksSection

_STYLE = """<style>
.mera-panel .mera-command textarea { font-family: var(--jp-code-font-family, monospace); font-size: 12px; }
.mera-panel .widget-tab > .p-TabBar .p-TabBar-tab, .mera-panel .lm-TabBar-tab { min-width: 110px; }
</style>"""


class Panel(W.VBox):
    """A form for one lm_eval run, with the exact command it stands for.

    ``spec`` is the current :class:`~mera_magic.RunSpec` (a copy; assign to replace it), ``command`` its
    command text.  Secrets typed into the panel live in ``SESSION.secrets`` (environment) or in this object
    (``auth_token``-like model args), never in widget state.
    """

    def __init__(self, spec: Optional[RunSpec] = None, *, namespace: Optional[Mapping[str, Any]] = None,
                 text: Optional[str] = None, language: Optional[str] = None,
                 gpus: Optional[list[Gpu]] = None) -> None:
        super().__init__()
        self.add_class("mera-panel")
        self._namespace = namespace
        self._language = language or T.current_language()
        self._gpus = gpus
        self._spec = (spec or RunSpec()).copy()
        self._text_source: Optional[str] = text
        self._quiet = 0
        self._findings: list[Finding] = []
        self.model: ModelSection
        self.sections: list[Section] = []

        self._title = W.HTML()
        self._language_toggle = W.ToggleButtons(options=list(T.LANGUAGES), value=self._language,
                                                layout=W.Layout(width="auto"), style={"button_width": "40px"})
        self._language_toggle.observe(lambda change: self.set_language(change["new"]), names="value")
        self._tabs = W.Tab()
        self.command_box = W.Textarea(rows=6, continuous_update=False, layout=W.Layout(width="100%"))
        self.command_box.add_class("mera-command")
        self.command_box.observe(self._command_edited, names="value")
        self._command_label = W.HTML()
        self._command_error = W.HTML()
        self._summary = W.HTML()
        self.insert_button = W.Button(icon="plus-square", layout=W.Layout(width="auto"))
        self.run_button = W.Button(icon="play", button_style="primary", layout=W.Layout(width="auto"))
        self.insert_button.on_click(lambda _: self.insert_cell())
        self.run_button.on_click(lambda _: self.run())
        self.output = W.Output()
        header = W.HBox([self._title, self._language_toggle],
                        layout=W.Layout(justify_content="space-between", align_items="center"))
        self.children = [W.HTML(_STYLE), header, self._tabs, self._command_label, self.command_box,
                         self._command_error, self._summary, W.HBox([self.insert_button, self.run_button]),
                         self.output]
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
        self.tasks = TasksSection(self.texts, self._field_changed, self._language, self._namespace)
        self.options = OptionsSection(self.texts, self._field_changed, self._language, self._namespace)
        self.env = EnvSection(self.texts, self._field_changed, self._language, self._namespace, self._gpus)
        if self._gpus is None:
            self._gpus = self.env.gpus
        self.sections = [self.model, self.tasks, self.options, self.env]
        self._tabs.children = [s.box for s in self.sections]
        for i, key in enumerate(("ui.tab.model", "ui.tab.tasks", "ui.tab.options", "ui.tab.env")):
            self._tabs.set_title(i, self.texts(key))
        self._title.value = f"<b>{html.escape(self.texts('ui.title'))}</b>"
        self._command_label.value = (f"<b>{html.escape(self.texts('ui.command'))}</b> "
                                     f'<span style="color:#666;font-size:85%">{html.escape(self.texts("ui.command.help"))}</span>')
        self.insert_button.description = self.texts("ui.insert")
        self.insert_button.tooltip = self.texts("ui.insert.help")
        self.run_button.description = self.texts("ui.run")
        self.run_button.tooltip = self.texts("ui.run.help")
        self._load()

    def _rebuild_model(self) -> None:
        old = self.model
        self.model = ModelSection(self.texts, self._field_changed, self._language, self._spec.model, self._namespace)
        self.model.backend_field.widget.observe(self._backend_changed, names="value")
        self.sections[0] = self.model
        children = list(self._tabs.children)
        children[0] = self.model.box
        selected = self._tabs.selected_index
        self._tabs.children = children
        self._tabs.set_title(0, self.texts("ui.tab.model"))
        self._tabs.selected_index = selected
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
        self._refresh()

    # the two views ---------------------------------------------------------------------------------------------------
    def _field_changed(self, section: Section, field: Field) -> None:
        if self._quiet:
            return
        try:
            section.store(self._spec, field)
        except FieldValueError as exc:
            field.problem(self.texts("ui.value.invalid", error=str(exc)))
        else:
            field.problem(None)
        self._text_source = None
        self._refresh()

    def _backend_changed(self, change: Any) -> None:
        if self._quiet or change["new"] == self._spec.model:
            return
        keep = accepted_keys(change["new"])
        self._spec.model = change["new"]
        self._spec.model_args = {k: v for k, v in self._spec.model_args.items() if k in keep}
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
        with self._quietly():
            self.command_box.value = self.command
        self._findings = self._check()
        self._show_findings(self._findings)

    def _check(self) -> list[Finding]:
        source: RunSpec | str = self._text_source if self._text_source is not None else self._spec
        try:
            return check(source, namespace=self._namespace, tasks=self.tasks.checkable(self._spec))
        except MeraError:
            pass
        except Exception as exc:  # a failing check must not break the form: say so and go on
            return [Finding("error", "check-failed", f"the check failed: {type(exc).__name__}: {exc}", "")]
        try:
            return check(self._spec, namespace=self._namespace, tasks=False)
        except Exception as exc:
            return [Finding("error", "check-failed", f"the check failed: {type(exc).__name__}: {exc}", "")]

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
        if self._spec.tasks and not self.tasks.checkable(self._spec):
            notes.append(("info", self.texts("ui.tasks.unchecked")))
        self.tasks.tasks.show(by_field.get(id(self.tasks.tasks), []))
        if notes:
            self.tasks.tasks.note.value += findings_html([], notes)
        counts = {level: sum(f.level == level for f in findings) for level in ("error", "warning", "info")}
        summary = (self.texts("ui.findings.summary", errors=counts["error"], warnings=counts["warning"],
                              infos=counts["info"]) if findings else self.texts("ui.findings.none"))
        color = "#c62828" if counts["error"] else "#b26a00" if counts["warning"] else "#2e7d32"
        self._summary.value = (f'<div style="color:{color};font-weight:bold">{html.escape(summary)}</div>'
                               + findings_html(general))

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
        """Run the spec with ``mera_magic.run`` below the panel; returns its result (None when it failed)."""
        from ..runner import run as runner

        self.output.clear_output()
        with self.output:
            if any(f.level == "error" for f in self._findings):
                print(self.texts("ui.run.blocked"))
                return None
            try:
                result = runner(self.spec)
            except MeraError as exc:
                print("\n".join(line for line in exc._render_traceback_()))
                return None
            if result is not None:
                from IPython.display import display

                display(result)
            return result

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
        bundle["text/plain"] = fallback_text(title, self.command, self._findings)
        bundle["text/html"] = fallback_html(title, self.command, self._findings)
        return bundle


def panel(spec_or_text: RunSpec | str | None = None, *, namespace: Optional[Mapping[str, Any]] = None,
          language: Optional[str] = None) -> Panel:
    """A form for an lm_eval run that shows, and edits, the exact ``%%mera`` command.

    ``spec_or_text`` is a :class:`~mera_magic.RunSpec`, a command text (parsed with ``namespace`` for ``$VAR``),
    or None for an empty ``--model hf`` run.  The language is the session's (``%config MeraMagic.language``)
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
    return Panel(spec, namespace=namespace, text=text, language=language)
