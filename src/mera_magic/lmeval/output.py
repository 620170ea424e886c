"""Find the runs lm_eval wrote under a folder.

lm_eval's ``EvaluationTracker`` names every file of one run with the same date stamp
(``datetime.now().isoformat()`` with ``:`` replaced by ``-``, e.g. ``2026-11-28T23-29-07.926461``):

* ``--output_path DIR`` (every version 0.4.4 .. 0.4.13):
  ``DIR/<model_sanitized>/results_<stamp>.json`` and ``DIR/<model_sanitized>/samples_<task>_<stamp>.jsonl``;
* ``--output_path FILE.json`` (0.4.13 and other recent versions): ``<parent>/FILE_<stamp>.json`` and the
  samples beside it, ``<parent>/samples_<task>_<stamp>.jsonl`` (0.4.4 made a folder named ``FILE.json``
  and used the first layout inside it).

A run is therefore one results file plus the samples files in the same folder that carry its stamp.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

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
