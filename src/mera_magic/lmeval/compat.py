"""Can the installed lm_eval load a MERA task folder?  Say why not, before lm_eval does.

MERA's task folders are written for MERA's fork of lm-evaluation-harness (0.4.4-based for MERA v1.2, pinned
to commit 6c59a424 of ``artemorloff/lm-evaluation-harness@update_release``).  Stock lm_eval fails on them
with errors that do not name the cause (``TypeError: TaskConfig.__init__() got an unexpected keyword argument
'context_based'``, ``ImportError: Cannot import module '../custom_samplers'``, ``Tasks not found``).

:func:`diagnose_task_folder` reads a folder's YAML and Python files -- without importing lm_eval, datasets,
torch or the folder's code -- and compares them with what the installed lm_eval accepts, read from its source
files (:func:`lm_eval_info`): the fields of its ``TaskConfig`` and ``FewshotConfig`` dataclasses, how its YAML
loader resolves ``!function`` references and ``include`` lists.  It finds

* task keys only MERA's fork knows (``context_based``, ``request_updater``, ``storage_updater``) and any other
  key the installed ``TaskConfig`` rejects;
* ``fewshot_config`` keys a closed ``FewshotConfig`` rejects (``query``, ``doc_to_text_without_instruction``);
* ``!function ../module.fn`` paths the installed loader does not resolve (0.4.13 takes dotted module names);
* "diamond" includes (one file reached twice through a task's includes), which 0.4.13 takes for an include
  cycle and answers by leaving the task out of its index ("Tasks not found"), and include lists whose
  precedence differs between the fork (first include wins) and the installed lm_eval;
* ``transformers.data.metrics`` imports (gone in transformers 5), and the fork itself under transformers 5.

:func:`explain_task_error` turns the exception lm_eval raised into one message naming the cause found in the
folder and the fix (usually: install MERA's fork with ``transformers<5``), or returns None.

The findings are worded from the texts table (``finding.compat.*`` in :mod:`mera_magic.texts_findings`) in the
session's language when they are asked for, so the folder's scan, cached, holds each issue's text key and fields,
not a sentence; the run-failure and suite messages built from the same texts stay in English, like the rest of
the run's failure messages.
"""

from __future__ import annotations

import ast
import functools
import importlib.metadata
import importlib.util
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Optional

import yaml

from ..findings import Finding, Level

__all__ = [
    "Finding",
    "LmEvalInfo",
    "FORK_REPO",
    "FORK_BRANCH",
    "FORK_COMMIT",
    "FORK_ONLY_TASK_KEYS",
    "fork_install_command",
    "lm_eval_info",
    "diagnose_task_folder",
    "explain_task_error",
    "TaskVerdict",
    "task_verdicts",
    "nothing_loads_message",
]

FORK_REPO = "https://github.com/artemorloff/lm-evaluation-harness"
FORK_BRANCH = "update_release"
#: the fork commit MERA v1.2's git submodule pins (branch update_release)
FORK_COMMIT = "6c59a424bf2a07c0c88571e8b5ce3cceb9057049"
#: TaskConfig keys that only MERA's fork defines (ruTiE's dialogue machinery)
FORK_ONLY_TASK_KEYS = frozenset({"context_based", "request_updater", "storage_updater"})
#: keys lm_eval's task loader consumes before building a TaskConfig
_STRUCTURAL_KEYS = frozenset({"include", "task", "tag", "group", "task_list", "class"})
_IGNORED_DIRS = {"__pycache__", ".ipynb_checkpoints", ".git"}


def fork_install_command(ref: str = FORK_BRANCH) -> str:
    """The pip command installing MERA's lm-eval fork at ``ref`` (a branch or commit) with transformers < 5."""
    return f'pip install "lm_eval @ git+{FORK_REPO}@{ref}" "transformers<5"'


@dataclass(frozen=True)
class _Said:
    """A text of the findings table (``finding.compat.<key>``) with its fields, said in the language asked for; a
    field may be a ``_Said`` itself (said in the same language)."""

    key: str
    fields: tuple[tuple[str, Any], ...] = ()

    def say(self, language: Optional[str] = None) -> str:
        """The text in ``language`` (the session's when None)."""
        from ..texts import text

        values = {k: v.say(language) if isinstance(v, _Said) else v for k, v in self.fields}
        return text(self.key, language, **values)


def _said(key: str, **fields: Any) -> _Said:
    return _Said(f"finding.compat.{key}", tuple(fields.items()))


