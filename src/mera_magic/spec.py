"""``RunSpec``: the one data model of a run.

Text, checks, widgets and the runner all speak it::

    cell text --parse--> RunSpec --check--> findings
                            |
                            +--run--> RunResult

Fields
------
env
    The ``NAME=VALUE`` variables set for this run only (values after ``$VAR`` expansion).
model
    The lm_eval backend name (``hf``, ``vllm``, ``local-completions``, ...).
model_args
    The ``--model_args`` as a dict with typed values (``{"pretrained": "x", "dtype": "bfloat16",
    "parallelize": True, "max_length": 15000}``).
tasks
    The ``--tasks`` list, in order, empty names dropped (``ruclevr,,ruvqa`` is two tasks, as in lm_eval).
options
    Every other lm_eval option that was given, keyed by lm_eval's own argparse destination name
    (``num_fewshot``, ``batch_size``, ``output_path``, ``log_samples``, ``seed``, ``gen_kwargs``,
    ``apply_chat_template``, ...), with the value the installed lm_eval's parser produces.  Options that
    were not given are absent: lm_eval's defaults apply.
launcher
    The words before the lm_eval program when it is started through a launcher, e.g.
    ``["accelerate", "launch", "--num_processes", "2"]``; empty for a plain ``lm_eval`` command.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from .secrets import MASK, is_secret_name, mask_data, mask_mapping, mask_text

__all__ = ["MASK", "MODEL_NAME_KEYS", "RunSpec", "is_secret_name", "sanitize_model_name"]

#: the model_args keys lm_eval names a run's output folder after, in its order of preference
MODEL_NAME_KEYS = ("peft", "delta", "pretrained", "model", "path", "engine")
_UNSAFE_IN_FOLDER_NAME = re.compile(r"[\"<>:/|\\?*\[\]]+")


#: RunSpec -> command text; registered by :mod:`mera_magic.command` (which knows the installed lm_eval's flags), so
#: this module stays plain data and imports nothing above it
_render: Callable[..., str] | None = None


def register_renderer(render: Callable[..., str]) -> None:
    """Set the function behind :meth:`RunSpec.to_command` (called once by :mod:`mera_magic.command`)."""
    global _render
    _render = render


def sanitize_model_name(name: str) -> str:
    """The output sub-folder lm_eval makes for a model name (``Qwen/Qwen2-0.5B`` -> ``Qwen__Qwen2-0.5B``)."""
    return _UNSAFE_IN_FOLDER_NAME.sub("__", name)


@dataclass(repr=False)
class RunSpec:
    """One lm_eval run, as a MERA guide command describes it.  See the module docstring for the fields."""

    model: str = "hf"
    model_args: dict[str, Any] = field(default_factory=dict)
    tasks: list[str] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    launcher: list[str] = field(default_factory=list)

    def to_command(self, *, reveal_secrets: bool = False, width: int = 100) -> str:
        """Return a normalised, copy-pasteable shell command for this spec.

        ``parse(spec.to_command())`` gives back an equal spec.  Secret values (``HF_TOKEN``, API keys,
        ``auth_token``) are written as ``$NAME`` references unless ``reveal_secrets`` is true, so the text
        can be shown and saved; the reference is resolved again when the command is parsed.
        """
        if _render is None:  # pragma: no cover - mera_magic/__init__ imports the command package
            import importlib

            importlib.import_module("mera_magic.command")
        assert _render is not None
        return _render(self, reveal_secrets=reveal_secrets, width=width)

    def remember_argv(self, argv: list[str]) -> None:
        """Keep the lm_eval argv this spec was parsed from (see :meth:`source_argv`)."""
        self._source = (self._fingerprint(), list(argv))

    def source_argv(self) -> list[str] | None:
        """The lm_eval argv this spec was parsed from while it is unedited, else None (then it is rendered)."""
        source = getattr(self, "_source", None)
        if source is None or source[0] != self._fingerprint():
            return None
        return list(source[1])

    def _fingerprint(self) -> str:
        return json.dumps([self.model, self.model_args, self.tasks, self.options], sort_keys=True, default=repr)

    def copy(self) -> RunSpec:
        """A deep copy (specs are plain data; edit a copy, not a shared one)."""
        return copy.deepcopy(self)

    def masked(self) -> RunSpec:
        """A copy with every secret value replaced by a mask, for display and for saving."""
        spec = self.copy()
        spec.env = mask_mapping(spec.env)
        spec.model_args = mask_mapping(spec.model_args)
        spec.options = {k: mask_data(v) for k, v in spec.options.items()}
        spec.launcher = [mask_text(w) for w in spec.launcher]
        return spec

    def __repr__(self) -> str:
        """The fields with every secret masked (a repr is shown and saved in the notebook)."""
        m = self.masked()
        return (f"RunSpec(model={m.model!r}, model_args={m.model_args!r}, tasks={m.tasks!r}, "
                f"options={m.options!r}, env={m.env!r}, launcher={m.launcher!r})")

    # conveniences used by checks, runner and display --------------------------------------------------
    def option(self, name: str, default: Any = None) -> Any:
        """The value of an lm_eval option, or ``default`` when it was not given."""
        return self.options.get(name, default)

    @property
    def model_name(self) -> str | None:
        """The model name lm_eval derives the output sub-folder from (peft, delta, pretrained, model, path, engine)."""
        for key in MODEL_NAME_KEYS:
            value = self.model_args.get(key)
            if value:
                return str(value)
        return None

    @property
    def in_process(self) -> bool:
        """False when the command must run as a child process (a launcher such as ``accelerate launch``)."""
        return not self.launcher
