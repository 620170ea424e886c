"""The MERA leaderboard archive, built offline from lm_eval's samples files.

>>> sub = mera_magic.submission("out")                 # the regular set; gen=True for the generative set
>>> sub                                                # per task: file used, documents, status; findings
>>> sub.path                                           # out_submission.zip (out_gen_submission.zip)
>>> mera_magic.validate_archive("out_submission.zip")  # the website's checks on any archive

What it does, the way MERA's ``scripts/log_to_submission.py`` does, but without downloading the datasets (the
``doc`` in every sample carries the ids):

* finds ``samples_<task>_<stamp>.jsonl`` in the folder and its ``<model_sanitized>/`` sub-folders; for each of
  the 23 tasks it takes the newest file (``<task>_gen`` in the generative set for the 14 multiple-choice tasks;
  the natively generative tasks are the same files in both sets);
* turns each file into ``<Task>.json`` = ``{"data": {"test": [{"outputs": ..., "meta": {"id": ...}}, ...]}}``
  (see :mod:`._convert` for each task's answer and ids);
* checks what the website checks (:mod:`._checks`) and more that it would only tell after an upload: a task
  without samples ("no samples for task X in folder Y"), samples of another model than the other tasks, a run
  with ``--limit``, a truncated or corrupted JSONL line, duplicate runs (the newest wins; the report shows
  which), duplicated ids, answers of the wrong type, a few-shot count other than MERA's;
* writes ``<Task>.json`` files and ``logs_public.zip`` (the samples used and their results files; ruTiE's
  prompts hashed) at the root of the zip -- only when nothing would be rejected.  Missing or broken tasks are
  an error unless ``allow_partial=True``; then they are left out and the report says the archive is partial.
"""

from __future__ import annotations

import json
import zipfile
from collections import Counter
from pathlib import Path, PurePosixPath
from typing import Iterable, Optional, Union

from .. import catalog
from ..catalog import MeraTask
from ..errors import SubmissionError
from ..findings import Finding
from ..lmeval.output import CorruptedFile, SamplesFile, read_samples, samples_files, search_folders
from ..spec import sanitize_model_name
from ._archive import LOGS_NAME, logs_zip, write_archive
from ._checks import ERROR_TEXT, check_payload
from ._convert import convert
from ._multimodal import TASKS as MULTIMODAL_TASKS
from ._multimodal import is_multimodal_folder, multimodal_submission
from ._report import Submission, TaskEntry

__all__ = ["Submission", "TaskEntry", "SamplesFile", "submission", "validate_archive", "samples_files"]

#: run-level settings that change prompts; tasks of one archive should share them
_SETTINGS = {
    "system_instruction_sha": "system instructions",
    "chat_template_sha": "chat templates",
    "fewshot_as_multiturn": "--fewshot_as_multiturn settings",
}


def _wanted(tasks: Union[str, Iterable[str], None], gen: bool) -> list[MeraTask]:
    if tasks is None:
        return list(catalog.TASKS)
    names = [t.strip() for t in tasks.split(",")] if isinstance(tasks, str) else [str(t).strip() for t in tasks]
    chosen: set[str] = set()
    for name in filter(None, names):
        parsed = catalog.parse_name(name)
        if parsed is None:
            catalog.get(name)  # raises UnknownNameError naming the tasks
            continue
        if parsed.local:
            raise SubmissionError(f"{name} scores a public split; the website needs the test split.",
                                  hint=f"Use {parsed.task.task_name(gen)} instead.")
        if parsed.gen and not gen:
            raise SubmissionError(f"{name} belongs to MERA's generative set.", hint="Pass gen=True.")
        chosen.add(parsed.task.name)
    return [t for t in catalog.TASKS if t.name in chosen]


def _default_dst(root: Path, dst: Union[str, Path, None], gen: bool) -> Path:
    name = f"{root.name}{'_gen' if gen else ''}_submission.zip"
    if dst is None:
        return root.parent / name
    path = Path(dst).expanduser()
    return path if path.suffix.lower() == ".zip" else path / name


