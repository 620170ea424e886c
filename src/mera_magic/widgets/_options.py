"""The general lm_eval flags: one field per option of the installed lm_eval (its parser is the source).

The flags MERA runs use (few-shot, batch size, limit, chat template, system instruction, gen kwargs, output,
samples, predict-only, caches, seed, verbosity) come first, in :data:`mera_magic.texts.MAIN_OPTIONS` order; every
other option of the installed lm_eval is under "Advanced", with the launcher, so any command round-trips.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Callable, Optional

import ipywidgets as W

from .. import texts as T
from ..lmeval.parser import OptionInfo, lm_eval_options
from ..spec import RunSpec
from ._convert import bare_or_text, launcher_text, launcher_value, option_text, option_value
from ._fields import ChoiceField, ComboField, Field, FlagWithValueField, SwitchField, TextField
from ._section import Section, Texts

#: options that other parts of the panel show
ELSEWHERE = frozenset({"model", "model_args", "tasks", "include_path"})
#: options edited as free text with suggestions
_COMBO = frozenset({"batch_size", "device"})


def option_help(info: OptionInfo, language: str) -> str:
    """Our help text for an option, or the installed lm_eval's own when we have none."""
    key = f"options.{info.dest}"
    return T.text(key, language) if key in T.TEXTS else info.help


class OptionsSection(Section):
    """The general flags and the launcher."""

    def __init__(self, texts: Texts, changed: Callable[[Section, Field], None], language: str,
                 namespace: Optional[Mapping[str, Any]] = None) -> None:
        super().__init__(texts, changed, namespace)
        self.infos = {i.dest: i for i in lm_eval_options() if i.dest not in ELSEWHERE}
        main: list[Field] = []
        advanced: list[Field] = []
        order = [d for d in T.MAIN_OPTIONS if d in self.infos]
        for dest in order + [d for d in self.infos if d not in order]:
            field = self.add(self._field(self.infos[dest], language))
            (main if dest in order else advanced).append(field)
        self.launcher = self.add(TextField("launcher", texts("ui.launcher"), texts("ui.launcher.help"),
                                           placeholder="accelerate launch --num_processes 2", continuous=False))
        advanced.append(self.launcher)
        self.advanced = W.Accordion(children=[W.VBox([f.row for f in advanced])], selected_index=None)
        self.advanced.set_title(0, texts("ui.advanced") + f" ({len(advanced)})")
        self.box = W.VBox([*[f.row for f in main], self.advanced])

    def _field(self, info: OptionInfo, language: str) -> Field:
        where = f"options.{info.dest}"
        help_text = option_help(info, language)
        default = info.default
        not_given = self.texts("ui.not_given") + (f" ({self.texts('ui.default')}: {default})"
                                                  if default not in (None, "", False) else "")
        choices = list(T.choices(where, info.choices or ()))
        if info.kind == "switch":
            return SwitchField(where, info.flag, help_text)
        if info.kind == "optional" and info.dest == "apply_chat_template":
            return FlagWithValueField(where, info.flag, help_text, placeholder=self.texts("ui.chat_template.name"))
        if info.kind == "optional":
            options = choices or [str(info.const).lower(), "false"]
            return ChoiceField(where, info.flag, help_text, options, unset_label=f"— {not_given}")
        if info.dest in _COMBO:
            return ComboField(where, info.flag, help_text, placeholder=not_given, options=choices)
        if choices:
            return ChoiceField(where, info.flag, help_text, choices, unset_label=f"— {not_given}")
        return TextField(where, info.flag, help_text, placeholder=not_given)

    def load(self, spec: RunSpec) -> None:
        """Show the options and the launcher of ``spec``."""
        for where, field in self.fields.items():
            if field is self.launcher:
                field.set(launcher_text(spec.launcher) or None)
                continue
            dest = where.split(".", 1)[1]
            if dest not in spec.options:
                field.set(None)
                continue
            value = spec.options[dest]
            if isinstance(field, ChoiceField):
                field.set(bare_or_text(dest, value))
            else:
                field.set(option_text(dest, value))

    def store(self, spec: RunSpec, field: Field) -> None:
        """Write one option (or the launcher) into ``spec``."""
        text = field.get()
        if field is self.launcher:
            spec.launcher = launcher_value(text or "")
            return
        dest = field.where.split(".", 1)[1]
        if text is None:
            spec.options.pop(dest, None)
        else:
            spec.options[dest] = option_value(dest, text)
