"""Functions of the installed lm_eval, compiled from its source files without importing lm_eval.

In lm_eval <= 0.4.9 ``import lm_eval`` imports the evaluator and with it torch, transformers and datasets
(about 8 s).  Parsing a command must stay light, so the few pure functions it needs (``setup_parser``,
``simple_parse_args_string``) are compiled from the installed file together with its standard-library imports.
What runs is still the installed lm_eval's own code.
"""

from __future__ import annotations

import ast
import sys
from functools import cache
from typing import Any, Callable

from .install import lm_eval_dir


def _is_stdlib(module: str) -> bool:
    return module.split(".")[0] in sys.stdlib_module_names


@cache
def _namespace(relpath: str) -> dict[str, Any]:
    folder = lm_eval_dir()
    if folder is None:
        raise ImportError("lm_eval is not installed")
    path = folder / relpath
    tree = ast.parse(path.read_text(encoding="utf-8"))
    keep: list[ast.stmt] = []
    for node in tree.body:
        if isinstance(node, ast.Import) and all(_is_stdlib(a.name) for a in node.names):
            keep.append(node)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and _is_stdlib(node.module or "x"):
            keep.append(node)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.decorator_list:
            keep.append(node)
    namespace: dict[str, Any] = {"__name__": f"lm_eval_source.{relpath}", "__file__": str(path)}
    exec(compile(ast.Module(body=keep, type_ignores=[]), str(path), "exec"), namespace)  # noqa: S102
    return namespace


def source_function(relpath: str, name: str, module: str) -> Callable[..., Any]:
    """``name`` from ``lm_eval/<relpath>``, compiled from source; falls back to importing ``module``."""
    try:
        return _namespace(relpath)[name]
    except Exception:  # noqa: BLE001 - an unexpected file layout: import the real module instead
        import importlib

        return getattr(importlib.import_module(module), name)