class _Builder:
    def __init__(self, root: Path, gen: bool, model: Optional[str]) -> None:
        self.root = root
        self.gen = gen
        self.model = model
        self.files, unreadable = samples_files(root)
        self.findings: list[Finding] = [
            Finding("warning", "unreadable_results",
                    f"results file {self.rel(p)} is not readable JSON ({why}); the model and settings of its samples "
                    f"cannot be checked.", self.rel(p)) for p, why in unreadable]

    def rel(self, path: Path) -> str:
        try:
            return path.resolve().relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def label(self, f: SamplesFile) -> Optional[str]:
        if f.model:
            return f.model
        return f.folder.name if f.folder != self.root else None

    def matches(self, f: SamplesFile, model: str) -> bool:
        return self.label(f) == model or f.folder.name in (model, sanitize_model_name(model))

    def candidates(self, source: str) -> list[SamplesFile]:
        found = [f for f in self.files if f.task == source]
        if self.model is not None:
            found = [f for f in found if self.matches(f, self.model)]
        return sorted(found, key=lambda f: (f.when, str(f.path)), reverse=True)

    def reference_model(self, newest: list[SamplesFile]) -> Optional[str]:
        if self.model is not None:
            return self.model
        counts = Counter(lab for lab in map(self.label, newest) if lab)
        if not counts:
            return None
        if len(counts) > 1:
            parts = ", ".join(f"{m} ({n} task{'s' if n != 1 else ''})" for m, n in counts.most_common())
            self.findings.append(Finding("info", "models", f"the newest samples come from {len(counts)} models: "
                                                          f"{parts}.", "model"))
        latest = {m: max(f.when for f in newest if self.label(f) == m) for m in counts}
        return max(counts, key=lambda m: (counts[m], latest[m]))

    def missing_message(self, task: MeraTask, source: str) -> str:
        subs = [p.name for p in search_folders(self.root)[1:]]
        where = f"folder {self.root}" + (f" (searched it and its sub-folders {', '.join(subs)})" if subs else "")
        who = f" of model {self.model}" if self.model else ""
        msg = f"no samples{who} for task {source} in {where}"
        names = {f.task for f in self.files}
        hints = []
        if task.gen_twin and not self.gen and task.gen_twin in names:
            hints.append(f"there are samples of {task.gen_twin}: for the generative set pass gen=True")
        if task.gen_twin and self.gen and task.name in names:
            hints.append(f"there are samples of {task.name}, which belongs to the regular set")
        local = [n for n in names if n.startswith(source + "_localscore") or n == f"{task.name}_localscore"]
        if local:
            hints.append(f"{', '.join(sorted(local))} scores a public split and cannot be submitted")
        hints.append(f"run {source} ({task.fewshot}-shot, --predict_only --log_samples) into this folder")
        return f"{msg}: {'; '.join(hints)}."

    def entry(self, task: MeraTask, ref_model: Optional[str]) -> tuple[TaskEntry, list[Finding], Optional[list[dict]]]:
        source = task.task_name(self.gen)
        where = task.submission_name
        entry = TaskEntry(task=task, source=source)
        cands = self.candidates(source)
        if not cands:
            return entry, [Finding("error", "no_samples", f"{where}: {self.missing_message(task, source)}", where)], None
        chosen = cands[0]
        entry.file, entry.older, entry.model = chosen.path, [c.path for c in cands[1:]], self.label(chosen)
        found: list[Finding] = []
        if entry.model and ref_model and entry.model != ref_model:
            entry.status = "error"
            older = next((c for c in cands[1:] if self.label(c) == ref_model), None)
            fix = (f" An older run of {source} by {ref_model} is {self.rel(older.path)}: pass model={ref_model!r} to "
                   f"use it." if older else f" Rerun {source} with {ref_model}, or pass model=... to choose the model.")
            found.append(Finding("error", "mixed_models",
                                 f"{where}: the newest samples file for {source} ({self.rel(chosen.path)}) is from "
                                 f"model {entry.model}, the other tasks from {ref_model}.{fix}", where))
            return entry, found, None
        if entry.older:
            previous = ", ".join(self.rel(p) for p in entry.older)
            found.append(Finding("info", "duplicate_runs", f"{where}: duplicate runs of {source}: the newest "
                                                           f"{self.rel(chosen.path)} wins (older: {previous}).", where))
        try:
            rows = read_samples(chosen.path)
        except CorruptedFile as exc:
            line = f"line {exc.line} of " if exc.line else ""
            entry.status = "error"
            found.append(Finding("error", "corrupted", f"{where}: corrupted JSONL {line}{self.rel(chosen.path)} "
                                                       f"({exc.reason}); rerun {source}.", where))
            return entry, found, None
        entry.docs = len(rows)
        if not rows:
            found.append(Finding("error", "no_id", f"{where}: {self.rel(chosen.path)} holds no documents.", where))
        found += self.run_checks(task, source, chosen, len(rows))
        converted = convert(task, rows, gen=self.gen, where=where)
        found += converted.findings
        payload = {"data": {"test": converted.docs}}
        found += check_payload(task, payload, where)
        entry.status = "error" if any(f.level == "error" for f in found) else "ok"
        return entry, found, converted.docs

    def run_checks(self, task: MeraTask, source: str, f: SamplesFile, n_rows: int) -> list[Finding]:
        where = task.submission_name
        if f.run is None:
            return [Finding("warning", "no_results",
                            f"{where}: {self.rel(f.path)} has no results file beside it (results_{f.stamp}.json): "
                            f"its model, few-shot count and --limit cannot be checked.", where)]
        out = []
        # n-samples "effective" is not reliable (0.4.13 records 0 for multiple-choice tasks under
        # --predict_only), so the documents in the file are compared with the split's size
        original, _ = f.run.n_samples(source)
        limit = f.run.limit
        if limit is not None:
            count = f" ({n_rows} of {original} test documents)" if original is not None else ""
            out.append(Finding("error", "limit", f"{where}: {source} ran with --limit {limit}{count}; the website "
                                                 f"needs every test document: rerun {source} without --limit.", where))
        elif original is not None and n_rows < original:
            out.append(Finding("error", "incomplete", f"{where}: {self.rel(f.path)} holds {n_rows} of the {original} "
                                                      f"test documents (an interrupted run, or --samples): the "
                                                      f"website needs every test document; rerun {source}.", where))
        shots = f.run.n_shot(source)
        if shots is not None and shots != task.fewshot:
            out.append(Finding("warning", "fewshot", f"{where}: {source} ran {shots}-shot; MERA's scripts run it "
                                                     f"{task.fewshot}-shot, the setting the leaderboard compares.",
                               where))
        return out

    def settings_findings(self, used: list[tuple[TaskEntry, SamplesFile]]) -> list[Finding]:
        out = []
        for key, what in _SETTINGS.items():
            values: dict[str, list[str]] = {}
            for entry, f in used:
                if f.run is not None and key in f.run.raw:
                    value = f.run.setting(key)
                    values.setdefault(str(value)[:12] if value not in (None, "") else "none", []).append(entry.source)
            if len(values) > 1:
                parts = "; ".join(f"{v}: {', '.join(ts[:4])}{', ...' if len(ts) > 4 else ''}"
                                  for v, ts in values.items())
                out.append(Finding("warning", "mixed_settings", f"the tasks ran with different {what} ({parts}); "
                                                                f"MERA compares runs made with one setting.", key))
        return out


