"""Samples lines of one task -> the documents of its ``<Task>.json`` (``{"outputs", "meta"}`` each).

* multiple-choice tasks (regular set): the choice with the highest log-likelihood in ``filtered_resps``;
* generative tasks and ``_gen`` twins: ``filtered_resps[0]``;
* ruEthics: the answer repeated over the five criteria (``{"virtue": o, "law": o, ...}``);
* ruDetox: the last element of MERA's scoring filter output ``[sta, sim, fl, j, text]``;
* ruHumanEval / ruCodeEval: the whole ``filtered_resps`` (per generation, the outputs of each test);
* USE: ``meta`` carries ``id``, ``id_task`` and ``variant``; ruTiE: ``meta`` carries ``dialog_id`` and
  ``question_id`` (no ``id``), documents ordered by dialogue and question.

Ids come from each sample's ``doc.meta``, so nothing is downloaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from ..catalog import ETHICS_CRITERIA, MeraTask
from ..findings import Finding, Level


@dataclass
class Converted:
    """The documents built for one task, and what went wrong on the way."""

    docs: list[dict[str, Any]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


def _int_like(value: Any) -> Optional[int]:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def loglikelihood(entry: Any) -> Optional[float]:
    """The log-likelihood of one choice's response: ``["-1.2", "False"]``, ``[["-1.2", "False"]]`` or ``"-1.2"``."""
    while isinstance(entry, (list, tuple)) and entry and isinstance(entry[0], (list, tuple)):
        entry = entry[0]
    if isinstance(entry, (list, tuple)):
        entry = entry[0] if entry else None
    if isinstance(entry, bool):
        return None
    try:
        return float(entry)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def continuations(arguments: Any) -> list[str]:
    """The answer texts a multiple-choice sample scored (``arg_1`` of each request), stripped."""
    if isinstance(arguments, dict):
        reqs = [arguments[k] for k in sorted(arguments, key=lambda k: int("".join(c for c in k if c.isdigit()) or 0))]
        values = [r.get("arg_1") if isinstance(r, dict) else None for r in reqs]
    elif isinstance(arguments, (list, tuple)):
        values = [r[1] if isinstance(r, (list, tuple)) and len(r) > 1 else None for r in arguments]
    else:
        return []
    return [v.strip() for v in values if isinstance(v, str)]


class _Problems:
    """Per-document problems of one kind, reported once with a count and the first examples."""

    def __init__(self) -> None:
        self.by_code: dict[tuple[Level, str, str], list[str]] = {}

    def add(self, level: Level, code: str, what: str, example: str) -> None:
        self.by_code.setdefault((level, code, what), []).append(example)

    def findings(self, where: str) -> list[Finding]:
        out = []
        for (level, code, what), examples in self.by_code.items():
            shown = ", ".join(examples[:3]) + (", ..." if len(examples) > 3 else "")
            count = f"{len(examples)} document{'s' if len(examples) != 1 else ''}"
            out.append(Finding(level, code, f"{where}: {what} ({count}: {shown}).", where))
        return out


