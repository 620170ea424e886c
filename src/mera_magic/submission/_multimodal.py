"""MERA_MULTIMODAL's leaderboard archive, built offline the way its ``scripts/log_to_submission.py`` builds it.

* 18 tasks, each one ``<Name>.json`` at the root of the zip (``ruCLEVR.json``, ``ruTiE_Vision.json``,
  ``ruHHH_Image.json``, ...); three of them merge per-domain lm_eval tasks into one file: ``UniScienceVQA``
  (6 domains), ``SchoolScienceVQA`` (7) and ``ruNaturalScienceVQA`` (4);
* per domain the newest ``samples_<domain>_<stamp>.jsonl`` of the folder (and its model sub-folders);
* each document: ``{"outputs": filtered_resps[0] (a list unwrapped to its first item), "meta": {"id": ...}}``,
  the id from ``doc.meta.id`` (ruTiE without one: ``question_id + 500 * dialog_id + 11``, as MERA's packer);
* ``logs_public.zip`` with the samples files used and their results files (secrets masked), prompts kept as
  they are (MERA's multimodal packer hashes none).

Checked like the text archive: the website's checks on every file, missing domains, other models, ``--limit``,
incomplete runs, duplicate runs and ids; refused, with the report, when the website would reject it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Optional, Union

from ..catalog import MeraTask
from ..errors import SubmissionError
from ..findings import Finding
from ..lmeval.output import CorruptedFile, SamplesFile, read_samples
from ._archive import logs_zip, write_archive
from ._checks import check_payload
from ._report import Submission, TaskEntry


def _task(file: str, name: str, modality: str, ru: str, en: str, domains: tuple[str, ...] = ()) -> MeraTask:
    task = MeraTask(name, file, "generate_until", None, 0, True, True, f"multimodal-{modality}", None, ru, en)
    if domains:
        _DOMAINS[name] = domains
    return task


#: the per-domain lm_eval tasks merged into one task file (only where there is more than the task itself)
_DOMAINS: dict[str, tuple[str, ...]] = {}

#: MERA_MULTIMODAL's tasks, in its packer's order; ``kind`` is ``multimodal-image|audio|video``
TASKS: tuple[MeraTask, ...] = (
    _task("AQUARIA.json", "aquaria", "audio", "Вопросы по аудиозаписям.", "Questions about audio recordings."),
    _task("CommonVideoQA.json", "commonvideoqa", "video", "Вопросы по видео.", "Questions about videos."),
    _task("LabTabVQA.json", "labtabvqa", "image", "Вопросы по таблицам на изображениях.",
          "Questions about tables in images."),
    _task("RealVideoQA.json", "realvideoqa", "video", "Вопросы по реальным видео.", "Questions about real videos."),
    _task("RealVQA.json", "realvqa", "image", "Вопросы по реальным фотографиям.", "Questions about real photos."),
    _task("ruCLEVR.json", "ruclevr", "image", "Визуальные рассуждения о сгенерированных сценах.",
          "Visual reasoning about generated scenes."),
    _task("ruCommonVQA.json", "rucommonvqa", "image", "Общие вопросы по изображениям.",
          "Common questions about images."),
    _task("ruEnvAQA.json", "ruenvaqa", "audio", "Вопросы по звукам окружения.",
          "Questions about environmental sounds."),
    _task("ruHHH_Image.json", "ruhhh_image", "image", "Честность, полезность, безвредность (изображения).",
          "Honest, helpful, harmless (images)."),
    _task("ruHHH_Video.json", "ruhhh_video", "video", "Честность, полезность, безвредность (видео).",
          "Honest, helpful, harmless (videos)."),
    _task("ruMathVQA.json", "rumathvqa", "image", "Математические задачи по изображениям.",
          "Math problems in images."),
    _task("ruNaturalScienceVQA.json", "runaturalsciencevqa", "image", "Естественные науки по изображениям.",
          "Natural science questions about images.",
          tuple(f"runaturalsciencevqa_{d}" for d in ("biology", "chemistry", "physics", "earth_science"))),
    _task("ruSLUn.json", "ruslun", "audio", "Понимание устной речи.", "Spoken language understanding."),
    _task("ruTiE_Audio.json", "rutie_audio", "audio", "Тест Тьюринга: диалог с аудио.", "Turing-test dialogue, audio."),
    _task("ruTiE_Vision.json", "rutie_vision", "image", "Тест Тьюринга: диалог с изображениями.",
          "Turing-test dialogue, images."),
    _task("SchoolScienceVQA.json", "schoolsciencevqa", "image", "Школьные предметы по изображениям.",
          "School subjects in images.",
          tuple(f"schoolsciencevqa_{d}" for d in ("biology", "chemistry", "physics", "earth_science", "history_all",
                                                  "history_ru", "economics"))),
    _task("UniScienceVQA.json", "unisciencevqa", "image", "Университетские предметы по изображениям.",
          "University subjects in images.",
          tuple(f"unisciencevqa_{d}" for d in ("applied_sciences", "business", "cultural_studies",
                                               "fundamental_sciences", "social_sciences", "health_and_medicine"))),
    _task("WEIRD.json", "weird", "image", "Странные изображения.", "Weird images."),
)


def domains(task: MeraTask) -> tuple[str, ...]:
    """The lm_eval tasks whose samples make ``task``'s file (the task itself, or its domains)."""
    return _DOMAINS.get(task.name, (task.name,))