def submission(output_dir: Union[str, Path], dst: Union[str, Path, None] = None, *, gen: bool = False,
               tasks: Union[str, Iterable[str], None] = None, allow_partial: bool = False,
               model: Optional[str] = None, multimodal: Optional[bool] = None) -> Submission:
    """Build the MERA website's archive from the samples files in ``output_dir``.

    ``dst``: the zip to write (default ``<output_dir>_submission.zip``, ``<output_dir>_gen_submission.zip``
    for ``gen=True``), or a folder to write it into.  ``gen``: the generative set (``_gen`` twins).
    ``tasks``: pack only these MERA tasks (the archive is then partial).  ``allow_partial``: leave out tasks that
    are missing or broken instead of failing.  ``model``: use only samples of this model (its name or its
    sanitized folder name) when the folder holds runs of several models.  ``multimodal``: build MERA_MULTIMODAL's
    archive (``ruCLEVR.json``, ...; default ``<output_dir>_multimodal_submission.zip``, see
    :mod:`._multimodal`); by default chosen when the folder's samples are MERA multimodal tasks only.

    Returns the :class:`Submission` report.  Raises :class:`~mera_magic.errors.SubmissionError` (with the
    report as ``.submission``) instead of writing an archive the website would reject.
    """
    root = Path(output_dir).expanduser()
    if not root.is_dir():
        raise SubmissionError(f"{root} is not a folder.", hint="Pass the --output_path folder of your MERA runs.")
    root = root.resolve()
    if multimodal is None:
        multimodal = is_multimodal_folder(f.task for f in samples_files(root)[0])
    if multimodal:
        return multimodal_submission(root, dst, tasks=tasks, allow_partial=allow_partial, model=model)
    wanted = _wanted(tasks, gen)
    if not wanted:
        raise SubmissionError("tasks= names no MERA task.")
    builder = _Builder(root, gen, model)
    if not builder.files:
        raise SubmissionError(f"No lm_eval samples files (samples_<task>_<date>.jsonl) in {root} or its sub-folders.",
                              hint="Run MERA's tasks with --predict_only (or --log_samples) and --output_path there.")
    if model is not None and not any(builder.matches(f, model) for f in builder.files):
        models = sorted({lab for lab in map(builder.label, builder.files) if lab})
        raise SubmissionError(f"No samples of model {model!r} in {root}.",
                              hint=f"Models found: {', '.join(models) or 'none'}.")
    newest = {t.name: c[0] for t in wanted if (c := builder.candidates(t.task_name(gen)))}
    ref_model = builder.reference_model(list(newest.values()))
    sub = Submission(output_dir=root, gen=gen, model=ref_model)
    payloads: dict[str, dict] = {}
    used: list[tuple[TaskEntry, SamplesFile]] = []
    task_findings: dict[str, list[Finding]] = {}
    for task in catalog.TASKS:
        if task not in wanted:
            sub.entries.append(TaskEntry(task=task, source=task.task_name(gen), status="left out"))
            continue
        entry, found, docs = builder.entry(task, ref_model)
        sub.entries.append(entry)
        task_findings[task.name] = found
        if entry.status == "ok" and docs is not None:
            payloads[task.submission_file] = {"data": {"test": docs}}
            used.append((entry, newest[task.name]))
    general = builder.findings + builder.settings_findings(used)
    blocked = [e for e in sub.entries if e.status in ("missing", "error")]
    not_chosen = [e for e in sub.entries if e.status == "left out"]
    if allow_partial:
        for e in blocked:
            e.status = "left out"
            task_findings[e.task.name] = [
                Finding("warning", f.code, f.message, f.where) if f.level == "error" else f
                for f in task_findings[e.task.name]]
    sub.findings = general + [f for t in catalog.TASKS for f in task_findings.get(t.name, [])]
    left = blocked + not_chosen
    if left and allow_partial and payloads:
        names = ", ".join(e.task.submission_name for e in left)
        sub.findings.insert(0, Finding(
            "warning", "partial",
            f"the archive is partial: {len(payloads)} of {len(catalog.TASKS)} tasks; left out: {names}. The website "
            f"scores only the tasks present, and the total score needs every task.", "tasks"))
    errors = [f for f in sub.findings if f.level == "error"]
    if errors or not payloads or (left and not allow_partial):
        err = _refusal(sub, errors, left, allow_partial, bool(payloads))
        err.submission = sub  # type: ignore[attr-defined]
        raise err
    logs = logs_zip(((e.source, f.path) for e, f in used),
                    sorted({f.run.path for _, f in used if f.run is not None}))
    sub.path = write_archive(_default_dst(root, dst, gen), payloads, logs)
    return sub


