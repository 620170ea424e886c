"""Typed-value checks: is every option value and ``--model_args`` value one lm_eval can convert?

The type each value must have is read from the installed lm_eval, never from a copied list:

- options: the ``type`` and ``choices`` of the option in lm_eval's own parser (``--num_fewshot`` is ``int``,
  ``--limit`` is ``float``); ``--batch_size`` is a ``str`` to the parser, and its help/metavar names the forms
  lm_eval accepts (``auto``, ``auto:N``, ``N``), which is what is checked;
- model_args: the annotation (or, without one, the default) of the backend constructor's parameter
  (:mod:`mera_magic.backends`): ``max_length: int | None`` takes a whole number, ``Literal[...]`` one of its
  strings, ``bool`` true/false; a ``torch.dtype`` parameter (``dtype``) takes ``auto`` or a dtype name of the
  installed torch (read from its type stubs when torch is not imported yet, so checking imports nothing heavy).

A command parsed from text already has the parser's types, so the option checks matter for specs built by
hand or by the panel, which keeps a value it cannot convert as its raw text (so the command shows it and this
check reports it).  The model_args checks matter for both: lm_eval converts ``k=v`` by the look of ``v``
(``1e3`` is a float, ``abc`` a string) and the constructor fails later, or silently misbehaves.

Messages and the problems in them (``finding.value.*``: "is not a number", "— не число") are worded from the texts
table in the session's language (:mod:`mera_magic.texts_findings`).
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import sys
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from .checks import Finding
from .lmeval.backends import BackendArg, get_backend
from .lmeval.parser import lm_eval_parser
from .preflight.say import finding
from .spec import RunSpec, is_secret_name
from .texts import text

_NAME = re.compile(r"[A-Za-z_][\w.]*")
_LITERAL = re.compile(r"Literal\[([^\]]*)\]")
_LITERAL_ITEM = re.compile(r"""'([^']*)'|"([^"]*)"|(-?\d+)""")
_BASIC = {"int", "float", "bool", "str", "dict", "list", "None", "NoneType", "Any"}
_WRAPPERS = {"Optional", "Union", "Literal", "typing"}
_INT = re.compile(r"[+-]?\d+")


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# -- options --------------------------------------------------------------------------------------------------
def _actions() -> dict[str, argparse.Action]:
    return {a.dest: a for a in lm_eval_parser()._actions if a.option_strings}


def batch_size_forms(action: argparse.Action) -> tuple[bool, bool]:
    """What ``--batch_size`` accepts besides a whole number, as its help/metavar says: (``auto``, ``auto:N``)."""
    words = f"{action.help or ''} {action.metavar or ''}"
    return "auto" in words, "auto:N" in words


def batch_size_problem(value: Any, action: argparse.Action | None) -> str | None:
    """Why ``value`` is not a batch size lm_eval accepts, or None when it is one."""
    if isinstance(value, bool):
        return text("finding.value.true-false")
    if isinstance(value, int):
        return None if value > 0 else text("finding.value.not-positive")
    given = str(value).strip()
    auto, auto_n = batch_size_forms(action) if action is not None else (True, True)
    if _INT.fullmatch(given):
        return None if int(given) > 0 else text("finding.value.not-positive")
    if auto and given == "auto":
        return None
    if auto_n and given.startswith("auto:") and _INT.fullmatch(given[5:]) and int(given[5:]) > 0:
        return None
    forms = {(False, False): "finding.value.not-int", (True, False): "finding.value.not-int-auto",
             (False, True): "finding.value.not-int-auto-n", (True, True): "finding.value.not-int-auto-both"}
    return text(forms[auto, auto_n])


def _convert_problem(action: argparse.Action, value: Any) -> str | None:
    """Why the parser's own ``type`` rejects ``value`` (a raw text the panel kept), or None."""
    kind: Any = action.type
    if not isinstance(value, str) or kind is None or kind is str:
        return None
    try:
        kind(value)
    except (TypeError, ValueError, argparse.ArgumentTypeError) as exc:
        name = getattr(kind, "__name__", "value")
        if name == "int":
            return text("finding.value.not-int")
        if name == "float":
            return text("finding.value.not-number")
        return text("finding.value.not-valid", kind=name, error=exc)
    return None


