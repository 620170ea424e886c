"""The model backends of the installed lm_eval and the ``--model_args`` each accepts.

Read from lm_eval's own source with :mod:`ast` (``@register_model`` names, each class's ``__init__``
parameters and defaults, base classes, what ``**kwargs`` is used for), so nothing heavy is imported (importing a
backend module pulls in torch, transformers or vllm) and nothing is copied that could drift from the installed
version.  The help texts and choices shown in the panel live in :mod:`mera_magic.texts`.

What happens to a key a constructor does not name depends on its ``**kwargs``:

- ``forwarded``: passed on to ``from_pretrained`` / the engine (``hf``, ``vllm``): an unknown key may be valid;
- ``ignored``: swallowed without effect (the API backends): an unknown key is almost surely a typo;
- ``rejected``: no ``**kwargs``: lm_eval fails with a TypeError.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from .install import lm_eval_dir

_NO_DEFAULT = object()


@dataclass(frozen=True)
class BackendArg:
    """One constructor parameter of a backend (a ``--model_args`` key)."""

    name: str
    #: the default as a Python value, when it is a literal; else None (see ``default_text``)
    default: Any
    default_text: str | None
    annotation: str | None
    required: bool
    defined_in: str


@dataclass(frozen=True)
class Backend:
    """A registered lm_eval model backend."""

    name: str
    class_name: str
    module: str
    args: tuple[BackendArg, ...]
    #: "forwarded", "ignored" or "rejected": what an unknown model_args key meets (see the module docstring)
    extra_keys: str
    aliases: tuple[str, ...] = field(default=())
    #: what ``--batch_size auto`` meets: "supported", "unsupported" (lm_eval raises) or "becomes-1"
    auto_batch: str = "supported"

    def arg(self, name: str) -> BackendArg | None:
        """The parameter called ``name``, or None."""
        return next((a for a in self.args if a.name == name), None)

    @property
    def arg_names(self) -> list[str]:
        """Every accepted key, in declaration order."""
        return [a.name for a in self.args]

    @property
    def chat_only(self) -> bool:
        """Chat-completions backends can only run ``generate_until`` tasks (no log-likelihoods)."""
        return self.name.endswith("chat-completions") or self.name in ("anthropic-chat", "litellm-chat")


@dataclass
class _Class:
    name: str
    module: str
    bases: list[str]
    registered: list[str]
    args: list[BackendArg] | None  # None: no __init__ of its own
    kwargs_use: str  # "none", "super", "other", "absent"
    auto_batch: str | None  # what its own code does with batch_size "auto", None when it says nothing


def _models_dir() -> Path | None:
    folder = lm_eval_dir()
    return folder / "models" if folder else None


def _name_of(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Subscript):
        return _name_of(node.value)
    return ""


def _registered(cls: ast.ClassDef) -> list[str]:
    names: list[str] = []
    for deco in cls.decorator_list:
        if isinstance(deco, ast.Call) and _name_of(deco.func) == "register_model":
            names += [a.value for a in deco.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    return names


def _is_super_init(call: ast.Call) -> bool:
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr == "__init__":
        inner = func.value
        return (isinstance(inner, ast.Call) and _name_of(inner.func) == "super") or isinstance(inner, (ast.Name, ast.Attribute))
    return False


def _kwargs_use(init: ast.FunctionDef) -> str:
    if init.args.kwarg is None:
        return "absent"
    name = init.args.kwarg.arg
    super_uses = 0
    other_uses = 0
    inside_super: set[int] = set()
    for node in ast.walk(init):
        if isinstance(node, ast.Call) and _is_super_init(node):
            for kw in node.keywords:
                if kw.arg is None and isinstance(kw.value, ast.Name) and kw.value.id == name:
                    super_uses += 1
                    inside_super.add(id(kw.value))
    for node in ast.walk(init):
        if isinstance(node, ast.Name) and node.id == name and id(node) not in inside_super:
            other_uses += 1
    if other_uses:
        return "other"
    return "super" if super_uses else "none"


def _auto_batch(cls: ast.ClassDef, lines: list[str] | None = None) -> str | None:
    """Read what a class's code does when batch_size is "auto": raise/assert, or warn and use 1."""
    if lines is not None:  # most classes never mention it: skip walking them (this runs on a fresh kernel's check)
        segment = "\n".join(lines[cls.lineno - 1:cls.end_lineno or len(lines)])
        if "auto" not in segment or "batch_size" not in segment:
            return None
    for node in ast.walk(cls):
        test = node.test if isinstance(node, (ast.If, ast.Assert)) else None
        if test is None:
            continue
        text = ast.unparse(test)
        if "batch_size" not in text or "auto" not in text:
            continue
        if isinstance(node, ast.Assert) and "!=" in text:
            return "unsupported"
        if isinstance(node, ast.If):
            body = ast.unparse(ast.Module(body=node.body, type_ignores=[]))
            if "raise" in body or "assert" in body:
                return "unsupported"
            if "warning" in body and "not supported" in body.lower():
                return "becomes-1"
    return None