def _refusal(sub: Submission, errors: list[Finding], left: list[TaskEntry], allow_partial: bool,
             any_ready: bool) -> SubmissionError:
    head = f"The MERA {sub.set_name} archive was not written"
    if not any_ready:
        lines = [f"{head}: no task can be packed."]
        errors = errors or [f for f in sub.findings if f.level == "warning"]  # allow_partial made them warnings
    elif errors:
        lines = [f"{head}: {len(errors)} problem(s) the website would reject."]
    else:
        lines = [f"{head}: it would be partial ({len(left)} of {len(sub.entries)} tasks left out)."]
    lines += [f"- {f.message}" for f in errors[:12]]
    if len(errors) > 12:
        lines.append(f"- ... and {len(errors) - 12} more (see the report: err.submission)")
    hint = None if allow_partial or not any_ready else (
        "Fix them, or pass allow_partial=True to write the tasks that are ready (the website then scores only those).")
    return SubmissionError("\n".join(lines), hint=hint)


def _unsafe(name: str) -> str:
    """Why an archive entry name is unsafe (a tool may write it outside the folder it extracts to), or ""."""
    if "\\" in name:
        return "a backslash in an entry name (a path separator to some tools)"
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return "an absolute path"
    if ".." in name.split("/"):
        return "a `..` path component"
    return ""