def _fork_fix() -> _Said:
    return _said("fork-fix", command=fork_install_command(), commit=FORK_COMMIT, branch=FORK_BRANCH)


def _label(info: LmEvalInfo) -> str | _Said:
    """``lm_eval 0.4.13``, or MERA's fork (said in the message's language)."""
    version: str | _Said = info.version or _said("unknown-version")
    return _said("label-fork", version=version) if info.is_mera_fork else f"lm_eval {info.version or '(unknown version)'}"


# --------------------------------------------------------------------------------------------------------------
# what the installed lm_eval accepts, read from its source
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LmEvalInfo:
    """What an lm_eval installation accepts, read from its source files (nothing is imported).

    ``fewshot_fields`` is None when ``fewshot_config`` is a free dict (0.4.4 - 0.4.8 and the fork).
    ``function_refs``: "file" when ``!function a/b.fn`` names a file relative to the YAML's folder (0.4.4 -
    0.4.8, the fork), "dotted" when it is a dotted module name (0.4.13).  ``includes``: "tree" when a file may be
    included through several branches, "once" when a second visit counts as an include cycle (0.4.13).
    ``include_precedence``: which of several includes wins a key, "first" (0.4.4, the fork) or "last" (0.4.13).
    """

    version: Optional[str]
    root: Optional[Path]
    task_fields: frozenset[str]
    fewshot_fields: Optional[frozenset[str]]
    function_refs: str
    includes: str
    include_precedence: str
    is_mera_fork: bool
    transformers_version: Optional[str] = None
    transformers_has_data_metrics: Optional[bool] = None

    @property
    def label(self) -> str:
        """``lm_eval 0.4.13`` (or ``MERA's lm_eval fork 0.4.4``)."""
        name = "MERA's lm_eval fork" if self.is_mera_fork else "lm_eval"
        return f"{name} {self.version or '(unknown version)'}"

    @property
    def transformers_major(self) -> Optional[int]:
        """The installed transformers' major version, or None."""
        if not self.transformers_version:
            return None
        head = re.match(r"\d+", self.transformers_version)
        return int(head.group()) if head else None


def _dataclass_fields(tree: ast.Module, name: str) -> Optional[frozenset[str]]:
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == name:
            return frozenset(
                stmt.target.id for stmt in node.body
                if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)
            )
    return None


def _parse(path: Path) -> Optional[ast.Module]:
    try:
        return ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None


def _function_defined(tree: Optional[ast.Module], name: str) -> bool:
    return tree is not None and any(isinstance(n, ast.FunctionDef) and n.name == name for n in ast.walk(tree))


def _dist_version(root: Path, installed: bool) -> Optional[str]:
    if installed:
        for dist in ("lm_eval", "lm-eval"):
            try:
                return importlib.metadata.version(dist)
            except importlib.metadata.PackageNotFoundError:
                continue
    for meta in sorted(root.parent.glob("lm_eval-*.dist-info/METADATA")):
        for line in meta.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("Version:"):
                return line.split(":", 1)[1].strip()
    return None


def _transformers() -> tuple[Optional[str], Optional[bool]]:
    try:
        version: Optional[str] = importlib.metadata.version("transformers")
    except importlib.metadata.PackageNotFoundError:
        return None, None
    try:
        spec = importlib.util.find_spec("transformers")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        return version, None
    base = Path(list(spec.submodule_search_locations)[0]) / "data" / "metrics"
    return version, base.is_dir() or base.with_suffix(".py").is_file()


