"""One labelled input of the panel: a label, the input widget, a help text, and a note for check findings.

A field holds text (what its value looks like in the command) or None for "not given"; converting that text
to a RunSpec value is the section's job (:mod:`._convert`).  Kinds:

- :class:`TextField`: free text (``Text``), the default shown as placeholder;
- :class:`ComboField`: free text with suggestions (``Combobox``: batch size, device);
- :class:`ChoiceField`: one of a list (``Dropdown``), with a "not given (default: ...)" entry; a value
  outside the list is added to it, so nothing is lost;
- :class:`SwitchField`: a bare flag (``Checkbox``);
- :class:`FlagWithValueField`: a flag that may stand alone or take a value (``--apply_chat_template [name]``);
- :class:`SecretField`: a ``Password`` input whose value is handed to a callback and cleared at once, so it
  never stays in widget state (which notebooks save).
"""

from __future__ import annotations

import html
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, Callable, Optional

import ipywidgets as W

from ..findings import Finding

LABEL_WIDTH = "250px"
INPUT_WIDTH = "340px"
_COLORS = {"error": "#c62828", "warning": "#b26a00", "info": "#546e7a"}
_ICONS = {"error": "✖", "warning": "⚠", "info": "ℹ"}


def findings_html(findings: Sequence[Finding], extra: Sequence[tuple[str, str]] = ()) -> str:
    """Findings (and extra ``(level, message)`` notes) as small coloured lines."""
    lines = [(f.level, f.message, f.code) for f in findings] + [(lvl, msg, "") for lvl, msg in extra]
    parts = []
    for level, message, code in lines:
        color = _COLORS.get(level, "#333")
        tag = f' <span style="opacity:.6">[{html.escape(code)}]</span>' if code else ""
        parts.append(f'<div class="mera-finding mera-{level}" data-code="{html.escape(code)}" '
                     f'style="color:{color};font-size:90%;line-height:1.3">{_ICONS.get(level, "")} '
                     f"{html.escape(message)}{tag}</div>")
    return "".join(parts)


def close_tree(widget: W.Widget) -> None:
    """Close a widget and every widget inside it."""
    for child in getattr(widget, "children", ()):
        close_tree(child)
    widget.close()


