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
#: the characters lm_eval's file names are made of (task names, sanitized model names, date stamps)
_SAFE_NAME = re.compile(r"^(?!.*\.\.)[A-Za-z0-9_.\-]+$")


def safe_name(name: str) -> bool:
    """True for a file name lm_eval could have written: no ``\\``, ``/``, ``..``, spaces or other characters an
    archive or another tool could read as a path (``..\\..\\x.json`` is not one)."""
    return bool(_SAFE_NAME.match(name))


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


def _samples_by_stamp(paths: list[Path]) -> dict[str, dict[str, Path]]:
    found: dict[str, dict[str, Path]] = {}
    for candidate in sorted(paths):
        match = SAMPLES_NAME.match(candidate.name)
        if match and safe_name(candidate.name) and candidate.is_file():  # a folder named like one is not one
            found.setdefault(match.group("stamp"), {})[match.group("task")] = candidate
    return found


def samples_in(folder: Path, stamp: str) -> dict[str, Path]:
    """The samples files in ``folder`` that belong to the run with this stamp, by task name."""
    return _samples_by_stamp(list(folder.glob(f"samples_*_{stamp}.json*"))).get(stamp, {})


def run_files(results_path: Path) -> RunFiles:
    """The run a results file belongs to (the file itself plus the samples files with its stamp)."""
    stamp = stamp_of(results_path) or ""
    samples = samples_in(results_path.parent, stamp) if stamp else {}
    return RunFiles(results=results_path, stamp=stamp, samples=samples)


def find_runs(root: Path) -> list[RunFiles]:
    """Every run under ``root`` (searched recursively), oldest first by the date stamp in the file names.

    Candidates are ``*_<stamp>.json`` files that are not samples files; whether a candidate really is an
    lm_eval results file is decided when it is read.  The tree is listed once (thousands of files in one
    folder cost one listing, not one per file).
    """
    by_folder: dict[Path, list[Path]] = {}
    results: list[Path] = []
    for path in root.rglob("*.json*"):
        if path.name.startswith("samples_"):
            by_folder.setdefault(path.parent, []).append(path)
        elif path.suffix == ".json" and RESULTS_NAME.match(path.name) and safe_name(path.name) and path.is_file():
            results.append(path)
    samples = {folder: _samples_by_stamp(paths) for folder, paths in by_folder.items()}
    runs: list[RunFiles] = []
    for path in results:
        stamp = stamp_of(path) or ""
        runs.append(RunFiles(results=path, stamp=stamp, samples=dict(samples.get(path.parent, {}).get(stamp, {}))))
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
    if raw.get("model_name") and isinstance(raw["model_name"], (str, int, float)):
        return str(raw["model_name"])
    config: dict[str, Any] = raw["config"] if isinstance(raw.get("config"), dict) else {}
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
        #: the line of a whole JSON file where it stops being valid (None when not a syntax error)
        self.at_line: Optional[int] = None
        where = f"line {line} of {path}" if line else str(path)
        super().__init__(f"corrupted JSONL {where}: {reason}" if line else f"unreadable JSON {where}: {reason}")


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class RunRecord:
    """What a results file says about its run (only what the archive checks need)."""

    path: Path
    model: Optional[str]
    raw: dict[str, Any] = field(repr=False, hash=False, compare=False)

    def n_shot(self, task: str) -> Optional[int]:
        """The few-shot count the run used for ``task``, if recorded."""
        value = _mapping(self.raw.get("n-shot")).get(task)
        if value is None:
            value = _mapping(_mapping(self.raw.get("configs")).get(task)).get("num_fewshot")
        try:
            return int(value) if value is not None else None
        except (TypeError, ValueError):
            return None

    def n_samples(self, task: str) -> tuple[Optional[int], Optional[int]]:
        """(documents in the split, documents evaluated) for ``task``, if recorded."""
        counts = _mapping(_mapping(self.raw.get("n-samples")).get(task))
        orig, eff = counts.get("original"), counts.get("effective")
        return (int(orig) if isinstance(orig, (int, float)) else None,
                int(eff) if isinstance(eff, (int, float)) else None)

    @property
    def limit(self) -> Any:
        """The run's ``--limit`` (None when the whole split ran)."""
        return _mapping(self.raw.get("config")).get("limit")

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


#: the largest results file read (lm_eval's are kilobytes; a bigger one is not a results file)
MAX_RESULTS_BYTES = 64 * 2**20
#: the largest line of a samples file read (one sample with its prompts and answers)
MAX_LINE_BYTES = 64 * 2**20
_TOO_DEEP = "nested too deeply to be lm_eval's output (Python's JSON reader gives up)"