#: every lm_eval task whose samples go into the multimodal archive
SOURCE_TASKS: frozenset[str] = frozenset(d for t in TASKS for d in domains(t))
_RUTIE = ("rutie_vision", "rutie_audio")


def is_multimodal_folder(names: Iterable[str]) -> bool:
    """True when the folder's samples are MERA multimodal tasks and none is a MERA text task."""
    from .. import catalog

    names = set(names)
    return bool(names & SOURCE_TASKS) and not any(catalog.parse_name(n) is not None for n in names)


def _wanted(tasks: Union[str, Iterable[str], None]) -> list[MeraTask]:
    if tasks is None:
        return list(TASKS)
    names = [t.strip() for t in tasks.split(",")] if isinstance(tasks, str) else [str(t).strip() for t in tasks]
    by_name = {t.name: t for t in TASKS} | {t.submission_name.lower(): t for t in TASKS}
    by_name |= {d: t for t in TASKS for d in domains(t)}
    chosen = []
    for name in filter(None, names):
        task = by_name.get(name) or by_name.get(name.lower())
        if task is None:
            raise SubmissionError(f"{name} is not a MERA multimodal task.",
                                  hint=f"Tasks: {', '.join(t.name for t in TASKS)}.")
        chosen.append(task)
    return [t for t in TASKS if t in chosen]


def doc_id(task: MeraTask, meta: dict[str, Any]) -> Any:
    """The id a document is submitted under (ruTiE without ``meta.id``: from dialogue and question)."""
    if "id" in meta:
        return meta["id"]
    if task.name in _RUTIE:
        return int(meta["question_id"]) + 500 * int(meta["dialog_id"]) + 11
    raise KeyError("id")


def convert(task: MeraTask, rows: list[dict[str, Any]], where: str) -> tuple[list[dict[str, Any]], list[Finding]]:
    """The submission documents of ``task`` from its samples rows, and what went wrong on the way."""
    docs: list[dict[str, Any]] = []
    bad: dict[str, list[str]] = {}
    for number, row in enumerate(rows, start=1):
        ref = f"doc_id {row.get('doc_id', '?')} (line {number})"
        doc = row.get("doc")
        meta = doc.get("meta") if isinstance(doc, dict) else None
        if not isinstance(meta, dict):
            bad.setdefault("samples without `doc.meta`, so no id to submit", []).append(ref)
            continue
        try:
            ident = doc_id(task, meta)
            ident = int(ident)
        except (KeyError, TypeError, ValueError):
            bad.setdefault("samples whose `doc.meta` has no usable id", []).append(ref)
            continue
        filtered = row.get("filtered_resps")
        if not isinstance(filtered, list) or not filtered:
            bad.setdefault("samples without `filtered_resps`", []).append(ref)
            continue
        out = filtered[0]
        if isinstance(out, list):
            out = out[0] if out else ""
        docs.append({"outputs": out if isinstance(out, str) else str(out), "meta": {"id": ident}})
    findings = []
    for what, refs in bad.items():
        shown = ", ".join(refs[:3]) + (", ..." if len(refs) > 3 else "")
        findings.append(Finding("error", "no_id_field_for_doc", f"{where}: {what} ({len(refs)}: {shown}).", where))
    return docs, findings


def _default_dst(root: Path, dst: Union[str, Path, None]) -> Path:
    name = f"{root.name}_multimodal_submission.zip"
    if dst is None:
        return root.parent / name
    path = Path(dst).expanduser()
    return path if path.suffix.lower() == ".zip" else path / name