def option_value_findings(spec: RunSpec) -> Iterable[Finding]:
    """An error for every option value the installed lm_eval's parser would not accept."""
    actions = _actions()
    for dest, value in spec.options.items():
        action = actions.get(dest)
        if action is None or value is None:
            continue  # unknown options have their own check
        flag = max((f for f in action.option_strings if f.startswith("--")), key=len, default=dest)
        where = f"options.{dest}"
        if dest == "batch_size":
            problem = batch_size_problem(value, action)
            if problem:
                auto = batch_size_forms(action)[0]
                yield finding("error", "invalid-value", where,
                              text_code="invalid-batch-size-auto" if auto else "invalid-batch-size",
                              flag=flag, value=_shown(value), problem=problem)
            continue
        if action.nargs == 0:
            continue  # a bare switch: its value is the parser's constant
        problem = _convert_problem(action, value)
        if problem:
            yield finding("error", "invalid-value", where, text_code="invalid-option-value", flag=flag,
                          value=_shown(value), problem=problem)
            continue
        if action.choices and isinstance(value, str) and value not in [str(c) for c in action.choices]:
            choices = ", ".join(str(c) for c in action.choices)
            yield finding("error", "invalid-value", where, text_code="invalid-choice", flag=flag, value=value,
                          choices=choices)


# -- model_args -----------------------------------------------------------------------------------------------
def annotation_types(annotation: str | None) -> tuple[set[str], list[Any]]:
    """The type names of an annotation and the values of its ``Literal[...]`` parts.

    ``int | str | None`` -> ({int, str, None}, []); ``Literal['a', 'b']`` -> (set(), ['a', 'b']).
    """
    if not annotation:
        return set(), []
    literals: list[Any] = []
    for group in _LITERAL.findall(annotation):
        for quoted, double, number in _LITERAL_ITEM.findall(group):
            literals.append(int(number) if number else (quoted or double))
    rest = _LITERAL.sub("", annotation)
    names = {n for n in _NAME.findall(rest) if n not in _WRAPPERS}
    return {"None" if n == "NoneType" else n for n in names}, literals


@cache
def torch_dtype_names() -> frozenset[str]:
    """The dtype names of the installed torch (``float16``, ``bfloat16``, ``half``, ...); empty without torch.

    Read from torch itself when it is imported already, else from its type stubs, so nothing heavy is imported.
    """
    torch = sys.modules.get("torch")
    if torch is not None and hasattr(torch, "dtype"):
        return frozenset(n for n in dir(torch) if isinstance(getattr(torch, n, None), torch.dtype))
    spec = importlib.util.find_spec("torch")
    if spec is None or not spec.origin:
        return frozenset()
    stubs = Path(spec.origin).parent / "_C" / "__init__.pyi"
    try:
        text = stubs.read_text(encoding="utf-8")
    except OSError:
        return frozenset()
    return frozenset(re.findall(r"^(\w+): dtype\b", text, re.MULTILINE))


def _expected(arg: BackendArg) -> tuple[set[str], list[Any]]:
    names, literals = annotation_types(arg.annotation)
    if not names and not literals and arg.annotation is None and arg.default is not None:
        names = {"bool" if isinstance(arg.default, bool) else type(arg.default).__name__}
        if names & {"int", "float", "bool"}:
            names.add("None")
    return names, literals