@functools.lru_cache(maxsize=8)
def _info(root: Optional[str]) -> LmEvalInfo:
    installed = root is None
    if installed:
        spec = importlib.util.find_spec("lm_eval")  # finds the package without running it
        if spec is None or not spec.submodule_search_locations:
            raise ModuleNotFoundError("lm_eval is not installed: pip install lm-eval")
        pkg = Path(list(spec.submodule_search_locations)[0])
    else:
        pkg = Path(root)  # type: ignore[arg-type]
    task_src = pkg / "config" / "task.py"
    tree = _parse(task_src) if task_src.is_file() else None
    if tree is None or _dataclass_fields(tree, "TaskConfig") is None:
        tree = _parse(pkg / "api" / "task.py")
    task_fields = _dataclass_fields(tree, "TaskConfig") if tree is not None else None
    if task_fields is None:
        raise RuntimeError(f"cannot find lm_eval's TaskConfig under {pkg}")
    fewshot_fields = _dataclass_fields(tree, "FewshotConfig") if tree is not None else None
    loader = _parse(pkg / "tasks" / "_yaml_loader.py") if (pkg / "tasks" / "_yaml_loader.py").is_file() else None
    new_loader = _function_defined(loader, "_import_func_in_yml")
    trans_version, trans_metrics = _transformers()
    return LmEvalInfo(
        version=_dist_version(pkg, installed),
        root=pkg,
        task_fields=task_fields,
        fewshot_fields=fewshot_fields,
        function_refs="dotted" if new_loader else "file",
        includes="once" if new_loader else "tree",
        include_precedence="last" if new_loader else "first",
        is_mera_fork=FORK_ONLY_TASK_KEYS <= task_fields,
        transformers_version=trans_version,
        transformers_has_data_metrics=trans_metrics,
    )


def lm_eval_info(root: str | Path | None = None) -> LmEvalInfo:
    """Describe the installed lm_eval (or the lm_eval package folder ``root``) from its source files."""
    return _info(None if root is None else str(Path(root).resolve()))


# --------------------------------------------------------------------------------------------------------------
# reading a task folder
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _FunctionRef:
    spec: str


class _Loader(yaml.SafeLoader):
    """A YAML loader that keeps ``!function x.y`` as a reference instead of importing it."""


_Loader.add_constructor("!function", lambda loader, node: _FunctionRef(loader.construct_scalar(node)))


@dataclass
class _Issue:
    """One thing the installed lm_eval cannot load: what (``said``) and how to fix it (``remedy``), worded when asked."""

    level: Level
    code: str
    where: str
    said: _Said
    remedy: _Said
    #: whether the finding's message ends with the fix
    fix_in_message: bool = True
    keys: frozenset[str] = frozenset()
    modules: frozenset[str] = frozenset()
    tasks: frozenset[str] = frozenset()

    @property
    def finding(self) -> Finding:
        """The finding, in the session's language."""
        message = self.said.say() + (f" {self.remedy.say()}" if self.fix_in_message else "")
        return Finding(self.level, self.code, message, self.where)

    @property
    def problem(self) -> str:
        """The problem, in English (for the run's failure messages)."""
        return self.said.say("en")

    @property
    def fix(self) -> str:
        """The fix, in English (for the run's failure messages)."""
        return self.remedy.say("en")


@dataclass
class _Folder:
    root: Path
    raw: dict[Path, Any] = field(default_factory=dict)
    errors: dict[Path, str] = field(default_factory=dict)

    def rel(self, path: Path) -> str:
        try:
            return path.resolve().relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def load(self, path: Path) -> Optional[dict]:
        path = path.resolve()
        if not path.is_file():
            return None
        if path not in self.raw and path not in self.errors:
            try:
                with path.open("rb") as fh:
                    data = yaml.load(fh, Loader=_Loader)  # noqa: S506 - our loader constructs no objects
                if isinstance(data, dict):
                    self.raw[path] = data
                else:
                    self.errors[path] = f"expected a mapping, got {type(data).__name__}"
            except (OSError, yaml.YAMLError) as exc:
                self.errors[path] = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return self.raw.get(path)