def multimodal_submission(root: Path, dst: Union[str, Path, None] = None, *,
                          tasks: Union[str, Iterable[str], None] = None, allow_partial: bool = False,
                          model: Optional[str] = None) -> Submission:
    """Build MERA_MULTIMODAL's archive from the samples files in ``root`` (see the module docstring).

    Same arguments and behaviour as :func:`mera_magic.submission`; the default archive is
    ``<root>_multimodal_submission.zip``.
    """
    from . import _Builder, _refusal

    wanted = _wanted(tasks)
    builder = _Builder(root, False, model)
    if not builder.files:
        raise SubmissionError(f"No lm_eval samples files (samples_<task>_<date>.jsonl) in {root} or its sub-folders.",
                              hint="Run MERA's multimodal tasks with --log_samples and --output_path there.")
    newest = [c[0] for t in wanted for d in domains(t) if (c := builder.candidates(d))]
    ref_model = builder.reference_model(newest)
    sub = Submission(output_dir=root, gen=False, model=ref_model, kind="multimodal")
    payloads: dict[str, dict] = {}
    used: list[SamplesFile] = []
    task_findings: dict[str, list[Finding]] = {}
    for task in TASKS:
        if task not in wanted:
            sub.entries.append(TaskEntry(task=task, source=task.name, status="left out"))
            continue
        entry, found, docs, files = _entry(builder, task, ref_model)
        sub.entries.append(entry)
        task_findings[task.name] = found
        if entry.status == "ok" and docs is not None:
            payloads[task.submission_file] = {"data": {"test": docs}}
            used += files
    blocked = [e for e in sub.entries if e.status in ("missing", "error")]
    left = blocked + [e for e in sub.entries if e.status == "left out"]
    if allow_partial:
        for e in blocked:
            e.status = "left out"
            task_findings[e.task.name] = [Finding("warning", f.code, f.message, f.where) if f.level == "error" else f
                                          for f in task_findings[e.task.name]]
    sub.findings = builder.findings + [f for t in TASKS for f in task_findings.get(t.name, [])]
    if left and allow_partial and payloads:
        names = ", ".join(e.task.submission_name for e in left)
        sub.findings.insert(0, Finding(
            "warning", "partial", f"the archive is partial: {len(payloads)} of {len(TASKS)} multimodal tasks; left "
                                  f"out: {names}. The website scores only the tasks present.", "tasks"))
    errors = [f for f in sub.findings if f.level == "error"]
    if errors or not payloads or (left and not allow_partial):
        err = _refusal(sub, errors, left, allow_partial, bool(payloads))
        err.submission = sub  # type: ignore[attr-defined]
        raise err
    logs = logs_zip(((f.task, f.path) for f in used), sorted({f.run.path for f in used if f.run is not None}),
                    hashed=())
    sub.path = write_archive(_default_dst(root, dst), payloads, logs)
    return sub


def _entry(builder: Any, task: MeraTask, ref_model: Optional[str]
           ) -> tuple[TaskEntry, list[Finding], Optional[list[dict[str, Any]]], list[SamplesFile]]:
    where = task.submission_name
    parts = domains(task)
    entry = TaskEntry(task=task, source="+".join(parts) if len(parts) > 1 else task.name)
    found: list[Finding] = []
    docs: list[dict[str, Any]] = []
    files: list[SamplesFile] = []
    missing = []
    for domain in parts:
        cands = builder.candidates(domain)
        if not cands:
            missing.append(domain)
            continue
        chosen = cands[0]
        label = builder.label(chosen)
        if label and ref_model and label != ref_model:
            found.append(Finding("error", "mixed_models",
                                 f"{where}: the newest samples file for {domain} ({builder.rel(chosen.path)}) is from "
                                 f"model {label}, the other tasks from {ref_model}. Rerun {domain} with {ref_model}, "
                                 "or pass model=... to choose the model.", where))
            continue
        if len(cands) > 1:
            found.append(Finding("info", "duplicate_runs",
                                 f"{where}: duplicate runs of {domain}: the newest {builder.rel(chosen.path)} wins "
                                 f"(older: {', '.join(builder.rel(c.path) for c in cands[1:])}).", where))
        try:
            rows = read_samples(chosen.path)
        except CorruptedFile as exc:
            line = f"line {exc.line} of " if exc.line else ""
            found.append(Finding("error", "corrupted", f"{where}: corrupted JSONL {line}{builder.rel(chosen.path)} "
                                                       f"({exc.reason}); rerun {domain}.", where))
            continue
        checks = builder.run_checks(task, domain, chosen, len(rows))
        found += [f for f in checks if not (f.code == "fewshot" and task.name in _RUTIE)]
        converted, problems = convert(task, rows, where)
        docs += converted
        found += problems
        files.append(chosen)
        entry.file, entry.model = entry.file or chosen.path, entry.model or label
        entry.older += [c.path for c in cands[1:]]
    if missing:
        found.insert(0, Finding("error", "no_samples",
                                f"{where}: no samples for {', '.join(missing)} in folder {builder.root}: run "
                                f"{' '.join(missing)} (0-shot, --log_samples) into this folder"
                                + (", all domains go into one file." if len(parts) > 1 else "."), where))
    entry.docs = len(docs)
    if files:
        found += check_payload(task, {"data": {"test": docs}}, where)
    if len(missing) == len(parts):
        entry.status = "missing"
    else:
        entry.status = "error" if any(f.level == "error" for f in found) else "ok"
    return entry, found, (docs if files else None), files