def validate_archive(zip_path: Union[str, Path], *, tasks: Union[str, Iterable[str], None] = None,
                     multimodal: Optional[bool] = None) -> list[Finding]:
    """Apply the MERA website's checks to an existing archive; the findings use the website's error names.

    ``tasks``: check only these tasks (default: all 23; a task file that is absent is ``no_task``).
    ``multimodal``: check it as MERA_MULTIMODAL's archive (its 18 task files); by default when its task files
    are multimodal ones.
    """
    from ._multimodal import _wanted as multimodal_wanted

    path = Path(zip_path).expanduser()
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        return [Finding("error", "unreadable_zip", f"{path}: {ERROR_TEXT['unreadable_zip']} ({exc}).", str(path))]
    findings: list[Finding] = []
    with zf:
        members = [i for i in zf.infolist() if not i.is_dir()]
        findings += [Finding("error", "unsafe_name", f"{i.filename!r}: {_unsafe(i.filename)}; MERA's archive holds "
                                                     "only <Task>.json and logs_public.zip at its root.", i.filename)
                     for i in members if _unsafe(i.filename)]
        by_stem: dict[str, list[zipfile.ZipInfo]] = {}
        for info in members:
            by_stem.setdefault(PurePosixPath(info.filename).stem, []).append(info)
        if multimodal is None:
            stems = set(by_stem)
            multimodal = bool(stems & {t.submission_name for t in MULTIMODAL_TASKS}) and not (
                stems & {t.submission_name for t in catalog.TASKS})
        every = MULTIMODAL_TASKS if multimodal else catalog.TASKS
        wanted = multimodal_wanted(tasks) if multimodal else _wanted(tasks, gen=True)
        known = {t.submission_name for t in every} | {PurePosixPath(LOGS_NAME).stem}
        for task in wanted:
            where = task.submission_file
            infos = by_stem.get(task.submission_name)
            if not infos:
                near = [i.filename for s, lst in by_stem.items() if s.lower() == task.submission_name.lower()
                        for i in lst]
                extra = f" ({', '.join(near)} is there: the website matches the exact name)" if near else ""
                findings.append(Finding("error", "no_task", f"{where}: {ERROR_TEXT['no_task']}{extra}.", where))
                continue
            if len(infos) > 1:
                findings.append(Finding("warning", "duplicate_file", f"{where}: the archive holds "
                                        f"{', '.join(i.filename for i in infos)}; the website reads only one.", where))
            info = infos[0]
            if PurePosixPath(info.filename).suffix != ".json":
                findings.append(Finding("error", "extension", f"{info.filename}: {ERROR_TEXT['extension']}.", where))
                continue
            if "/" in info.filename.strip("/"):
                findings.append(Finding("warning", "not_at_root", f"{info.filename}: task files belong at the root "
                                                                  f"of the archive, as MERA's packer writes them.",
                                        where))
            try:
                payload = json.loads(zf.read(info).decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError, zipfile.BadZipFile, OSError) as exc:
                findings.append(Finding("error", "unreadable_file", f"{info.filename}: {ERROR_TEXT['unreadable_file']}"
                                                                    f" ({exc}).", where))
                continue
            findings += check_payload(task, payload, where)
        logs = [i for i in members if i.filename == LOGS_NAME]
        if not logs:
            findings.append(Finding("warning", "no_logs", f"{LOGS_NAME} is not at the root of the archive; MERA asks "
                                                          f"for it with a public submission.", LOGS_NAME))
        else:
            try:
                with zipfile.ZipFile(zf.open(logs[0])) as inner:
                    findings += [Finding("error", "unsafe_name", f"{LOGS_NAME}: {name!r}: {_unsafe(name)}.", LOGS_NAME)
                                 for name in inner.namelist() if _unsafe(name)]
            except zipfile.BadZipFile:
                findings.append(Finding("warning", "no_logs", f"{LOGS_NAME} is not a readable zip.", LOGS_NAME))
        for stem in sorted(set(by_stem) - known):
            names = ", ".join(i.filename for i in by_stem[stem])
            findings.append(Finding("info", "unknown_file", f"{names}: not a MERA task file; the website ignores it.",
                                    names))
    return findings