def convert(task: MeraTask, rows: list[dict[str, Any]], *, gen: bool, where: str) -> Converted:
    """Build the submission documents of ``task`` from its samples ``rows`` (see the module docstring)."""
    result = Converted()
    problems = _Problems()
    by_choice = task.is_multiple_choice and not gen
    seen_choices: Optional[list[str]] = None
    for number, row in enumerate(rows, start=1):
        ref = f"doc_id {row.get('doc_id', '?')} (line {number})"
        doc = row.get("doc")
        meta = doc.get("meta") if isinstance(doc, dict) else None
        if not isinstance(meta, dict):
            problems.add("error", "no_meta_field_for_doc", "samples without `doc.meta`, so no id to submit", ref)
            continue
        out_meta: dict[str, Any] = {}
        missing = [k for k in task.meta_keys if k not in meta]
        if missing:
            problems.add("error", "no_id_field_for_doc",
                         f"samples whose doc.meta lacks {', '.join(missing)}", ref)
            continue
        for key in task.meta_keys:
            value = meta[key]
            if key in ("id", "dialog_id", "question_id"):
                as_int = _int_like(value)
                if as_int is None:
                    problems.add("error", "no_id_field_for_doc", f"samples whose doc.meta.{key} is not a number", ref)
                    break
                value = as_int
            out_meta[key] = value
        else:
            fr = row.get("filtered_resps")
            outputs: Any
            if by_choice:
                assert task.choices is not None
                entries = fr if isinstance(fr, list) else []
                scores = [loglikelihood(e) for e in entries]
                if len(scores) != len(task.choices) or any(s is None for s in scores):
                    problems.add("error", "doc_parse_output_error",
                                 f"filtered_resps is not {len(task.choices)} log-likelihoods, one per choice "
                                 f"{list(task.choices)}: was the task run as multiple_choice with MERA's choices?", ref)
                    continue
                best = max(range(len(scores)), key=lambda i: (scores[i], -i))  # first of equal scores
                outputs = task.choices[best]
                if seen_choices is None:
                    seen_choices = continuations(row.get("arguments"))
            elif task.outputs == "list":
                outputs = fr
            else:
                outputs = fr[0] if isinstance(fr, list) and fr else fr
                if task.name == "rudetox" and isinstance(outputs, list):
                    outputs = outputs[-1] if outputs else outputs
                while isinstance(outputs, list) and len(outputs) == 1:
                    outputs = outputs[0]
            if task.outputs == "dict":
                if not isinstance(outputs, str):
                    problems.add("error", "doc_output_type_error",
                                 f"answers that are {type(outputs).__name__}, not a string", ref)
                    continue
                outputs = {criterion: outputs for criterion in ETHICS_CRITERIA}
            result.docs.append({"outputs": outputs, "meta": out_meta})
    if task.meta_keys == ("dialog_id", "question_id"):
        result.docs.sort(key=lambda d: (d["meta"]["dialog_id"], d["meta"]["question_id"]))
        result.findings += _dialogue_gaps(result.docs, where)
    if seen_choices and [c.lower() for c in seen_choices] != [c.lower() for c in task.choices or ()]:
        result.findings.append(Finding(
            "warning", "choices_differ",
            f"{where}: the samples score the answers {seen_choices}, MERA's {task.submission_name} has the choices "
            f"{list(task.choices or ())}; the archive maps the best-scored answer to MERA's choice at the same "
            f"position.", where))
    if task.outputs == "list":
        flat = [d for d in result.docs if not _per_test_outputs(d["outputs"])]
        if flat:
            result.findings.append(Finding(
                "warning", "code_outputs_shape",
                f"{where}: {len(flat)} document(s) carry generations, not per-test outputs: MERA's scoring filter "
                f"(ruhumanevalscoring) did not run on them, and the website will count them as failed.", where))
    result.findings += problems.findings(where)
    return result


def _per_test_outputs(outputs: Any) -> bool:
    """``[[ [test outputs] per generation ]]``: what MERA's code scoring filter writes."""
    return (isinstance(outputs, list) and len(outputs) > 0 and isinstance(outputs[0], list)
            and all(isinstance(g, list) for g in outputs[0]))


def _dialogue_gaps(docs: list[dict[str, Any]], where: str) -> list[Finding]:
    by_dialog: dict[int, list[int]] = {}
    for d in docs:
        by_dialog.setdefault(d["meta"]["dialog_id"], []).append(d["meta"]["question_id"])
    gaps = []
    for dialog, questions in sorted(by_dialog.items()):
        have = set(questions)
        lost = [q for q in range(min(have), max(have) + 1) if q not in have]
        if lost:
            shown = ", ".join(map(str, lost[:5])) + (", ..." if len(lost) > 5 else "")
            gaps.append(f"dialogue {dialog} lacks question(s) {shown}")
    if not gaps:
        return []
    return [Finding("error", "no_id", f"{where}: {'; '.join(gaps)}. Every question of a dialogue is needed (later "
                                      "questions build on earlier answers): rerun the task without --limit.", where)]
