"""A field's text <-> the RunSpec value it stands for, through the installed lm_eval's own parser.

Every field holds the text its value has in the command (``bfloat16``, ``15000``, ``do_sample=true``); reading a
field parses that text exactly as a whole command would be parsed (mera_magic's parser, which uses lm_eval's),
so the panel and the command text cannot disagree.  ``None`` stands for "not given".
"""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping
from typing import Any

from ..command import parse_command
from ..command.render import spec_to_argv
from ..command.shell import quote
from ..command.values import render_value
from ..errors import ParseError
from ..lmeval.parser import OptionInfo, option_info
from ..spec import RunSpec

_MISSING = object()


class FieldValueError(ValueError):
    """A field's text cannot be read as a value (the message says why, in lm_eval's words)."""


def model_arg_text(value: Any) -> str:
    """The text of one ``--model_args`` value, as it is written in ``key=value`` (JSON for dicts and lists)."""
    if isinstance(value, (dict, list)):
        try:
            return json.dumps(value, ensure_ascii=False)
        except (TypeError, ValueError):
            pass
    return render_value(value)


def _json_container(text: str) -> Any:
    stripped = text.strip()
    if not stripped.startswith(("{", "[")):
        return _MISSING
    try:
        return json.loads(stripped)
    except ValueError:
        try:
            return ast.literal_eval(stripped)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return _MISSING


def model_arg_value(key: str, text: str) -> Any:
    """The typed value lm_eval gives ``key=<text>`` in ``--model_args``.

    Tried in turn: ``key=<text>`` as written; a JSON object or list as the whole ``--model_args`` JSON (the only
    way lm_eval takes dict values); the text quoted, as a plain string (for values with commas).
    """
    candidates = [quote(f"{key}={text}")]
    container = _json_container(text)
    if container is not _MISSING:
        candidates.append(quote(json.dumps({key: container}, ensure_ascii=False)))
    candidates.append(quote(f"{key}={render_value(text)}"))
    error = f"cannot read `{key}={text}`"
    for candidate in candidates:
        try:
            spec = parse_command(f"lm_eval --model_args {candidate}").spec
        except ParseError as exc:
            error = exc.message
            continue
        if list(spec.model_args) == [key]:
            return spec.model_args[key]
        error = f"`{key}={text}` is read as several keys ({', '.join(spec.model_args)}); quote the value"
    raise FieldValueError(error)


def _option(dest: str) -> OptionInfo:
    info = option_info(dest)
    if info is None:
        raise FieldValueError(f"`--{dest}` is not an option of the installed lm_eval")
    return info


def option_value(dest: str, text: str) -> Any:
    """The value the installed lm_eval's parser gives ``--<dest> <text>`` (as RunSpec.options holds it).

    An empty ``text`` of an option that may stand alone (``--apply_chat_template``) gives the bare flag's value.
    """
    info = _option(dest)
    words = f"lm_eval {info.flag}" if text == "" and info.kind in ("switch", "optional") else \
        f"lm_eval {info.flag} {quote(text)}"
    try:
        spec = parse_command(words).spec
    except ParseError as exc:
        raise FieldValueError(exc.message) from None
    value = spec.options.get(dest, _MISSING)
    if value is _MISSING:  # the parser's value equals "not given" (e.g. --fewshot_as_multiturn false in 0.4.4)
        raise FieldValueError(f"`{info.flag} {text}` is not a value lm_eval accepts")
    return value


def option_text(dest: str, value: Any) -> str | None:
    """The text of an option's value as the command writes it; ``""`` for a bare flag, None when it is not written."""
    _option(dest)  # raises for an option the installed lm_eval does not have
    argv = spec_to_argv(RunSpec(options={dest: value}))[2:]
    if not argv:
        return None
    if len(argv) == 1:
        return ""
    return " ".join(argv[1:])


def bare_or_text(dest: str, value: Any) -> str | None:
    """For options that may stand alone: a text that reads back as ``value`` (the const as a word for a bare flag)."""
    text = option_text(dest, value)
    if text != "":
        return text
    info = _option(dest)
    for candidate in (str(info.const).lower(), str(info.const), "true"):
        try:
            if option_value(dest, candidate) == value:
                return candidate
        except FieldValueError:
            continue
    return text


def env_text(value: str) -> str:
    """The text of an environment value in a field: the value itself, ``""`` for an empty one."""
    return '""' if value == "" else value


def env_value(text: str) -> str:
    """The value of an environment field's text (``""`` or ``''`` for an empty value)."""
    return "" if text.strip() in ('""', "''") else text


def env_words(env: Mapping[str, str], secret: Any) -> str:
    """``NAME=VALUE`` words for the "other variables" field; secrets as ``NAME=$NAME``."""
    return " ".join(f"{name}=${name}" if secret(name) and value else f"{name}={quote(value)}"
                    for name, value in env.items())


def parse_env_words(text: str, namespace: Mapping[str, Any] | None, secrets: Mapping[str, str]) -> dict[str, str]:
    """The variables of a ``NAME=VALUE ...`` text, ``$VAR`` expanded as in a command."""
    if not text.strip():
        return {}
    try:
        parsed = parse_command(f"{text} lm_eval", namespace, secrets)
    except ParseError as exc:
        raise FieldValueError(exc.message) from None
    if parsed.spec.launcher or parsed.spec.options or parsed.spec.model_args:
        raise FieldValueError("write NAME=VALUE words only")
    return parsed.spec.env


def launcher_text(launcher: list[str]) -> str:
    """The launcher words as one line (``accelerate launch --num_processes 2``)."""
    return " ".join(quote(w) for w in launcher)


def launcher_value(text: str) -> list[str]:
    """The launcher words of a line; checked by parsing it in front of ``-m lm_eval``."""
    if not text.strip():
        return []
    try:
        spec = parse_command(f"{text} -m lm_eval").spec
    except ParseError as exc:
        raise FieldValueError(exc.message) from None
    if not spec.launcher:
        raise FieldValueError("not a launcher (e.g. accelerate launch --num_processes 2)")
    return spec.launcher


def tasks_text(tasks: list[str]) -> str:
    """The ``--tasks`` value."""
    return ",".join(tasks)


def tasks_value(text: str) -> list[str]:
    """The task list of a ``--tasks`` text (empty names dropped, as lm_eval does)."""
    return [name.strip() for name in text.split(",") if name.strip()]