def load_json_text(path: Path, limit: int = MAX_RESULTS_BYTES) -> Any:
    """The JSON value in ``path``; :class:`CorruptedFile` with the reason (size, folder, encoding, line and
    column of a syntax error, nesting) otherwise.  Never reads more than ``limit`` bytes."""
    try:
        size = path.stat().st_size
        if path.is_dir():
            raise CorruptedFile(path, None, "it is a folder, not a file")
        if size > limit:
            raise CorruptedFile(path, None, f"{size:,} bytes, more than the {limit:,} a results file can be "
                                            "(not lm_eval's results; move it out of the folder)")
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise CorruptedFile(path, None, f"cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise CorruptedFile(path, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        error = CorruptedFile(path, None, f"not valid JSON ({exc.msg}, column {exc.colno})")
        error.at_line = exc.lineno
        raise error from None
    except RecursionError:
        raise CorruptedFile(path, None, _TOO_DEEP) from None


def read_json(path: Path) -> dict[str, Any]:
    """Read a results file; :class:`CorruptedFile` when it is not a JSON object (its odd-typed fields are
    dropped, see :func:`check_shape`)."""
    data = load_json_text(path)
    if not isinstance(data, dict):
        raise CorruptedFile(path, None, f"expected a JSON object, got {type(data).__name__}")
    return check_shape(data)[0]


#: lm_eval's per-task mappings in a results file: field -> the type each task's entry must have
_PER_TASK: dict[str, tuple[type, ...]] = {
    "results": (dict,), "groups": (dict,), "configs": (dict,), "higher_is_better": (dict,),
    "n-samples": (dict,), "group_subtasks": (list,), "versions": (str, int, float, type(None)),
    "n-shot": (str, int, float, type(None)), "task_hashes": (str,),
}


def check_shape(raw: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``raw`` with every field of the wrong type dropped, and one message per dropped field.

    lm_eval writes ``results``, ``configs``, ``n-samples``, ``n-shot``, ... as mappings by task, ``config`` as
    a mapping; a file edited by hand or written by something else may have ``"n-samples": [1, 2]`` or
    ``"config": "str"``: those fields are left out (and named) so that the rest can still be read.
    """
    clean = dict(raw)
    problems: list[str] = []
    for name, wanted in _PER_TASK.items():
        value = clean.get(name)
        if value is None:
            continue
        if not isinstance(value, dict):
            problems.append(f"field {name!r} is {_kind(value)}, expected a mapping by task; ignored")
            clean[name] = {}
            continue
        bad = [task for task, item in value.items() if not isinstance(item, wanted)]
        for task in bad[:5]:
            problems.append(f"field {name}.{task} is {_kind(value[task])}, expected "
                            f"{' or '.join(_kind_name(t) for t in wanted if t is not type(None))}; ignored")
        if len(bad) > 5:
            problems.append(f"field {name}: {len(bad) - 5} more entries of the wrong type ignored")
        if bad:
            clean[name] = {task: item for task, item in value.items() if task not in set(bad)}
    for name in ("config",):
        value = clean.get(name)
        if value is not None and not isinstance(value, dict):
            problems.append(f"field {name!r} is {_kind(value)}, expected a mapping; ignored")
            clean[name] = {}
    args = (clean.get("config") or {}).get("model_args")
    if args is not None and not isinstance(args, (str, dict)):
        problems.append(f"field config.model_args is {_kind(args)}, expected a mapping or k=v text; ignored")
        clean["config"] = {k: v for k, v in clean["config"].items() if k != "model_args"}
    return clean, problems


def _kind_name(kind: type) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", int: "a number", float: "a number"}.get(
        kind, kind.__name__)


def _kind(value: Any) -> str:
    return f"{_kind_name(type(value))} ({json.dumps(value, default=str)[:40]})"


def read_samples(path: Path) -> list[dict[str, Any]]:
    """Read a samples file (JSONL, or the JSON list older lm_eval wrote); :class:`CorruptedFile` names the line.

    JSONL is read line by line (no copy of the whole file in memory besides the rows); a line longer than
    :data:`MAX_LINE_BYTES` is reported, not read.
    """
    if path.is_dir():
        raise CorruptedFile(path, None, "it is a folder, not a file")
    if path.suffix == ".json":
        try:
            with path.open("rb") as handle:
                head = handle.read(64).lstrip()
        except OSError as exc:
            raise CorruptedFile(path, None, f"cannot be read ({exc.strerror or exc})") from None
        if head.startswith(b"["):
            data = load_json_text(path, limit=4 * MAX_RESULTS_BYTES)
            if not isinstance(data, list):
                raise CorruptedFile(path, None, f"expected a JSON list, got {type(data).__name__}")
            for number, row in enumerate(data, start=1):
                if not isinstance(row, dict):
                    raise CorruptedFile(path, number, f"expected a JSON object, got {type(row).__name__}")
            return data
    rows: list[dict[str, Any]] = []
    try:
        with path.open("rb") as handle:
            for number, line in enumerate(iter(lambda: handle.readline(MAX_LINE_BYTES + 1), b""), start=1):
                if len(line) > MAX_LINE_BYTES:
                    raise CorruptedFile(path, number, f"longer than {MAX_LINE_BYTES:,} bytes (not a sample)")
                if not line.strip():
                    continue
                try:
                    row = json.loads(line.decode("utf-8"))
                except UnicodeDecodeError as exc:
                    raise CorruptedFile(path, number, f"not UTF-8 text ({exc.reason})") from None
                except json.JSONDecodeError as exc:
                    raise CorruptedFile(path, number, exc.msg + f" (column {exc.colno})") from None
                except RecursionError:
                    raise CorruptedFile(path, number, _TOO_DEEP) from None
                if not isinstance(row, dict):
                    raise CorruptedFile(path, number, f"expected a JSON object, got {type(row).__name__}")
                rows.append(row)
    except OSError as exc:
        raise CorruptedFile(path, None, f"cannot be read ({exc.strerror or exc})") from None
    return rows


def search_folders(output_dir: Path) -> list[Path]:
    """``output_dir`` and its immediate sub-folders (``<model_sanitized>/``), the places lm_eval writes to."""
    return [output_dir] + sorted(p for p in output_dir.iterdir() if p.is_dir() and not p.name.startswith("."))


def _results_by_stamp(folder: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in sorted(folder.glob("*.json")):
        match = RESULTS_NAME.match(path.name)
        if match and not path.name.startswith("samples_") and safe_name(path.name) and path.is_file():
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
            if not match or not safe_name(path.name) or not path.is_file():
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