def model_arg_problem(arg: BackendArg, value: Any) -> str | None:
    """Why ``value`` (as lm_eval converts ``key=value``) does not fit the parameter ``arg``, or None."""
    names, literals = _expected(arg)
    if not names and not literals:
        return None
    if value is None:
        return None if ("None" in names or not arg.required) else text("finding.value.none-required")
    if literals and (value in literals or str(value) in [str(v) for v in literals]):
        return None
    if "torch.dtype" in names and isinstance(value, str):
        dtypes = torch_dtype_names()
        if value == "auto" or not dtypes or value in dtypes:
            return None
        close = [d for d in ("bfloat16", "float16", "float32") if d in dtypes]
        return text("finding.value.not-dtype", dtypes=", ".join(close))
    if names & {"str", "Any"} or names - _BASIC - {"torch.dtype"}:
        return None  # a string, or a type we cannot judge (a path, a tokenizer object, ...)
    if literals:
        return text("finding.value.not-literal", values=", ".join(str(v) for v in literals))
    kinds = _kind_words(names)
    if isinstance(value, bool):
        return None if "bool" in names else text("finding.value.is-bool", name=arg.name, kinds=kinds)
    if isinstance(value, int):
        return None if names & {"int", "float"} else text("finding.value.is-number", name=arg.name, kinds=kinds)
    if isinstance(value, float):
        if "float" in names:
            return None
        if "int" in names and value.is_integer():
            return text("finding.value.is-decimal-whole", name=arg.name, value=value, whole=int(value))
        return text("finding.value.is-decimal", name=arg.name, kinds=kinds)
    if isinstance(value, dict):
        return None if "dict" in names else text("finding.value.is-mapping", name=arg.name, kinds=kinds)
    if isinstance(value, list):
        return None if "list" in names else text("finding.value.is-list", name=arg.name, kinds=kinds)
    return text("finding.value.is-text", name=arg.name, kinds=kinds)


def _kind_words(names: set[str]) -> str:
    """``a whole number or true or false`` (``целое число или true или false``): what a parameter takes."""
    wanted = [n for n in ("int", "float", "bool", "dict", "list") if n in names]
    if "int" in wanted and "float" in wanted:
        wanted.remove("int")  # a number covers a whole number
    kinds = {"int": "finding.kind.int", "float": "finding.kind.float", "bool": "finding.kind.bool",
             "dict": "finding.kind.dict", "list": "finding.kind.list"}
    return text("finding.word.or").join(text(kinds[n]) for n in wanted) or text("finding.kind.other")


def model_arg_value_findings(spec: RunSpec) -> Iterable[Finding]:
    """An error for every ``--model_args`` value its backend parameter cannot take."""
    backend = get_backend(spec.model)
    if backend is None:
        return
    batch = next((a for a in _actions().values() if a.dest == "batch_size"), None)
    for key, value in spec.model_args.items():
        arg = backend.arg(key)
        if arg is None or is_secret_name(key):
            continue
        if key == "batch_size" and isinstance(value, str):
            problem = batch_size_problem(value, batch)
            if problem:
                yield finding("error", "invalid-value", f"model_args.{key}", text_code="invalid-model-arg-batch-size",
                              arg=key, value=_shown(value), problem=problem)
            continue
        problem = model_arg_problem(arg, value)
        if problem:
            yield finding("error", "invalid-value", f"model_args.{key}", text_code="invalid-model-arg", arg=key,
                          value=_shown(value), problem=problem)


def required_model_args(model: str) -> list[str]:
    """The model_args ``model`` cannot run without: its constructor's parameters without a default, and those
    the MERA guide documents as required (:data:`mera_magic.texts.REQUIRED_MODEL_ARGS`) that it names."""
    from .texts import REQUIRED_MODEL_ARGS

    backend = get_backend(model)
    if backend is None:
        return []
    names = [a.name for a in backend.args if a.required]
    names += [n for n in REQUIRED_MODEL_ARGS.get(model, ()) if n in backend.arg_names]
    return list(dict.fromkeys(names))


def required_arg_findings(spec: RunSpec) -> Iterable[Finding]:
    """An error for every required model arg that is not given (or given empty)."""
    for key in required_model_args(spec.model):
        if spec.model_args.get(key) in (None, ""):
            example = {"base_url": "http://localhost:8000/v1/completions", "model": "Qwen/Qwen2-0.5B-Instruct",
                       "pretrained": "Qwen/Qwen2-0.5B-Instruct"}.get(key, "...")
            yield finding("error", "missing-model-arg", f"model_args.{key}", backend=spec.model, arg=key,
                          example=example)


def value_findings(spec: RunSpec) -> list[Finding]:
    """Every typed-value error of ``spec`` (options, then model_args), and every missing required model arg."""
    return [*option_value_findings(spec), *model_arg_value_findings(spec), *required_arg_findings(spec)]
