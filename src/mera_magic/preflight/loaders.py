"""The keyword arguments a backend's model loader accepts, for the ``--model_args`` keys lm_eval passes on.

``hf``-like backends pass unknown keys to transformers' ``from_pretrained`` (and from there to the model
config); ``vllm``-like ones to vLLM's engine (``EngineArgs``).  Which one a backend forwards to is read from
the packages its module imports (:mod:`mera_magic.lmeval.requirements`); what the loader accepts is read from
the installed loader's source with :mod:`ast` (its parameters and every ``kwargs.pop("name", ...)``), nothing
imported.  When the loader is not installed the answer is None (unknown).
"""

from __future__ import annotations

import ast
import importlib.util
from functools import cache
from pathlib import Path

from ..lmeval.requirements import backend_requirements


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def _names_in(path: Path, functions: tuple[str, ...] = (), classes: tuple[str, ...] = ()) -> set[str]:
    """Parameter names and ``kwargs.pop/get("x")`` keys of ``functions``; annotated fields of ``classes``."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return set()
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name in classes:
            out |= {s.target.id for s in node.body if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)}
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in functions:
            a = node.args
            out |= {p.arg for p in a.posonlyargs + a.args + a.kwonlyargs} - {"self", "cls"}
            for call in ast.walk(node):
                if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                        and call.func.attr in ("pop", "get") and call.args
                        and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str)):
                    out.add(call.args[0].value)
    return out


@cache
def _transformers_keys() -> frozenset[str] | None:
    folder = _package_dir("transformers")
    if folder is None:
        return None
    keys = _names_in(folder / "modeling_utils.py", ("from_pretrained", "__init__"))
    keys |= _names_in(folder / "configuration_utils.py", ("__init__", "from_pretrained", "get_config_dict"))
    return frozenset(keys)


@cache
def _vllm_keys() -> frozenset[str] | None:
    folder = _package_dir("vllm")
    if folder is None:
        return None
    keys = _names_in(folder / "engine" / "arg_utils.py", classes=("EngineArgs",))
    keys |= _names_in(folder / "entrypoints" / "llm.py", ("__init__",))
    return frozenset(keys) or None


def loader(backend: str) -> str | None:
    """``"vllm"`` or ``"transformers"``: what backend ``backend`` passes unknown model_args to (None: neither)."""
    modules = {r.module for r in backend_requirements(backend) if r.when is None}
    if "vllm" in modules:
        return "vllm"
    if "transformers" in modules:
        return "transformers"
    return None


def loader_keys(backend: str) -> frozenset[str] | None:
    """The keys the backend's loader accepts, or None when the loader's source is not installed."""
    which = loader(backend)
    if which == "vllm":
        return _vllm_keys()
    if which == "transformers":
        return _transformers_keys()
    return None
