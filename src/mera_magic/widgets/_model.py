"""The model part of the panel: the backend selector and the chosen backend's ``--model_args`` as typed fields.

The field set is the installed lm_eval backend's constructor (:func:`mera_magic.lmeval.backends.get_backend`), so it
cannot drift from the lm_eval that will run; kinds come from each parameter's annotation and default, choices
and help texts from :mod:`mera_magic.texts`.  Required parameters and those the MERA guide describes come
first; the rest are under "Advanced".  Keys the backend does not name go to "Other model_args", where the
check says what lm_eval will do with them.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any, Callable, Optional

import ipywidgets as W

from .. import texts as T
from ..command import parse_command
from ..command.shell import quote
from ..command.values import render_mapping
from ..errors import ParseError
from ..lmeval.backends import Backend, BackendArg, backend_names, get_backend
from ..spec import RunSpec, is_secret_name
from ._convert import FieldValueError, model_arg_text, model_arg_value
from ._fields import ChoiceField, ComboField, Field, SecretField, TextField
from ._section import Section, Texts

_LITERAL = re.compile(r"Literal\[([^\]]*)\]")
_QUOTED = re.compile(r"""['"]([^'"]*)['"]""")


def ordered_backends(current: Optional[str] = None) -> list[str]:
    """The installed lm_eval's backends, the common MERA ones first (and ``current`` if it is not registered)."""
    names = backend_names()
    first = [n for n in T.COMMON_BACKENDS if n in names]
    rest = [n for n in names if n not in first]
    out = first + rest
    if current and current not in out:
        out.insert(0, current)
    return out


def literal_choices(annotation: Optional[str]) -> list[str]:
    """The strings of a ``Literal[...]`` annotation (``Literal['default', 'causal']`` -> default, causal)."""
    if not annotation:
        return []
    return [v for group in _LITERAL.findall(annotation) for v in _QUOTED.findall(group)]


def arg_kind(arg: BackendArg, choices: list[str]) -> str:
    """How a parameter is edited: ``secret``, ``choice``, ``bool``, ``boolish`` (bool or text) or ``text``."""
    if is_secret_name(arg.name):
        return "secret"
    annotation = (arg.annotation or "").replace(" ", "")
    parts = set(re.split(r"[|\[\],]", annotation)) - {""}
    is_bool = "bool" in parts or isinstance(arg.default, bool)
    if is_bool and "str" in parts:
        return "boolish"
    if is_bool:
        return "bool"
    if choices:
        return "choice"
    return "text"


def default_text(arg: BackendArg) -> str:
    """A parameter's default as it would be written in --model_args (``auto``, not ``'auto'``)."""
    if arg.default is not None or arg.default_text == "None":
        return model_arg_text(arg.default)
    return arg.default_text or ""


def main_args(backend: Backend, offered: list[str]) -> list[str]:
    """The parameters shown first: required ones, then those the MERA guide describes, in its order."""
    names = backend.arg_names + offered
    family = T.family(backend.name, backend.arg_names)
    guide = T.MODEL_ARG_ORDER.get(backend.name) or T.MODEL_ARG_ORDER.get(family or "", ())
    required = [a.name for a in backend.args if a.required]
    return list(dict.fromkeys(required + [n for n in guide if n in names]))


def offered_forwarded(backend: Backend) -> list[str]:
    """Keys the MERA guide uses that this backend does not name but forwards to its loader."""
    if backend.extra_keys != "forwarded":
        return []
    names = set(backend.arg_names)
    return [key for key, marker in T.FORWARDED_KEYS.items() if marker in names and key not in names]


#: constructor parameters lm_eval fills from its own flags (``simple_evaluate`` passes ``batch_size``,
#: ``max_batch_size`` and ``device`` to the model; ``--trust_remote_code`` sets the model arg)
_FROM_FLAGS = ("batch_size", "max_batch_size", "device", "trust_remote_code")


def option_twins(backend: Backend) -> set[str]:
    """Constructor parameters lm_eval fills from its own flags of the same name (``--batch_size``, ``--device``):
    the Options tab edits those, so the model section does not repeat them (a value given in --model_args still
    round-trips, through "Other model_args")."""
    from ..lmeval.parser import lm_eval_options

    flags = {o.dest for o in lm_eval_options()}
    return {name for name in _FROM_FLAGS if name in flags} & set(backend.arg_names)


def accepted_keys(name: str) -> set[str]:
    """The keys a backend's panel has fields for (its parameters and the forwarded keys it offers)."""
    backend = get_backend(name)
    if backend is None:
        return set()
    return set(backend.arg_names) | set(offered_forwarded(backend))


