"""Mapping-valued options (``--model_args``, ``--gen_kwargs``, ...): text <-> typed dict.

lm_eval versions differ: 0.4.10+ parse ``k=v`` lists (quotes and brackets respected) or a JSON object in the
parser itself; 0.4.4-0.4.9 keep the string and split it later with ``lm_eval.utils.simple_parse_args_string``.
Both are called from the installed lm_eval, never re-implemented, so the dict is what that lm_eval would use.
"""

from __future__ import annotations

import ast
import json
from typing import Any

from ..errors import ParseError
from ..lmeval.parser import option_info, parse_argv
from ..lmeval.source import source_function


def to_mapping(dest: str, value: Any) -> dict[str, Any]:
    """The typed dict of a mapping option's parsed value, as the installed lm_eval will see it."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("{"):
            try:
                loaded = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ParseError(f"--{dest}: invalid JSON ({exc.msg} at character {exc.pos})",
                                 hint='JSON needs double quotes: {"pretrained": "x"}; or write k=v,k2=v2.') from None
            if isinstance(loaded, dict):
                return loaded
        simple_parse_args_string = source_function("utils.py", "simple_parse_args_string", "lm_eval.utils")
        try:
            return dict(simple_parse_args_string(text))
        except ValueError as exc:
            raise ParseError(f"--{dest}: cannot read `{text}` as k=v pairs ({exc})",
                             hint="Write key=value pairs separated by commas, e.g. pretrained=x,dtype=bfloat16.") from None
    raise ParseError(f"--{dest}: expected k=v pairs, got {type(value).__name__}")


def _looks_typed(text: str) -> bool:
    """True when lm_eval would not read ``text`` back as the same string."""
    if text.lower() in ("true", "false", "none") or text.isnumeric():
        return True
    try:
        float(text)
        return True
    except ValueError:
        pass
    if any(ch in text for ch in ",=\"'[]{}()") or text != text.strip() or not text:
        return True
    try:
        return not isinstance(ast.literal_eval(text), str)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return False


def render_value(value: Any) -> str:
    """One value of a k=v list, written so that lm_eval reads back the same typed value where it can."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return repr(value) if _looks_typed(value) else value
    return repr(value)


def render_mapping(dest: str, mapping: dict[str, Any]) -> str:
    """``{"pretrained": "x", "dtype": "bfloat16"}`` -> ``pretrained=x,dtype=bfloat16`` (or JSON when only JSON
    round-trips through the installed lm_eval)."""
    if not mapping:
        return ""
    text = ",".join(f"{k}={render_value(v)}" for k, v in mapping.items())
    info = option_info(dest)
    if info is None:
        return text
    candidates = [text, ",".join(f"{k}={v}" for k, v in mapping.items()), json.dumps(mapping, ensure_ascii=False)]
    for candidate in candidates:
        try:
            given, _ = parse_argv([info.flag, candidate])
        except ParseError:
            continue
        if to_mapping(dest, given.get(dest)) == mapping:
            return candidate
    return text
