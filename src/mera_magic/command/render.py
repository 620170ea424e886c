"""RunSpec -> argv and a normalised, copy-pasteable command text."""

from __future__ import annotations

from typing import Any

from ..lmeval.parser import lm_eval_options, option_info
from ..spec import MASK, RunSpec, is_secret_name
from .shell import quote
from .values import render_mapping


def _render_option(dest: str, value: Any) -> list[str]:
    info = option_info(dest)
    flag = info.flag if info else f"--{dest}"
    kind = info.kind if info else "value"
    if kind == "mapping":
        text = render_mapping(dest, value) if isinstance(value, dict) else str(value)
        return [flag, text] if text else []
    if kind == "switch":
        return [flag] if value else []
    if dest == "seed" and isinstance(value, (list, tuple)):
        items = ["None" if v is None else str(v) for v in value]
        return [flag, items[0] if len(set(items)) == 1 else ",".join(items)]
    if kind == "optional":
        if value is True or (info is not None and value == info.const):
            return [flag]
        if value is False or value is None:
            return [flag, "false"] if dest == "fewshot_as_multiturn" else []
        return [flag, str(value)]
    if isinstance(value, float) and value.is_integer():
        return [flag, str(int(value))]
    if isinstance(value, (dict, list)) and dest == "samples":
        import json

        return [flag, json.dumps(value)]
    if isinstance(value, (list, tuple)):
        return [flag, *map(str, value)]
    return [flag, str(value)]


def _argv_groups(spec: RunSpec, reveal_secrets: bool) -> list[list[str]]:
    """Each flag with its values: model, model_args, the options in the parser's order, tasks last."""
    groups = [["--model", spec.model]]
    model_args = spec.model_args
    if not reveal_secrets:
        model_args = {k: (MASK if is_secret_name(k) and v else v) for k, v in model_args.items()}
    if model_args:
        groups.append(["--model_args", render_mapping("model_args", model_args)])
    order = [info.dest for info in lm_eval_options()]
    for dest in sorted(spec.options, key=lambda d: order.index(d) if d in order else len(order)):
        words = _render_option(dest, spec.options[dest])
        if words:
            groups.append(words)
    if spec.tasks:
        groups.append(["--tasks", ",".join(spec.tasks)])
    return groups


def spec_to_argv(spec: RunSpec, *, reveal_secrets: bool = True) -> list[str]:
    """The lm_eval arguments (no program word, no environment) that stand for ``spec``."""
    return [word for group in _argv_groups(spec, reveal_secrets) for word in group]


def render_command(spec: RunSpec, *, reveal_secrets: bool = False, width: int = 100) -> str:
    """A shell command for ``spec``: environment, launcher, ``lm_eval`` and flags, wrapped with ``\\``."""
    env_words = []
    for name, value in spec.env.items():
        if is_secret_name(name) and value and not reveal_secrets:
            env_words.append(f"{name}=${name}")
        else:
            env_words.append(f"{name}={quote(value)}")
    program = [*map(quote, spec.launcher), "-m", "lm_eval"] if spec.launcher else ["lm_eval"]
    groups = _argv_groups(spec, reveal_secrets)
    lines: list[str] = []
    current = " ".join(env_words + program)
    for group in groups:
        text = " ".join(quote(w) for w in group)
        if len(current) + 1 + len(text) > width and current:
            lines.append(current)
            current = text
        else:
            current = f"{current} {text}"
    lines.append(current)
    return " \\\n".join(lines)