def _yaml_files(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*.yaml")):
        if not _IGNORED_DIRS.intersection(path.relative_to(root).parts):
            yield path.resolve()


def _includes(cfg: dict, path: Path) -> list[Path]:
    inc = cfg.get("include")
    if inc is None:
        return []
    items = inc if isinstance(inc, list) else [inc]
    return [(path.parent / str(i)).resolve() if not Path(str(i)).is_absolute() else Path(str(i)) for i in items]


def _merged(folder: _Folder, path: Path, precedence: str, stack: tuple[Path, ...] = ()) -> dict:
    """The config of ``path`` with its includes merged (``first`` or ``last`` include wins)."""
    cfg = folder.load(path)
    if cfg is None or path in stack:
        return {}
    merged: dict = {}
    incs = _includes(cfg, path)
    for inc in (reversed(incs) if precedence == "first" else incs):
        merged.update(_merged(folder, inc, precedence, stack + (path,)))
    merged.update({k: v for k, v in cfg.items() if k != "include"})
    return merged


def _function_refs(value: Any, key: str = "") -> Iterator[tuple[str, _FunctionRef]]:
    if isinstance(value, _FunctionRef):
        yield key, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _function_refs(v, f"{key}.{k}" if key else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _function_refs(v, f"{key}[{i}]")


def _ref_module_file(ref: str, yaml_dir: Path, rule: str) -> tuple[Optional[Path], str]:
    """(the module file lm_eval would load, the module part of the reference) under ``rule``."""
    if rule == "file":
        module = ".".join(ref.split(".")[:-1])
        return (yaml_dir / f"{module}.py").resolve(), module
    module = ref.rpartition(".")[0]
    return (yaml_dir / f"{module.replace('.', '/')}.py").resolve(), module


def _importable(module: str) -> bool:
    if not module or module.startswith(".") or "/" in module or "\\" in module:
        return False
    try:
        return importlib.util.find_spec(module.split(".")[0]) is not None
    except (ImportError, ValueError):
        return False


def _task_names(folder: _Folder, precedence: str) -> dict[Path, str]:
    """YAML file -> task name, for the files that define a task (merged ``task`` is a string)."""
    out: dict[Path, str] = {}
    for path in list(folder.raw):
        task = _merged(folder, path, precedence).get("task")
        if isinstance(task, str):
            out[path] = task
    return out


def _closure(folder: _Folder, path: Path, seen: Optional[set[Path]] = None) -> set[Path]:
    seen = set() if seen is None else seen
    cfg = folder.load(path)
    if cfg is None or path in seen:
        return seen
    seen.add(path)
    for inc in _includes(cfg, path):
        _closure(folder, inc, seen)
    return seen


def _walk_includes(folder: _Folder, path: Path, stack: tuple[Path, ...], visits: dict[Path, list[tuple[Path, ...]]],
                   cycles: list[tuple[Path, ...]], missing: list[tuple[Path, Path]]) -> None:
    cfg = folder.load(path)
    if cfg is None:
        return
    for inc in _includes(cfg, path):
        if inc in stack or inc == path:
            cycles.append(stack + (path, inc))
            continue
        if not inc.is_file():
            missing.append((path, inc))
            continue
        visits.setdefault(inc, []).append(stack + (path,))
        _walk_includes(folder, inc, stack + (path,), visits, cycles, missing)


def _stamp(root: Path) -> tuple[tuple[str, int, int], ...]:
    """What identifies the folder's content: every YAML and Python file with its mtime and size."""
    if not root.is_dir():
        return ()
    out = []
    for path in sorted(root.rglob("*")):
        if path.suffix in (".yaml", ".py") and not _IGNORED_DIRS.intersection(path.relative_to(root).parts):
            try:
                st = path.stat()
            except OSError:
                continue
            out.append((str(path), st.st_mtime_ns, st.st_size))
    return tuple(out)


@functools.lru_cache(maxsize=16)
def _scan_cached(root: Path, info: LmEvalInfo, stamp: tuple[tuple[str, int, int], ...]) -> tuple[list[_Issue], frozenset[str]]:
    folder = _Folder(root)
    for path in _yaml_files(root) if root.is_dir() else ():
        folder.load(path)
    return _scan_uncached(root, info), frozenset(_task_names(folder, "first").values())


def _scan(include_path: str | Path, info: Optional[LmEvalInfo] = None) -> list[_Issue]:
    """The folder's issues for ``info``'s lm_eval; read again only when a YAML or Python file changed (a suite
    checks its folder once per task)."""
    root = Path(include_path).expanduser().resolve()
    return list(_scan_cached(root, info or lm_eval_info(), _stamp(root))[0])


def _scan_uncached(include_path: str | Path, info: Optional[LmEvalInfo] = None) -> list[_Issue]:
    info = info or lm_eval_info()
    root = Path(include_path).expanduser().resolve()
    folder = _Folder(root)
    if not root.is_dir():
        return [_Issue("error", "no-folder", str(root), _said("no-folder", root=root), _said("no-folder-fix"),
                       fix_in_message=False)]
    for path in _yaml_files(root):
        folder.load(path)
    issues: list[_Issue] = []
    fork_fix = _fork_fix()
    tasks_of = _task_names(folder, "first")  # the fork's view decides what the folder means
    # files that belong to some task: the task files and everything they include
    owners: dict[Path, set[str]] = {}
    for path, task in tasks_of.items():
        for member in _closure(folder, path):
            owners.setdefault(member, set()).add(task)

    for path, err in sorted(folder.errors.items()):
        where = folder.rel(path)
        users = frozenset(owners.get(path, ()))
        # lm_eval skips an unreadable YAML silently: an error when a task includes it, else a warning
        tail = _said("yaml-error-users", tasks=", ".join(sorted(users))) if users else _said("yaml-error-unused")
        issues.append(_Issue("error" if users else "warning", "yaml-error", where,
                             _said("yaml-error", where=where, error=err, tail=tail), _said("yaml-error-fix"),
                             fix_in_message=False, tasks=users))

    for path in sorted(owners):
        cfg = folder.raw.get(path)
        if cfg is None:
            continue
        where = folder.rel(path)
        tasks = frozenset(owners[path])
        # --- keys the installed TaskConfig does not accept -----------------------------------------------
        for key in cfg:
            if key in _STRUCTURAL_KEYS or key in info.task_fields:
                continue
            if key in FORK_ONLY_TASK_KEYS:
                problem = _said("fork-only-key", where=where, option=key, label=_label(info))
            else:
                problem = _said("unknown-task-key", where=where, option=key, label=_label(info))
            issues.append(_Issue("error", "unknown-task-key", f"{where}: {key}", problem, fork_fix,
                                 keys=frozenset({key}), tasks=tasks))
        # --- fewshot_config keys a closed FewshotConfig rejects ------------------------------------------
        fewshot = cfg.get("fewshot_config")
        if isinstance(fewshot, dict) and info.fewshot_fields is not None:
            extra = [k for k in fewshot if k not in info.fewshot_fields]
            if extra:
                names = ", ".join(f"`{k}`" for k in extra)
                problem = _said("unknown-fewshot-key", where=where, names=names, label=_label(info), first=extra[0])
                issues.append(_Issue("error", "unknown-fewshot-key", f"{where}: fewshot_config", problem, fork_fix,
                                     keys=frozenset(extra), tasks=tasks))
        # --- !function references -------------------------------------------------------------------------
        for key, ref in _function_refs({k: v for k, v in cfg.items() if k != "include"}):
            module_file, module = _ref_module_file(ref.spec, path.parent, info.function_refs)
            if module_file is not None and module_file.is_file():
                continue
            if info.function_refs == "dotted" and _importable(module):
                continue
            fork_file, _ = _ref_module_file(ref.spec, path.parent, "file")
            if info.function_refs == "dotted" and fork_file is not None and fork_file.is_file():
                problem = _said("function-dotted", where=where, ref=ref.spec, option=key, label=_label(info),
                                module=module)
                fix = fork_fix
            else:
                problem = _said("function-missing", where=where, ref=ref.spec, option=key, file=fork_file)
                fix = _said("function-missing-fix")
            issues.append(_Issue("error", "function-path", f"{where}: {key}", problem, fix,
                                 modules=frozenset({module}), tasks=tasks))

    # --- includes: missing files, cycles, diamonds, precedence --------------------------------------------
    for path, task in sorted(tasks_of.items()):
        where = folder.rel(path)
        visits: dict[Path, list[tuple[Path, ...]]] = {}
        cycles: list[tuple[Path, ...]] = []
        missing: list[tuple[Path, Path]] = []
        _walk_includes(folder, path, (), visits, cycles, missing)
        for parent, inc in missing:
            issues.append(_Issue("error", "include-missing", where,
                                 _said("include-missing", parent=folder.rel(parent), include=inc, task=task),
                                 _said("include-missing-fix"), fix_in_message=False, tasks=frozenset({task})))
        for cycle in cycles[:1]:
            chain = " -> ".join(folder.rel(p) for p in cycle)
            issues.append(_Issue("error", "include-cycle", where, _said("include-cycle", task=task, chain=chain),
                                 _said("include-cycle-fix"), fix_in_message=False, tasks=frozenset({task})))
        if info.includes == "once":
            twice = sorted(p for p, paths in visits.items() if len(paths) > 1)
            if twice:
                again = ", ".join(folder.rel(p) for p in twice)
                problem = _said("include-diamond", where=where, again=again, label=_label(info), task=task)
                issues.append(_Issue("error", "include-diamond", where, problem, fork_fix, tasks=frozenset({task})))
        if info.include_precedence != "first":
            first = _merged(folder, path, "first")
            last = _merged(folder, path, info.include_precedence)
            differ = sorted(k for k in set(first) | set(last) if first.get(k) != last.get(k))
            if differ:
                keys = ", ".join(f"`{k}`" for k in differ)
                problem = _said("include-order", where=where, keys=keys, label=_label(info), task=task)
                issues.append(_Issue("warning", "include-order", where, problem, fork_fix, keys=frozenset(differ),
                                     tasks=frozenset({task})))

    # --- transformers.data.metrics (removed in transformers 5) ---------------------------------------------
    if info.transformers_has_data_metrics is False:
        refs_by_file: dict[Path, set[str]] = {}
        for path, task in tasks_of.items():
            for member in _closure(folder, path):
                cfg = folder.raw.get(member)
                for _key, ref in _function_refs(cfg or {}):
                    module_file, _ = _ref_module_file(ref.spec, member.parent, "file")
                    if module_file is not None:
                        refs_by_file.setdefault(module_file, set()).add(task)
        for py in sorted(root.rglob("*.py")):
            if _IGNORED_DIRS.intersection(py.relative_to(root).parts) or not _imports_data_metrics(py):
                continue
            where = folder.rel(py)
            needed_by = sorted(refs_by_file.get(py.resolve(), set()))
            who: str | _Said = ""
            if needed_by:
                who = _said("used-by-tasks" if len(needed_by) > 1 else "used-by-task", tasks=", ".join(needed_by))
            problem = _said("transformers-metrics", where=where, who=who, version=info.transformers_version)
            fix = _said("transformers-metrics-fix", command=fork_install_command())
            issues.append(_Issue("error", "transformers-metrics", where, problem, fix,
                                 modules=frozenset({"transformers.data.metrics"}), tasks=frozenset(needed_by)))
    if info.is_mera_fork and (info.transformers_major or 0) >= 5:
        problem = _said("fork-transformers", label=_label(info), version=info.transformers_version)
        issues.append(_Issue("error", "fork-transformers", "transformers", problem, _said("fork-transformers-fix"),
                             modules=frozenset({"transformers"})))
    return issues


def _imports_data_metrics(py: Path) -> bool:
    tree = _parse(py)
    if tree is None:
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith("transformers.data.metrics"):
                return True
            if node.module == "transformers.data" and any(a.name == "metrics" for a in node.names):
                return True
        if isinstance(node, ast.Import) and any(a.name.startswith("transformers.data.metrics") for a in node.names):
            return True
    return False


def _concerns(issue: _Issue, tasks: Optional[frozenset[str]]) -> bool:
    """Whether ``issue`` matters for a run of ``tasks`` (None: the whole folder)."""
    return tasks is None or not issue.tasks or bool(issue.tasks & tasks)


def _known_tasks(include_path: str | Path, info: LmEvalInfo, tasks: Optional[Any]) -> Optional[frozenset[str]]:
    """``tasks`` as a set when every name is a task defined in the folder, else None (a tag or group: the whole
    folder is concerned)."""
    if tasks is None:
        return None
    wanted = frozenset(str(t) for t in tasks)
    root = Path(include_path).expanduser().resolve()
    defined = _scan_cached(root, info, _stamp(root))[1]
    return wanted if wanted and wanted <= defined else None


def diagnose_task_folder(include_path: str | Path, *, info: Optional[LmEvalInfo] = None,
                         tasks: Optional[Any] = None) -> list[Finding]:
    """What in the task folder ``include_path`` the installed lm_eval cannot load, and how to fix it.

    Reads YAML and Python sources only (no lm_eval, datasets or task code is imported).  ``info`` describes
    another lm_eval than the installed one (see :func:`lm_eval_info`).  ``tasks``: only what concerns these
    tasks (plus what concerns the whole installation); stock lm_eval 0.4.4 runs ``rummlu`` from MERA's folder
    although ``rutie`` there has fork-only keys.  An empty list: nothing found.
    """
    info = info or lm_eval_info()
    wanted = _known_tasks(include_path, info, tasks)
    return [issue.finding for issue in _scan(include_path, info) if _concerns(issue, wanted)]


@dataclass(frozen=True)
class TaskVerdict:
    """Whether the installed lm_eval can load one task of a folder: ``problems`` (with ``fix``) when it cannot."""

    task: str
    problems: tuple[str, ...] = ()
    fixes: tuple[str, ...] = ()

    @property
    def loads(self) -> bool:
        """True when nothing in the folder stops this task from loading."""
        return not self.problems

    @property
    def message(self) -> str:
        """The problems and their fixes, one per line."""
        return "\n".join((*self.problems, *self.fixes))


def task_verdicts(include_path: str | Path, tasks: Any, *, info: Optional[LmEvalInfo] = None) -> dict[str, TaskVerdict]:
    """For each of ``tasks`` (task names of the folder): can the installed lm_eval load it, and if not, why and
    how to fix it.  Errors that concern no task in particular (MERA's fork under transformers 5) block every task.
    """
    info = info or lm_eval_info()
    issues = [i for i in _scan(include_path, info) if i.level == "error"]
    out: dict[str, TaskVerdict] = {}
    for task in tasks:
        mine = [i for i in issues if not i.tasks or task in i.tasks]
        out[task] = TaskVerdict(task, tuple(dict.fromkeys(i.problem for i in mine)),
                                tuple(dict.fromkeys(i.fix for i in mine)))
    return out


def nothing_loads_message(include_path: str | Path, verdicts: dict[str, TaskVerdict]) -> str:
    """One message for a run none of whose tasks the installed lm_eval can load: the distinct causes, then the
    fixes, each once."""
    info = lm_eval_info()
    problems = list(dict.fromkeys(p for v in verdicts.values() for p in v.problems))
    fixes = list(dict.fromkeys(f for v in verdicts.values() for f in v.fixes))
    shown = problems[:6]
    more = f"- ... and {len(problems) - len(shown)} more of the same kind" if len(problems) > len(shown) else ""
    lines = [f"{info.label} cannot load any of these {len(verdicts)} tasks from {Path(include_path)}:"]
    lines += [f"- {p}" for p in shown] + ([more] if more else []) + fixes
    return "\n".join(lines)


_UNEXPECTED_KEY = re.compile(r"unexpected keyword argument '([^']+)'")
_CANNOT_IMPORT = re.compile(r"Cannot import module '([^']+)'")
_NO_MODULE = re.compile(r"No module named '([^']+)'")
_NOT_FOUND = re.compile(r"Tasks not found:\s*(.+)")
_NOT_REGISTERED = re.compile(r"Spec '([^']+)' is not a registered")
#: findings that make lm_eval leave a task out of its index ("Tasks not found")
_DROPS_TASK = frozenset({"include-diamond", "include-cycle", "include-missing", "yaml-error"})


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    cur: Optional[BaseException] = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        yield cur
        cur = cur.__cause__ or cur.__context__


def _task_tokens(text: str) -> set[str]:
    return {t for t in re.split(r"[\s,;.'\"\[\]()]+", text) if t}


def explain_task_error(exc: BaseException, include_path: str | Path | None) -> Optional[str]:
    """One message saying why lm_eval failed on ``include_path``'s tasks and how to fix it, or None.

    Understands lm_eval's ``TypeError`` (unexpected keyword argument), ``ImportError`` / ``ModuleNotFoundError``
    (``!function`` paths, ``transformers.data.metrics``) and "Tasks not found" / "not a registered task"
    errors, when the folder shows their cause.
    """
    if include_path is None:
        return None
    try:
        issues = _scan(include_path)
    except (OSError, RuntimeError, ModuleNotFoundError):
        return None
    errors = [i for i in issues if i.level == "error"]
    picked: list[_Issue] = []

    def pick(pred: Any) -> None:
        for issue in errors:
            if pred(issue) and issue not in picked:
                picked.append(issue)

    for err in _chain(exc):
        text = str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)
        for key in _UNEXPECTED_KEY.findall(text):
            pick(lambda i, k=key: k in i.keys)
        for module in _CANNOT_IMPORT.findall(text):
            pick(lambda i, m=module: m in i.modules)
        for module in _NO_MODULE.findall(text):
            pick(lambda i, m=module: any(m == x or m.startswith(x + ".") or x.startswith(m + ".")
                                         for x in i.modules if x != "transformers") or
                 (m.startswith("transformers") and "transformers" in i.modules))
        names: set[str] = set()
        for found in _NOT_FOUND.findall(text):
            names |= _task_tokens(found)
        names |= set(_NOT_REGISTERED.findall(text))
        if names:
            pick(lambda i, n=frozenset(names): bool(i.tasks & n) and i.code in _DROPS_TASK)
    if not picked:
        return None
    info = lm_eval_info()
    lines = [f"{info.label} cannot load these MERA tasks from {Path(include_path)}:"]
    lines += [f"- {i.problem}" for i in picked]
    for fix in dict.fromkeys(i.fix for i in picked):
        lines.append(fix)
    return "\n".join(lines)