def _args(init: ast.FunctionDef, owner: str) -> list[BackendArg]:
    a = init.args
    positional = a.posonlyargs + a.args
    defaults: list[Any] = [_NO_DEFAULT] * (len(positional) - len(a.defaults)) + list(a.defaults)
    pairs = list(zip(positional, defaults)) + list(zip(a.kwonlyargs, [d if d is not None else _NO_DEFAULT for d in a.kw_defaults]))
    out = []
    for arg, default in pairs:
        if arg.arg == "self":
            continue
        if default is _NO_DEFAULT:
            value, text, required = None, None, True
        else:
            text = ast.unparse(default)
            try:
                value = ast.literal_eval(default)
            except (ValueError, SyntaxError, TypeError):
                value = None
            required = False
        out.append(BackendArg(arg.arg, value, text, ast.unparse(arg.annotation) if arg.annotation else None,
                              required, owner))
    return out


@cache
def _classes() -> dict[str, _Class]:
    classes: dict[str, _Class] = {}
    folder = _models_dir()
    if folder is None:
        return classes
    for path in sorted(folder.glob("*.py")):
        try:
            source = path.read_text(encoding="utf-8")
            tree = ast.parse(source)
        except (SyntaxError, UnicodeDecodeError, OSError):
            continue
        lines = source.splitlines()
        for node in tree.body:
            if not isinstance(node, ast.ClassDef):
                continue
            init = next((b for b in node.body if isinstance(b, ast.FunctionDef) and b.name == "__init__"), None)
            info = _Class(node.name, path.stem, [_name_of(b) for b in node.bases], _registered(node),
                          _args(init, node.name) if init else None, _kwargs_use(init) if init else "super",
                          _auto_batch(node, lines))
            if node.name not in classes or info.registered:
                classes[node.name] = info
    return classes


def _resolve(name: str, seen: frozenset[str] = frozenset()) -> tuple[list[BackendArg], str]:
    """All accepted args of class ``name`` (own first, then inherited) and what extra keys meet."""
    cls = _classes().get(name)
    if cls is None or name in seen:
        return [], "ignored"  # a base outside lm_eval/models (LM, TemplateLM): takes nothing more
    base = next((b for b in cls.bases if b in _classes()), None)
    if cls.args is None:  # no __init__: everything comes from the base
        return _resolve(base, seen | {name}) if base else ([], "rejected")
    own = list(cls.args)
    if cls.kwargs_use == "absent":
        return own, "rejected"
    if cls.kwargs_use == "other":
        inherited, _ = _resolve(base, seen | {name}) if base else ([], "")
        return own + [a for a in inherited if a.name not in {o.name for o in own}], "forwarded"
    if cls.kwargs_use == "none":
        return own, "ignored"
    if base is None:
        return own, "ignored"
    inherited, extra = _resolve(base, seen | {name})
    return own + [a for a in inherited if a.name not in {o.name for o in own}], extra


def _inherited_auto_batch(name: str) -> str:
    seen: set[str] = set()
    cls = _classes().get(name)
    while cls is not None and cls.name not in seen:
        if cls.auto_batch:
            return cls.auto_batch
        seen.add(cls.name)
        cls = next((_classes()[b] for b in cls.bases if b in _classes()), None)
    return "supported"


@cache
def _backends() -> dict[str, Backend]:
    out: dict[str, Backend] = {}
    for cls in _classes().values():
        for reg in cls.registered:
            args, extra = _resolve(cls.name)
            out[reg] = Backend(reg, cls.name, cls.module, tuple(args), extra,
                               tuple(r for r in cls.registered if r != reg), _inherited_auto_batch(cls.name))
    return out


def backend_names() -> list[str]:
    """Every backend name (``--model`` value) the installed lm_eval registers, sorted."""
    return sorted(_backends())


def get_backend(name: str) -> Backend | None:
    """The :class:`Backend` registered as ``name``, or None."""
    return _backends().get(name)
