"""What each backend of the installed lm_eval needs installed, and the install that provides a package.

Read from lm_eval's own files, nothing imported: a backend's module (and the modules of its base classes) is
parsed with :mod:`ast` for the packages it imports at the top (needed whenever the backend loads), the
``find_spec("x")`` checks and the guarded imports of its code (needed always, or only when a constructor
parameter is given, e.g. ``ray`` for ``data_parallel_size``), and the ``pip install ...`` its error messages
recommend.  :func:`install_for` turns a package into the command that installs it: the lm_eval extra that
lists it (from the distribution's metadata: ``pip install "lm-eval[vllm]"``), else what lm_eval's messages say
(``pip install ray``), else the package itself.
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from .backends import _classes, get_backend
from .install import lm_eval_dir

_PIP = re.compile(r"pip install ([^`'\"\n]+?)(?=`|'|\"| or |\s*$|\s*\)|,)")


@dataclass(frozen=True)
class Requirement:
    """A package a backend needs: the top-level import name, when it is needed and what lm_eval says to run."""

    module: str
    #: the constructor parameter whose (non-default) value makes it needed; None: needed whenever it loads
    when: str | None = None
    #: the value of ``when`` that makes it needed (``tokenizer_backend == "tiktoken"``); None: any non-default
    value: str | None = None
    #: what lm_eval's own message recommends (``lm-eval[vllm]``), when it says
    install: str | None = None


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _third_party(name: str) -> bool:
    top = name.split(".")[0]
    return bool(top) and top not in sys.stdlib_module_names and top not in ("lm_eval", "__future__")


def _strings(node: ast.AST) -> str:
    return " ".join(n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str))


def _pip(text: str) -> str | None:
    m = _PIP.search(text)
    return m.group(1).strip().strip("\"'") if m else None


def _parents(tree: ast.AST) -> dict[int, ast.AST]:
    out: dict[int, ast.AST] = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            out[id(child)] = node
    return out


def _imported(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name.split(".")[0] for a in node.names]
    if isinstance(node, ast.ImportFrom) and not node.level and node.module:
        return [node.module.split(".")[0]]
    return []


def _condition(test: ast.expr, params: frozenset[str]) -> tuple[str | None, str | None]:
    """The parameter an ``if`` test depends on, and the value it compares it with (``x == "v"``)."""
    for node in ast.walk(test):
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], ast.Eq):
            left, right = node.left, node.comparators[0]
            name = getattr(left, "id", getattr(left, "attr", None))
            if name in params and isinstance(right, ast.Constant) and isinstance(right.value, str):
                return name, right.value
    mentioned = {n.id for n in ast.walk(test) if isinstance(n, ast.Name)}
    mentioned |= {n.attr for n in ast.walk(test) if isinstance(n, ast.Attribute)}
    hit = sorted(mentioned & params)
    return (hit[0], None) if hit else (None, None)


@cache
def _parse(path: Path) -> ast.Module | None:
    try:
        return ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None


@cache
def _module_requirements(path: Path, params: frozenset[str], classes: frozenset[str]) -> tuple[Requirement, ...]:
    tree = _parse(path)
    if tree is None:
        return ()
    found: dict[tuple[str, str | None], Requirement] = {}

    def add(req: Requirement) -> None:
        if _third_party(req.module):
            found.setdefault((req.module, req.when), req)

    for stmt in tree.body:  # imported at the top, outside any try: needed whenever the module loads
        for name in _imported(stmt):
            add(Requirement(name))
    bodies = [node for node in tree.body if isinstance(node, ast.ClassDef) and node.name in classes]
    parents: dict[int, ast.AST] = {}
    for body in bodies:
        parents.update(_parents(body))
    for node in (n for body in bodies for n in ast.walk(body)):
        names: list[str] = []
        if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == "find_spec":
            arg = node.args[0] if node.args else None
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                names = [arg.value]
            elif isinstance(arg, ast.Name):  # [pkg for pkg in ["aiohttp", ...] if find_spec(pkg) is None]
                comp = parents.get(id(node))
                while comp is not None and not isinstance(comp, (ast.ListComp, ast.GeneratorExp, ast.SetComp)):
                    comp = parents.get(id(comp))
                if comp is not None:
                    names = [e.value for g in comp.generators if isinstance(g.iter, (ast.List, ast.Tuple))
                             for e in g.iter.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
        elif isinstance(node, (ast.Import, ast.ImportFrom)) and node not in tree.body:
            guard = parents.get(id(node))
            while guard is not None and not isinstance(guard, ast.Try):
                guard = parents.get(id(guard))
            if guard is None or not any("pip install" in _strings(h) for h in guard.handlers):
                continue  # an import inside a function, or guarded without a message: optional
            names = _imported(node)
        if not names:
            continue
        when: str | None = None
        value: str | None = None
        message: str | None = None
        up = parents.get(id(node))
        while up is not None and not isinstance(up, (ast.FunctionDef, ast.Module)):
            if isinstance(up, ast.If):
                if when is None:
                    when, value = _condition(up.test, params)
                message = message or _pip(_strings(up))
            if isinstance(up, ast.Try):
                message = message or _pip(" ".join(_strings(h) for h in up.handlers))
            if isinstance(up, ast.Module):
                break
            up = parents.get(id(up))
        if isinstance(up, ast.Module):
            continue  # a guarded import at module level: optional
        for name in names:
            add(Requirement(name.split(".")[0], when, value, message))
    return tuple(found.values())


def backend_requirements(name: str) -> list[Requirement]:
    """The packages backend ``name`` needs (its module and its base classes' modules), first seen first."""
    backend = get_backend(name)
    folder = lm_eval_dir()
    if backend is None or folder is None:
        return []
    classes = _classes()
    modules: dict[str, set[str]] = {}
    current = classes.get(backend.class_name)
    seen: set[str] = set()
    while current is not None and current.name not in seen:
        seen.add(current.name)
        modules.setdefault(current.module, set()).add(current.name)
        current = next((classes[b] for b in current.bases if b in classes), None)
    params = frozenset(backend.arg_names)
    out: dict[tuple[str, str | None], Requirement] = {}
    for module, names in modules.items():
        for req in _module_requirements(folder / "models" / f"{module}.py", params, frozenset(names)):
            out.setdefault((req.module, req.when), req)
    return list(out.values())


@cache
def _extras() -> dict[str, list[str]]:
    """lm_eval's extras: normalised package name -> the extras that list it (smallest extra first)."""
    from importlib.metadata import PackageNotFoundError, requires

    lines: list[str] = []
    for dist in ("lm_eval", "lm-eval"):
        try:
            lines = requires(dist) or []
            break
        except PackageNotFoundError:
            continue
    by_extra: dict[str, list[str]] = {}
    for line in lines:
        m = re.match(r"\s*([A-Za-z0-9_.\-]+).*?;.*extra\s*==\s*['\"]([^'\"]+)['\"]", line)
        if m:
            by_extra.setdefault(m.group(2), []).append(_norm(m.group(1)))
    out: dict[str, list[str]] = {}
    for extra, packages in sorted(by_extra.items(), key=lambda kv: len(kv[1])):
        if extra in ("dev", "all", "testing", "tasks"):
            continue
        for package in packages:
            out.setdefault(package, []).append(extra)
    return out


@cache
def _messages() -> dict[str, str]:
    """``pip install X`` targets named in lm_eval's backend messages: normalised package -> target."""
    folder = lm_eval_dir()
    out: dict[str, str] = {}
    if folder is None:
        return out
    for path in sorted((folder / "models").glob("*.py")):
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            continue
        for m in _PIP.finditer(text):
            target = m.group(1).strip().strip("\"'")
            out.setdefault(_norm(target.split()[0].split("[")[0]), target)
    return out


def install_for(module: str, said: str | None = None) -> str:
    """The command that installs ``module`` for lm_eval (see the module docstring)."""
    key = _norm(module)
    extras = _extras().get(key)
    if extras:
        extra = next((e for e in extras if _norm(e) == key), extras[0])
        return f'pip install "lm-eval[{extra}]"'
    if said:
        return f"pip install {said}" if "[" not in said else f'pip install "{said}"'
    target = _messages().get(key)
    return f"pip install {target}" if target else f"pip install {module.replace('_', '-')}"
