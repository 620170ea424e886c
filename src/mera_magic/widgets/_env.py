"""The environment part of the panel: the variables the MERA guide explains, secrets, and any others.

``CUDA_VISIBLE_DEVICES`` offers the GPUs that are really on the machine (:mod:`._gpus`).  ``HF_TOKEN`` (and
``OPENAI_API_KEY``) are password inputs: the value goes to ``SESSION.secrets`` and the input is cleared at once,
so it is never in widget state, the command text (which says ``HF_TOKEN=$HF_TOKEN``) or the notebook.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, Callable, Optional

import ipywidgets as W

from .. import texts as T
from ..session import SESSION
from ..spec import RunSpec, is_secret_name
from ._convert import env_text, env_value, env_words, parse_env_words
from ._fields import LABEL_WIDTH, ChoiceField, Field, SecretField, TextField
from ._gpus import Gpu, detect_gpus
from ._section import Section, Texts

#: secret variables that always get a password input
SECRET_VARS = ("HF_TOKEN", "OPENAI_API_KEY")


def remember_secrets(env: Mapping[str, str]) -> None:
    """Keep secret values of ``env`` in ``SESSION.secrets``, so ``$NAME`` in the command text resolves to them."""
    for name, value in env.items():
        if is_secret_name(name) and value:
            SESSION.secrets[name] = value


class EnvSection(Section):
    """Environment variables of the run."""

    def __init__(self, texts: Texts, changed: Callable[[Section, Field], None], language: str,
                 namespace: Optional[Mapping[str, Any]] = None, gpus: Optional[list[Gpu]] = None) -> None:
        super().__init__(texts, changed, namespace)
        self.gpus = detect_gpus() if gpus is None else gpus
        rows: list[W.Widget] = []
        for name in T.ENV_VARS + tuple(n for n in SECRET_VARS if n not in T.ENV_VARS):
            where = f"env.{name}"
            help_text = T.text(where, language)
            if is_secret_name(name):
                field: Field = SecretField(where, name, help_text, functools.partial(self._store_secret, name), texts)
            elif name in ("TOKENIZERS_PARALLELISM",):
                field = ChoiceField(where, name, help_text, list(T.choices(where)),
                                    unset_label=f"— {texts('ui.not_given')}")
            else:
                field = TextField(where, name, help_text, placeholder=texts("ui.not_given"))
            self.add(field)
            rows.append(field.row)
            if name == "CUDA_VISIBLE_DEVICES":
                rows.append(self._gpu_row())
        self.other = self.add(TextField("env.*", texts("ui.other_env"), texts("env.other"), placeholder="PYTHONPATH=$PWD",
                                        continuous=False))
        rows.append(self.other.row)
        self.box = W.VBox(rows)

    def _gpu_row(self) -> W.Widget:
        if not self.gpus:
            return W.HTML(f'<div style="margin-left:{LABEL_WIDTH};color:#666;font-size:85%">'
                          f'{self.texts("ui.gpus.none")}</div>')
        self.gpu_buttons = []
        for gpu in self.gpus:
            button = W.ToggleButton(description=str(gpu.index), tooltip=gpu.name, layout=W.Layout(width="auto"))
            button.observe(lambda change, i=gpu.index: self._toggle_gpu(i, change["new"]), names="value")
            self.gpu_buttons.append(button)
        label = W.HTML(f'<span style="color:#666;font-size:85%">{self.texts("ui.gpus.found")} '
                       + ", ".join(f"{g.index}: {g.name}" for g in self.gpus) + "</span>")
        return W.HBox([*self.gpu_buttons, label], layout=W.Layout(margin=f"0 0 0 {LABEL_WIDTH}"))

    def _toggle_gpu(self, index: int, on: bool) -> None:
        field = self.fields["env.CUDA_VISIBLE_DEVICES"]
        current = [i for i in (field.get() or "").split(",") if i.strip()]
        if on and str(index) not in current:
            current.append(str(index))
        if not on and str(index) in current:
            current.remove(str(index))
        field.set(",".join(current) or None)

    def _sync_gpu_buttons(self, text: Optional[str]) -> None:
        chosen = set((text or "").split(","))
        for button in getattr(self, "gpu_buttons", []):
            button.value = button.description in chosen

    def _store_secret(self, name: str, value: Optional[str]) -> None:
        if value is None:
            SESSION.secrets.pop(name, None)
        else:
            SESSION.secrets[name] = value
        field = self.fields[f"env.{name}"]
        field.set(value)
        self._changed(self, field)

    def load(self, spec: RunSpec) -> None:
        """Show the environment of ``spec`` (secret values are kept in ``SESSION.secrets``, never shown)."""
        remember_secrets(spec.env)
        for where, field in self.fields.items():
            if field is self.other:
                continue
            name = where.split(".", 1)[1]
            value = spec.env.get(name)
            field.set(value if isinstance(field, SecretField) else (None if value is None else env_text(value)))
        self._sync_gpu_buttons(spec.env.get("CUDA_VISIBLE_DEVICES"))
        extra = {k: v for k, v in spec.env.items() if f"env.{k}" not in self.fields}
        self.other.set(env_words(extra, is_secret_name) or None)

    def store(self, spec: RunSpec, field: Field) -> None:
        """Write one variable (or the "other variables") into ``spec.env``."""
        if field is self.other:
            extra = parse_env_words(field.get() or "", self.namespace, SESSION.secrets)
            for name in [n for n in spec.env if f"env.{n}" not in self.fields]:
                del spec.env[name]
            remember_secrets(extra)
            spec.env.update(extra)
            return
        name = field.where.split(".", 1)[1]
        if isinstance(field, SecretField):
            if field.get() is None:
                spec.env.pop(name, None)
            else:
                spec.env[name] = SESSION.secrets.get(name, "")
            return
        text = field.get()
        if text is None:
            spec.env.pop(name, None)
        else:
            spec.env[name] = env_value(text)
        if name == "CUDA_VISIBLE_DEVICES":
            self._sync_gpu_buttons(text)

    def fallback_field(self, where: str) -> Optional[Field]:
        """Findings about other variables go to the "other variables" field."""
        return self.other if where.startswith("env.") else None