class ModelSection(Section):
    """Backend selector and model_args fields for one backend (rebuilt when the backend changes)."""

    def __init__(self, texts: Texts, changed: Callable[[Section, Field], None], language: str, model: str,
                 namespace: Optional[Mapping[str, Any]] = None) -> None:
        super().__init__(texts, changed, namespace)
        self.language = language
        self.model = model
        self.backend = get_backend(model)
        self.secret_values: dict[str, Any] = {}
        names = ordered_backends(model)
        self.backend_field = ChoiceField("model", "--model", texts("options.model"), names,
                                         unset_label=f"({texts('ui.default')}: hf)")
        self.backend_field.widget.options = [(n, n) for n in names]
        self.backend_field.widget.value = model
        self.fields["model"] = self.backend_field  # its changes are observed by the panel itself
        self.arg_fields: dict[str, Field] = {}
        main: list[Field] = []
        advanced: list[Field] = []
        self.required: list[str] = []
        if self.backend is not None:
            from ..checks_values import required_model_args

            self.required = required_model_args(model)
            offered = offered_forwarded(self.backend)
            first = list(dict.fromkeys(self.required + main_args(self.backend, offered)))
            twins = option_twins(self.backend)
            args = [a for a in self.backend.args if a.name not in twins]
            args += [BackendArg(k, None, None, None, False, "forwarded") for k in offered]
            for arg in sorted(args, key=lambda a: first.index(a.name) if a.name in first else len(first)):
                field = self.add(self._arg_field(arg))
                self.arg_fields[arg.name] = field
                (main if arg.name in first else advanced).append(field)
        self.other = self.add(TextField("model_args.*", texts("ui.other_model_args"),
                                        texts("ui.other_model_args.help"), placeholder="key=value,key2=value2"))
        advanced.append(self.other)
        self.advanced = W.Accordion(children=[W.VBox([f.row for f in advanced])], selected_index=None)
        self.advanced.set_title(0, texts("ui.advanced") + f" ({len(advanced)})")
        self.box = W.VBox([self.backend_field.row, *[f.row for f in main], self.advanced])

    # building ------------------------------------------------------------------------------------------------
    def _help(self, arg: BackendArg) -> str:
        fallback = ""
        if self.backend is not None:
            where = "forwarded" if arg.defined_in == "forwarded" else arg.defined_in
            fallback = f"{self.backend.name} ({where})"
        return T.model_arg_help(self.model, arg.name, self.language,
                                self.backend.arg_names if self.backend else (), fallback)

    def _arg_field(self, arg: BackendArg) -> Field:
        where = f"model_args.{arg.name}"
        help_text = self._help(arg)
        required = arg.required or arg.name in self.required
        shown_default = default_text(arg) if arg.default_text is not None else ""
        default = self.texts("ui.required") if required else (
            f"{self.texts('ui.default')}: {shown_default}" if shown_default and shown_default != "None" else "")
        label = arg.name + (" *" if required else "")
        unset = f"— ({default})" if default else f"— {self.texts('ui.not_given')}"
        choices = list(T.choices(where, literal_choices(arg.annotation)))
        kind = arg_kind(arg, choices)
        if kind == "secret":
            return SecretField(where, label, help_text, functools.partial(self._store_secret, arg.name), self.texts)
        if kind == "bool":
            return ChoiceField(where, label, help_text, ["True", "False"], unset_label=unset)
        if kind == "boolish":
            return ComboField(where, label, help_text, placeholder=default, options=["True", "False", *choices])
        if kind == "choice":
            return ChoiceField(where, label, help_text, choices, unset_label=unset)
        return TextField(where, label, help_text, placeholder=default)

    # secrets ---------------------------------------------------------------------------------------------------
    def _store_secret(self, key: str, value: Optional[str]) -> None:
        if value is None:
            self.secret_values.pop(key, None)
        else:
            self.secret_values[key] = value
        field = self.arg_fields[key]
        field.set(value)
        self._changed(self, field)

    # RunSpec <-> fields --------------------------------------------------------------------------------------------
    def load(self, spec: RunSpec) -> None:
        """Show the backend and the model_args of ``spec``."""
        self.backend_field.widget.value = spec.model
        for key, field in self.arg_fields.items():
            if key not in spec.model_args:
                field.set(None)
                self.secret_values.pop(key, None) if isinstance(field, SecretField) else None
            elif isinstance(field, SecretField):
                value = spec.model_args[key]
                self.secret_values[key] = value
                field.set("" if value is None else str(value))
            else:
                field.set(model_arg_text(spec.model_args[key]))
        extra = {k: v for k, v in spec.model_args.items() if k not in self.arg_fields}
        self.other.set(render_mapping("model_args", extra) if extra else None)

    def store(self, spec: RunSpec, field: Field) -> None:
        """Write one field's value into ``spec.model_args``."""
        if field is self.other:
            extra = self._parse_other(field.get() or "")
            for key in [k for k in spec.model_args if k not in self.arg_fields]:
                del spec.model_args[key]
            spec.model_args.update(extra)
            return
        key = field.where.split(".", 1)[1]
        if isinstance(field, SecretField):
            if field.get() is None:
                spec.model_args.pop(key, None)
            else:
                spec.model_args[key] = self.secret_values.get(key, "")
            return
        text = field.get()
        if text is None:
            spec.model_args.pop(key, None)
        else:
            spec.model_args[key] = model_arg_value(key, text)

    def _parse_other(self, text: str) -> dict[str, Any]:
        if not text.strip():
            return {}
        try:
            extra = parse_command(f"lm_eval --model_args {quote(text)}").spec.model_args
        except ParseError as exc:
            raise FieldValueError(exc.message) from None
        taken = [k for k in extra if k in self.arg_fields]
        if taken:
            raise FieldValueError(f"`{taken[0]}` has its own field above")
        return extra

    def fallback_field(self, where: str) -> Optional[Field]:
        """Findings about a model_args key without a field of its own go to "Other model_args"."""
        return self.other if where.startswith("model_args.") else None
