"""Find the samples files of an output folder and tell which run, model and settings each came from.

lm_eval writes ``<output_path>/<model_sanitized>/samples_<task>_<stamp>.jsonl`` beside the run's
``results_<stamp>.json``.  The results file (same folder, same stamp) names the model and the run's settings;
a samples file without one is attributed to its folder's name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Optional

from ..lmeval.output import RESULTS_NAME, SAMPLES_NAME, stamp_to_datetime
from ..results.meta import model_name_of

__all__ = ["RESULTS_NAME", "SAMPLES_NAME", "model_name_of", "stamp_to_datetime"]


class CorruptedFile(Exception):
    """A samples or results file that cannot be parsed; ``line`` is 1-based (None for a whole JSON file)."""

    def __init__(self, path: Path, line: Optional[int], reason: str) -> None:
        self.path, self.line, self.reason = path, line, reason
        where = f"line {line} of {path}" if line else str(path)
        super().__init__(f"corrupted JSONL {where}: {reason}" if line else f"unreadable JSON {where}: {reason}")


@dataclass(frozen=True)
class RunRecord:
    """What a results file says about its run (only what the archive checks need)."""

    path: Path
    model: Optional[str]
    raw: dict[str, Any] = field(repr=False, hash=False, compare=False)

    def n_shot(self, task: str) -> Optional[int]:
        """The few-shot count the run used for ``task``, if recorded."""
        value = (self.raw.get("n-shot") or {}).get(task)
        if value is None:
            value = ((self.raw.get("configs") or {}).get(task) or {}).get("num_fewshot")
        try:
            return int(value) if value is not None else None
        except (TypeError, ValueError):
            return None

    def n_samples(self, task: str) -> tuple[Optional[int], Optional[int]]:
        """(documents in the split, documents evaluated) for ``task``, if recorded."""
        counts = (self.raw.get("n-samples") or {}).get(task) or {}
        orig, eff = counts.get("original"), counts.get("effective")
        return (int(orig) if isinstance(orig, (int, float)) else None,
                int(eff) if isinstance(eff, (int, float)) else None)

    @property
    def limit(self) -> Any:
        """The run's ``--limit`` (None when the whole split ran)."""
        return (self.raw.get("config") or {}).get("limit")

    def setting(self, name: str) -> Any:
        """A run-level setting that changes prompts: system instruction, chat template, multiturn few-shot."""
        return self.raw.get(name)


@dataclass(frozen=True)
class SamplesFile:
    """One ``samples_<task>_<stamp>.jsonl`` file."""

    path: Path
    task: str
    stamp: str
    run: Optional[RunRecord] = field(default=None, compare=False)

    @property
    def folder(self) -> Path:
        """The folder holding the file."""
        return self.path.parent

    @property
    def when(self) -> datetime:
        """The run's start from the file name's stamp (files with an unreadable stamp sort first)."""
        return stamp_to_datetime(self.stamp) or datetime.min

    @property
    def model(self) -> Optional[str]:
        """The model named by the run's results file, else None."""
        return self.run.model if self.run else None

    def label(self, root: Path) -> str:
        """The path relative to ``root`` (for messages)."""
        try:
            return self.path.relative_to(root).as_posix()
        except ValueError:
            return str(self.path)


def read_json(path: Path) -> dict[str, Any]:
    """Read a results file; :class:`CorruptedFile` when it is not a JSON object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorruptedFile(path, None, str(exc)) from None
    if not isinstance(data, dict):
        raise CorruptedFile(path, None, f"expected a JSON object, got {type(data).__name__}")
    return data


def read_samples(path: Path) -> list[dict[str, Any]]:
    """Read a samples file (JSONL, or the JSON list older lm_eval wrote); :class:`CorruptedFile` names the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CorruptedFile(path, None, str(exc)) from None
    if path.suffix == ".json" and text.lstrip().startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CorruptedFile(path, None, str(exc)) from None
        rows = data if isinstance(data, list) else []
    else:
        rows = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise CorruptedFile(path, number, exc.msg + f" (column {exc.colno})") from None
            if not isinstance(rows[-1], dict):
                raise CorruptedFile(path, number, f"expected a JSON object, got {type(rows[-1]).__name__}")
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            raise CorruptedFile(path, number, f"expected a JSON object, got {type(row).__name__}")
    return rows


def search_folders(output_dir: Path) -> list[Path]:
    """``output_dir`` and its immediate sub-folders (``<model_sanitized>/``), the places lm_eval writes to."""
    return [output_dir] + sorted(p for p in output_dir.iterdir() if p.is_dir() and not p.name.startswith("."))


def _results_by_stamp(folder: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in sorted(folder.glob("*.json")):
        match = RESULTS_NAME.match(path.name)
        if match and not path.name.startswith("samples_"):
            found.setdefault(match.group("stamp"), path)
    return found


def samples_files(output_dir: str | Path) -> tuple[list[SamplesFile], list[tuple[Path, str]]]:
    """Every samples file in ``output_dir`` and its sub-folders, each with its run's results record.

    Returns the files (oldest first) and the results files that could not be read, with the reason.
    """
    root = Path(output_dir).expanduser()
    files: list[SamplesFile] = []
    unreadable: list[tuple[Path, str]] = []
    records: dict[Path, Optional[RunRecord]] = {}
    for folder in search_folders(root):
        results = _results_by_stamp(folder)
        for path in sorted(folder.glob("samples_*.json*")):
            match = SAMPLES_NAME.match(path.name)
            if not match or not path.is_file():
                continue
            stamp = match.group("stamp")
            run: Optional[RunRecord] = None
            res_path = results.get(stamp)
            if res_path is not None:
                if res_path not in records:
                    try:
                        raw = read_json(res_path)
                        records[res_path] = RunRecord(res_path, model_name_of(raw), raw)
                    except CorruptedFile as exc:
                        records[res_path] = None
                        unreadable.append((res_path, exc.reason))
                run = records[res_path]
            files.append(SamplesFile(path.resolve(), match.group("task"), stamp, run))
    files.sort(key=lambda f: (f.when, str(f.path)))
    return files, unreadable