class Field(ABC):
    """The common part: label, help, note; subclasses provide ``widget``, ``get`` and ``set``."""

    widget: W.Widget

    def __init__(self, where: str, label: str, help_text: str = "") -> None:
        self.where = where
        self.label = W.HTML(layout=W.Layout(width=LABEL_WIDTH, min_width=LABEL_WIDTH))
        self.help = W.HTML(layout=W.Layout(flex="1 1 200px", min_width="200px", margin="0 0 0 8px"))
        self.note = W.HTML(layout=W.Layout(margin=f"0 0 2px {LABEL_WIDTH}"))
        self._label_text = label
        self._help_text = help_text
        self._problem: Optional[str] = None
        self._findings: list[Finding] = []
        self.row = W.VBox(layout=W.Layout(margin="1px 0"))
        self.row.add_class("mera-field")
        self.row.add_class("mera-field-" + where.replace(".", "-").replace("_", "-"))
        self._draw_label()

    def _finish(self, inputs: W.Widget) -> None:
        self.row.children = [W.HBox([self.label, inputs, self.help], layout=W.Layout(align_items="center")),
                             self.note]

    def _draw_label(self) -> None:
        name = html.escape(self._label_text)
        self.label.value = f'<span title="{html.escape(self._help_text)}" style="font-family:monospace">{name}</span>'
        self.help.value = (f'<div style="color:#666;font-size:85%;line-height:1.25;padding:2px 0">'
                           f"{html.escape(self._help_text)}</div>")

    def relabel(self, label: str, help_text: str) -> None:
        """New label and help texts (the interface language changed)."""
        self._label_text, self._help_text = label, help_text
        self._draw_label()

    # findings and value problems ------------------------------------------------------------------------------
    def show(self, findings: Sequence[Finding]) -> None:
        """Show these check findings under the field (replacing the previous ones)."""
        self._findings = list(findings)
        self._draw_note()

    def problem(self, message: Optional[str]) -> None:
        """Show (or clear, with None) a problem reading the field's own text."""
        self._problem = message
        self._draw_note()

    def _draw_note(self) -> None:
        extra = [("error", self._problem)] if self._problem else []
        self.note.value = findings_html(self._findings, extra)

    @property
    def findings(self) -> list[Finding]:
        """The findings shown now."""
        return list(self._findings)

    # value ----------------------------------------------------------------------------------------------------
    @abstractmethod
    def get(self) -> Optional[str]:
        """The field's text, None when not given."""

    @abstractmethod
    def set(self, text: Optional[str]) -> None:
        """Show ``text`` (None: not given)."""

    def on_change(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` when the user changes the value."""
        self.widget.observe(lambda change: callback(), names="value")

    def close(self) -> None:
        """Close every widget of the field (their comms go away)."""
        close_tree(self.row)


class TextField(Field):
    """Free text; empty means not given."""

    def __init__(self, where: str, label: str, help_text: str = "", placeholder: str = "",
                 continuous: bool = True) -> None:
        super().__init__(where, label, help_text)
        self.widget = W.Text(placeholder=placeholder, continuous_update=continuous,
                             layout=W.Layout(width=INPUT_WIDTH, flex="0 0 auto"))
        self._finish(self.widget)

    def get(self) -> Optional[str]:
        return self.widget.value if self.widget.value != "" else None

    def set(self, text: Optional[str]) -> None:
        self.widget.value = text or ""


class ComboField(TextField):
    """Free text with suggestions."""

    def __init__(self, where: str, label: str, help_text: str = "", placeholder: str = "",
                 options: Sequence[str] = ()) -> None:
        Field.__init__(self, where, label, help_text)
        self.widget = W.Combobox(placeholder=placeholder, options=tuple(options), ensure_option=False,
                                 continuous_update=True, layout=W.Layout(width=INPUT_WIDTH, flex="0 0 auto"))
        self._finish(self.widget)


class ChoiceField(Field):
    """One value of a list, or "not given"."""

    def __init__(self, where: str, label: str, help_text: str = "", options: Sequence[str] = (),
                 unset_label: str = "—") -> None:
        super().__init__(where, label, help_text)
        self._unset_label = unset_label
        self._options = list(options)
        self.widget = W.Dropdown(options=self._pairs(), value="", layout=W.Layout(width=INPUT_WIDTH, flex="0 0 auto"))
        self._finish(self.widget)

    def _pairs(self) -> list[tuple[str, str]]:
        return [(self._unset_label, "")] + [(o, o) for o in self._options]

    def get(self) -> Optional[str]:
        return self.widget.value if self.widget.value else None

    def set(self, text: Optional[str]) -> None:
        if text and text not in self._options:
            self._options.append(text)
            self.widget.options = self._pairs()
        self.widget.value = text or ""

    def relabel_unset(self, unset_label: str) -> None:
        """A new label for the "not given" entry."""
        value = self.widget.value
        self._unset_label = unset_label
        self.widget.options = self._pairs()
        self.widget.value = value


class SwitchField(Field):
    """A bare flag: "" when on, None when off."""

    def __init__(self, where: str, label: str, help_text: str = "") -> None:
        super().__init__(where, label, help_text)
        self.widget = W.Checkbox(value=False, indent=False, layout=W.Layout(width=INPUT_WIDTH, flex="0 0 auto"))
        self._finish(self.widget)

    def get(self) -> Optional[str]:
        return "" if self.widget.value else None

    def set(self, text: Optional[str]) -> None:
        self.widget.value = text is not None


class FlagWithValueField(Field):
    """A flag that may stand alone or take a value: "" when bare, the value, or None when off."""

    def __init__(self, where: str, label: str, help_text: str = "", placeholder: str = "") -> None:
        super().__init__(where, label, help_text)
        self.widget = W.Checkbox(value=False, indent=False, layout=W.Layout(width="30px"))
        self.value_widget = W.Text(placeholder=placeholder, continuous_update=True,
                                   layout=W.Layout(width="306px", flex="0 0 auto"))
        self._finish(W.HBox([self.widget, self.value_widget], layout=W.Layout(width=INPUT_WIDTH, flex="0 0 auto")))

    def get(self) -> Optional[str]:
        if not self.widget.value:
            return None
        return self.value_widget.value

    def set(self, text: Optional[str]) -> None:
        self.widget.value = text is not None
        self.value_widget.value = text or ""

    def on_change(self, callback: Callable[[], None]) -> None:
        def changed(change: Any) -> None:
            if change["owner"] is self.value_widget and not self.widget.value and change["new"]:
                self.widget.value = True  # typing a name turns the flag on (which calls back)
                return
            callback()

        self.widget.observe(changed, names="value")
        self.value_widget.observe(changed, names="value")

    def relabel_placeholder(self, placeholder: str) -> None:
        """A new placeholder for the value input."""
        self.value_widget.placeholder = placeholder


class SecretField(Field):
    """A password input: what is typed goes to ``store(text)`` and the input is emptied at once.

    The field shows only whether a value is set; "Forget" calls ``store(None)``.
    """

    def __init__(self, where: str, label: str, help_text: str, store: Callable[[Optional[str]], None],
                 texts: Callable[[str], str]) -> None:
        super().__init__(where, label, help_text)
        self._store = store
        self._texts = texts
        self._is_set = False
        self._given = False
        self.widget = W.Password(placeholder=texts("ui.secret.placeholder"), continuous_update=False,
                                 layout=W.Layout(width="155px"))
        self.status = W.HTML(layout=W.Layout(width="auto", margin="0 4px"))
        self.forget = W.Button(description=texts("ui.secret.forget"), layout=W.Layout(width="auto"),
                               tooltip=texts("ui.secret.forget"))
        self.forget.on_click(lambda _: self._store(None))
        self.widget.observe(self._typed, names="value")
        self._finish(W.HBox([self.widget, self.status, self.forget], layout=W.Layout(width=INPUT_WIDTH, flex="0 0 auto")))
        self.set(None)

    def _typed(self, change: Any) -> None:
        value = change["new"]
        if not value:
            return
        self.widget.value = ""  # never keep the secret in widget state
        self._store(value)

    def get(self) -> Optional[str]:
        """``""`` when the variable is given (its value is kept elsewhere), None when not."""
        return "" if self._given else None

    def set(self, text: Optional[str]) -> None:
        """Show whether a value is set (``text`` is only tested for being given and non-empty, never shown)."""
        self._given = text is not None
        self._is_set = bool(text)
        key = "ui.secret.set" if self._is_set else "ui.secret.unset"
        color = "#2e7d32" if self._is_set else "#666"
        self.status.value = f'<span style="color:{color};font-size:90%">{html.escape(self._texts(key))}</span>'
        self.forget.disabled = not self._given

    def on_change(self, callback: Callable[[], None]) -> None:
        """Secrets report through ``store``; nothing to observe here."""

    def relabel_texts(self) -> None:
        """Redraw the status, placeholder and button texts in the current language."""
        self.widget.placeholder = self._texts("ui.secret.placeholder")
        self.forget.description = self._texts("ui.secret.forget")
        self.set("x" if self._is_set else ("" if self._given else None))
