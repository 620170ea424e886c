"""``load(path)``: a RunResult from the files lm_eval wrote.

``path`` may be an ``--output_path`` folder (searched recursively, so ``<output_path>`` and
``<output_path>/<model_sanitized>`` both work) or one ``results_*.json`` file.  When the folder holds several
runs the newest (by the date stamp in the file names) is loaded and a note says so; ``run=`` picks another:
a date stamp (or its prefix, ``"2026-11-28"``), a position in :func:`mera_magic.results.runs` order (``0``
oldest, ``-1`` newest), or ``"merge"``: the newest run of each task for the newest run's model, the way
MERA's scripts run one task per lm_eval process.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from ..errors import ResultsError
from ..lmeval.output import CorruptedFile, RunFiles, check_shape, find_runs, load_json_text, run_files
from .model import RunResult
from .problems import Problem, ResultsWarning

#: the lm_eval releases whose output this reader knows (0.4.4 and older record no version)
KNOWN_VERSIONS = ((0, 4, 4), (0, 4, 13))


def read_results_checked(path: Path) -> tuple[dict[str, Any], list[Problem]]:
    """Read and check one results file: the content with odd-typed fields left out, and one Problem per field
    left out (:func:`mera_magic.lmeval.output.check_shape`); a clear :class:`ResultsError` naming the file
    (and line) when it cannot be read at all."""
    try:
        raw = load_json_text(path)
    except CorruptedFile as exc:
        where = f"{path}:{exc.at_line}" if exc.at_line else str(path)
        raise ResultsError(
            f"{where}: {exc.reason}.",
            hint="The file may be truncated (a run that was killed while saving) or edited by hand.",
        ) from None
    if not isinstance(raw, dict) or not isinstance(raw.get("results"), dict):
        raise ResultsError(
            f"{path}: not an lm_eval results file (no 'results' mapping).",
            hint="Point load() at the --output_path folder or at a results_<date>.json file.",
        )
    raw, messages = check_shape(raw)
    check_version(raw, path)
    return raw, [Problem(path, None, message) for message in messages]


def read_results(path: Path) -> dict[str, Any]:
    """Read and check one results file (odd-typed fields left out with a warning); :class:`ResultsError`
    naming the file (and line) when it cannot be read."""
    raw, problems = read_results_checked(path)
    for problem in problems:
        warnings.warn(str(problem), ResultsWarning, stacklevel=2)
    return raw


def _version_tuple(text: str) -> tuple[int, ...] | None:
    parts = []
    for piece in str(text).split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts) if parts else None


def check_version(raw: dict[str, Any], path: Path | str) -> None:
    """Warn when the results come from an lm_eval release this reader does not know (read anyway)."""
    version = raw.get("lm_eval_version")
    if version is None:
        return  # lm_eval 0.4.4 (and MERA's fork of it) records no version
    parsed = _version_tuple(str(version))
    low, high = KNOWN_VERSIONS
    if parsed is None or not (low <= parsed[:3] <= high + (99,)):
        warnings.warn(
            f"{path}: written by lm_eval {version}, which mera_magic does not know "
            f"(it reads 0.4.4 to 0.4.13); showing what can be read.",
            ResultsWarning,
            stacklevel=3,
        )


def _pick(runs: list[RunFiles], run: str | int | None, root: Path) -> RunFiles:
    if run is None:
        return runs[-1]
    if isinstance(run, int):
        try:
            return runs[run]
        except IndexError:
            raise ResultsError(f"{root}: there is no run {run}; it holds {len(runs)} run(s).") from None
    matches = [r for r in runs if r.stamp.startswith(str(run)) or r.results.name == str(run)]
    if not matches:
        stamps = ", ".join(r.stamp for r in runs[-5:])
        raise ResultsError(f"{root}: no run matches {run!r}.", hint=f"Runs there (newest last): {stamps}.")
    return matches[-1]


def load(path: str | Path, run: str | int | None = None) -> RunResult:
    """Load an lm_eval run (folder or ``results_*.json``) as a :class:`RunResult`; see the module docstring."""
    root = Path(path).expanduser()
    if not root.exists():
        raise ResultsError(f"{root}: no such file or folder.")
    if root.is_file():
        if run is not None:
            raise ResultsError(f"{root} is one results file; run= applies to folders.")
        files = run_files(root)
        raw, shape = read_results_checked(root)
        single = RunResult.from_files(files, raw)
        single._problems.extend(shape)
        return single
    runs = find_runs(root)
    if not runs:
        raise ResultsError(
            f"{root}: no lm_eval results here (no results_<date>.json file in it or below).",
            hint="Run with --output_path pointing here, or pass the folder lm_eval wrote to.",
        )
    if run == "merge":
        return _merge(runs, root)
    notes: list[str] = []
    problems: list[Problem] = []
    chosen = _pick(runs, run, root)
    while True:
        try:
            raw, shape = read_results_checked(chosen.results)
            problems.extend(shape)
            break
        except ResultsError as exc:
            if run is not None:
                raise
            problems.append(Problem(chosen.results, None, exc.message))
            index = runs.index(chosen)
            if index == 0:
                raise ResultsError(
                    f"{root}: no readable results file; the newest fails with: {exc.message}"
                ) from exc
            chosen = runs[index - 1]
    if len(runs) > 1 and run is None:
        notes.append(
            f"{len(runs)} runs under {root}; showing the newest, {chosen.stamp} ({chosen.results.name}). "
            f"Pick another with load(path, run='<date>'), list them with runs(path)."
        )
    result = RunResult.from_files(chosen, raw, notes=notes)
    result._problems.extend(problems)
    for problem in problems:
        warnings.warn(f"skipped {problem}", ResultsWarning, stacklevel=2)
    return result


def _merge(runs: list[RunFiles], root: Path) -> RunResult:
    """The newest run of each task, for the model of the newest run (MERA's scripts: one task per run)."""
    newest_folder = runs[-1].folder
    chosen: dict[str, tuple[RunFiles, dict[str, Any]]] = {}
    problems: list[Problem] = []
    for candidate in reversed([r for r in runs if r.folder == newest_folder]):
        try:
            raw, shape = read_results_checked(candidate.results)
            problems.extend(shape)
        except ResultsError as exc:
            problems.append(Problem(candidate.results, None, exc.message))
            continue
        for task in raw["results"]:
            chosen.setdefault(str(task), (candidate, raw))
    if not chosen:
        raise ResultsError(f"{root}: no readable results file.")
    used = sorted({id(r): (r, raw) for r, raw in chosen.values()}.values(), key=lambda p: p[0].stamp)
    merged: dict[str, Any] = dict(used[-1][1])
    for key in (
        "results",
        "groups",
        "group_subtasks",
        "configs",
        "versions",
        "n-shot",
        "higher_is_better",
        "n-samples",
    ):
        combined: dict[str, Any] = {}
        for files, raw in used:
            for name, value in (raw.get(key) or {}).items():
                if chosen.get(str(name), (None,))[0] is files or name not in combined:
                    combined[name] = value
        merged[key] = combined
    total = 0.0
    for _, raw in used:
        try:
            total += float(raw.get("total_evaluation_time_seconds") or 0)
        except (TypeError, ValueError):
            pass
    merged["total_evaluation_time_seconds"] = str(total)
    sources_files = RunFiles(results=used[-1][0].results, stamp=used[-1][0].stamp)
    for task, (files, _) in chosen.items():
        if task in files.samples:
            sources_files.samples[task] = files.samples[task]
    paths = [p for files, _ in used for p in files.paths]
    result = RunResult.from_files(
        sources_files,
        merged,
        notes=[
            f"Merged {len(used)} runs under {newest_folder}: the newest run of each of {len(chosen)} task(s)."
        ],
    )
    result.files = paths
    result._problems.extend(problems)
    return result
