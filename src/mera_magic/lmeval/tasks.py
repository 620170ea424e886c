"""The task index: which task, group and tag names exist, and what output types they run.

Built by the installed lm_eval's own ``TaskManager`` (so ``--include_path`` semantics are exactly lm_eval's),
once per include path and kept in the session.  When every requested name is found in the include path, the
~15k built-in tasks are not indexed at all (that alone costs several seconds).
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..session import SESSION

try:  # PyYAML is a dependency of lm_eval
    import yaml
except ImportError:  # pragma: no cover - lm_eval always brings it
    yaml = None  # type: ignore[assignment]


@dataclass(frozen=True)
class TaskInfo:
    """One name in the index."""

    name: str
    #: "task", "group", "tag" or "python_task"
    kind: str
    yaml_path: Path | None
    #: output types of the leaf tasks it runs ("multiple_choice", "generate_until", "loglikelihood", ...)
    output_types: frozenset[str]


class _Loader(yaml.SafeLoader if yaml else object):  # type: ignore[misc]
    """Reads task YAMLs without resolving ``!function`` tags."""


if yaml is not None:
    _Loader.add_multi_constructor("!", lambda loader, suffix, node: f"!{suffix}")


def read_task_yaml(path: Path, _depth: int = 0) -> dict[str, Any]:
    """A task YAML with its ``include`` chain merged (the file's own keys win), ``!function`` left as text."""
    try:
        with open(path, encoding="utf-8") as fh:
            config = yaml.load(fh, Loader=_Loader) or {}
    except (OSError, yaml.YAMLError):
        return {}
    if not isinstance(config, dict):
        return {}
    includes = config.pop("include", None)
    if includes and _depth < 8:
        merged: dict[str, Any] = {}
        for inc in reversed(includes if isinstance(includes, list) else [includes]):
            inc_path = Path(inc) if os.path.isabs(inc) else path.parent / inc
            merged.update(read_task_yaml(inc_path, _depth + 1))
        merged.update(config)
        config = merged
    return config


class TaskIndex:
    """The names lm_eval's TaskManager knows for one include path (with or without built-in tasks)."""

    def __init__(self, include_path: str | None, include_defaults: bool) -> None:
        from lm_eval.tasks import TaskManager

        self.include_path = include_path
        self.include_defaults = include_defaults
        self.manager = TaskManager(include_path=include_path, include_defaults=include_defaults)
        self._types: dict[str, frozenset[str]] = {}

    @property
    def names(self) -> list[str]:
        """Every task, group and tag name."""
        return list(self.manager.all_tasks)

    def __contains__(self, name: str) -> bool:
        return name in self.manager.task_index

    def _entry(self, name: str) -> tuple[str, Path | None, dict[str, Any] | None]:
        entry = self.manager.task_index[name]
        if isinstance(entry, dict):  # lm_eval <= 0.4.9
            kind = entry.get("type", "task")
            path = entry.get("yaml_path")
            path = Path(path) if isinstance(path, str) else None
            return kind, path, entry
        kind = getattr(entry.kind, "name", str(entry.kind)).lower()  # lm_eval >= 0.4.10
        kind = {"py_task": "python_task"}.get(kind, kind)
        return kind, entry.yaml_path, getattr(entry, "cfg", None)

    def info(self, name: str) -> TaskInfo:
        """What the index says about ``name`` (which must be in it)."""
        kind, path, _ = self._entry(name)
        return TaskInfo(name, kind, path, self.output_types(name))

    def _members(self, name: str, kind: str, path: Path | None, raw: dict[str, Any] | None) -> list[Any]:
        if kind == "group" and path is not None:
            members = read_task_yaml(path).get("task", [])
            return members if isinstance(members, list) else [members]
        if kind == "tag":
            if isinstance(raw, dict) and isinstance(raw.get("task"), list):
                return list(raw["task"])
            out = []
            for other in self.names:
                o_kind, o_path, _ = self._entry(other)
                if o_kind == "task" and o_path is not None:
                    tags = read_task_yaml(o_path).get("tag", [])
                    if name in (tags if isinstance(tags, list) else [tags]):
                        out.append(other)
            return out
        return []

    def output_types(self, name: str, _seen: frozenset[str] = frozenset()) -> frozenset[str]:
        """Output types of the leaf tasks behind ``name`` (empty when they cannot be read from YAML)."""
        if name in self._types:
            return self._types[name]
        if name not in self or name in _seen:
            return frozenset()
        kind, path, raw = self._entry(name)
        types: set[str] = set()
        if kind in ("task", "python_task"):
            if path is not None:
                output_type = read_task_yaml(path).get("output_type")
                if output_type:
                    types.add(str(output_type))
        else:
            for member in self._members(name, kind, path, raw):
                if isinstance(member, dict):
                    if member.get("output_type"):
                        types.add(str(member["output_type"]))
                    elif isinstance(member.get("task"), str) and member["task"] in self:
                        types |= self.output_types(member["task"], _seen | {name})
                elif isinstance(member, str):
                    types |= self.output_types(member, _seen | {name})
        self._types[name] = frozenset(types)
        return self._types[name]


def task_index(include_path: str | None = None, include_defaults: bool = True) -> TaskIndex:
    """The session's index for ``include_path`` (built on first use)."""
    key = (os.path.abspath(include_path) if include_path else None, include_defaults)
    if key not in SESSION.task_indexes:
        SESSION.task_indexes[key] = TaskIndex(key[0], include_defaults)
    return SESSION.task_indexes[key]


def _is_path_like(name: str) -> bool:
    return name.endswith((".yaml", ".yml")) or os.sep in name or os.path.isdir(name)


def resolve_tasks(names: list[str], include_path: str | None = None) -> tuple[dict[str, TaskInfo], list[str], TaskIndex]:
    """Look up task names as lm_eval would: ``(found, missing, index used)``.

    The include path alone is tried first; lm_eval's built-in tasks are indexed only if a name is not there.
    YAML file paths and directories are accepted as lm_eval accepts them; glob patterns match index names.
    """
    candidates = [n for n in names if not _is_path_like(n)]
    index = task_index(include_path, include_defaults=False) if include_path else None

    def lookup(idx: TaskIndex) -> tuple[dict[str, TaskInfo], list[str]]:
        found: dict[str, TaskInfo] = {}
        missing: list[str] = []
        for name in candidates:
            if name in idx:
                found[name] = idx.info(name)
            elif any(ch in name for ch in "*?["):
                matches = fnmatch.filter(idx.names, name)
                if matches:
                    for m in matches:
                        found[m] = idx.info(m)
                else:
                    missing.append(name)
            else:
                missing.append(name)
        return found, missing

    if index is not None:
        found, missing = lookup(index)
        if not missing:
            return found, missing, index
    index = task_index(include_path, include_defaults=True)
    found, missing = lookup(index)
    return found, missing, index
