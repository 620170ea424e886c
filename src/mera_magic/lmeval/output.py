"""Find the runs lm_eval wrote under a folder.

lm_eval's ``EvaluationTracker`` names every file of one run with the same date stamp
(``datetime.now().isoformat()`` with ``:`` replaced by ``-``, e.g. ``2026-11-28T23-29-07.926461``):

* ``--output_path DIR`` (every version 0.4.4 .. 0.4.13):
  ``DIR/<model_sanitized>/results_<stamp>.json`` and ``DIR/<model_sanitized>/samples_<task>_<stamp>.jsonl``;
* ``--output_path FILE.json`` (0.4.13 and other recent versions): ``<parent>/FILE_<stamp>.json`` and the
  samples beside it, ``<parent>/samples_<task>_<stamp>.jsonl`` (0.4.4 made a folder named ``FILE.json``
  and used the first layout inside it).

A run is therefore one results file plus the samples files in the same folder that carry its stamp.

This module is the one reader of those folders: :func:`find_runs` (results, runs, compare), :func:`samples_files`
(the submission archive), :func:`output_files` (what a run just wrote) all search the same way, recursively.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Optional

from ..spec import MODEL_NAME_KEYS

STAMP = r"\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}(?:\.\d+)?"
#: ``results_<stamp>.json`` or ``<any stem>_<stamp>.json``
RESULTS_NAME = re.compile(rf"^(?P<stem>.+)_(?P<stamp>{STAMP})\.json$")
#: ``samples_<task>_<stamp>.jsonl`` (older lm_eval also wrote ``.json``)
SAMPLES_NAME = re.compile(rf"^samples_(?P<task>.+)_(?P<stamp>{STAMP})\.jsonl?$")


@dataclass
class RunFiles:
    """The files of one lm_eval run: its results file and its per-task samples files."""

    results: Path
    stamp: str
    samples: dict[str, Path] = field(default_factory=dict)

    @property
    def folder(self) -> Path:
        """The folder holding the run's files (``<output_path>/<model_sanitized>`` for a folder output)."""
        return self.results.parent

    @property
    def date(self) -> datetime | None:
        """The run's start, parsed from the date stamp in the file names."""
        return stamp_to_datetime(self.stamp)

    @property
    def paths(self) -> list[Path]:
        """Every file of the run, results first."""
        return [self.results, *self.samples.values()]


def stamp_to_datetime(stamp: str) -> datetime | None:
    """Parse lm_eval's file-name date stamp (``2026-11-28T23-29-07.926461``) into a datetime."""
    date, _, time = stamp.partition("T")
    try:
        return datetime.fromisoformat(f"{date}T{time.replace('-', ':')}")
    except ValueError:
        return None


def stamp_of(path: Path) -> str | None:
    """The date stamp in a results file name, or None when the name has none."""
    match = RESULTS_NAME.match(path.name)
    return match.group("stamp") if match else None


def samples_in(folder: Path, stamp: str) -> dict[str, Path]:
    """The samples files in ``folder`` that belong to the run with this stamp, by task name."""
    found: dict[str, Path] = {}
    for candidate in sorted(folder.glob(f"samples_*_{stamp}.json*")):
        match = SAMPLES_NAME.match(candidate.name)
        if match and match.group("stamp") == stamp:
            found[match.group("task")] = candidate
    return found


def run_files(results_path: Path) -> RunFiles:
    """The run a results file belongs to (the file itself plus the samples files with its stamp)."""
    stamp = stamp_of(results_path) or ""
    samples = samples_in(results_path.parent, stamp) if stamp else {}
    return RunFiles(results=results_path, stamp=stamp, samples=samples)


def find_runs(root: Path) -> list[RunFiles]:
    """Every run under ``root`` (searched recursively), oldest first by the date stamp in the file names.

    Candidates are ``*_<stamp>.json`` files that are not samples files; whether a candidate really is an
    lm_eval results file is decided when it is read.
    """
    runs: list[RunFiles] = []
    for path in sorted(root.rglob("*.json")):
        if not path.is_file() or path.name.startswith("samples_"):
            continue
        if RESULTS_NAME.match(path.name):
            runs.append(run_files(path))
    runs.sort(key=lambda run: (run.stamp, str(run.results)))
    return runs


def output_files(output_path: str | None) -> set[Path]:
    """Results and samples files under an output path (to tell which ones a run wrote)."""
    if not output_path:
        return set()
    root = Path(output_path)
    if root.suffix == ".json":
        root = root.parent
    if not root.exists():
        return set()
    return {p for p in root.rglob("*") if p.is_file() and p.name.startswith(("results_", "samples_", "results"))}


def model_args_of_text(text: str) -> dict[str, Any]:
    """``pretrained=x,dtype=float32`` as lm_eval <= 0.4.9 records ``--model_args`` -> a mapping (lm_eval's own
    ``simple_parse_args_string``; text it cannot read gives an empty mapping)."""
    from .source import source_function

    try:
        parsed = source_function("utils.py", "simple_parse_args_string", "lm_eval.utils")(text)
    except Exception:  # noqa: BLE001 - malformed text in a results file is data, not a crash
        return {}
    return dict(parsed) if isinstance(parsed, dict) else {}

def model_name_of(raw: dict[str, Any], spec: Any = None) -> str | None:
    """The model's name as lm_eval records it (``model_name``), else from the model_args, else the backend."""
    if raw.get("model_name"):
        return str(raw["model_name"])
    config = raw.get("config") or {}
    args = config.get("model_args")
    if isinstance(args, str):  # lm_eval <= 0.4.9 records the --model_args text
        args = model_args_of_text(args)
    if isinstance(args, dict):
        for key in MODEL_NAME_KEYS:
            if args.get(key):
                return str(args[key])
    if spec is not None and getattr(spec, "model_name", None):
        return str(spec.model_name)
    model = config.get("model")
    return str(model) if model else None


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
    """Every samples file under ``output_dir`` (searched recursively, as :func:`find_runs` does), each with its
    run's results record.

    Returns the files (oldest first) and the results files that could not be read, with the reason.
    """
    root = Path(output_dir).expanduser()
    files: list[SamplesFile] = []
    unreadable: list[tuple[Path, str]] = []
    records: dict[Path, Optional[RunRecord]] = {}
    for folder in sorted({path.parent for path in root.rglob("samples_*.json*")}):
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
