"""The checks MERA's website applies to a submission, offline.

The website reads every ``<Task>.json`` of the archive (a task is found by the exact file stem, ``PARus``)
and rejects a task for: ``no_task`` (no file), ``extension`` (not ``.json``), ``unreadable_file``,
``no_data_field`` (no ``data``), ``no_split`` (no ``data.test``), per document ``no_outputs_field_for_doc``,
``no_meta_field_for_doc``, ``no_id_field_for_doc`` (ruTiE: ``dialog_id`` and ``question_id``), then against its
hidden answers ``no_id`` (a test document missing), ``doc_output_type_error`` (``outputs`` of another type than
the answer: a string, a dict for ruEthics, a list for the code tasks) and ``doc_parse_output_error``.

Without the hidden answers, ``no_id`` cannot be checked here; duplicated ids (``duplicate_id``, our own code:
the website keeps one of them, so another document is likely missing) can.
"""

from __future__ import annotations

from typing import Any

from ..catalog import ETHICS_CRITERIA, MeraTask
from ..findings import Finding

_TYPES = {"str": str, "dict": dict, "list": list}

#: what each website error means, in our words
ERROR_TEXT = {
    "unreadable_zip": "the archive is not a readable zip file",
    "no_task": "the archive has no file for the task",
    "extension": "the task file does not end in .json",
    "unreadable_file": "the task file is not readable JSON",
    "no_data_field": "the task file has no `data` field",
    "no_split": "the task file has no `data.test` list",
    "no_outputs_field_for_doc": "a document has no `outputs`",
    "no_meta_field_for_doc": "a document has no `meta`",
    "no_id_field_for_doc": "a document's `meta` has no id",
    "no_id": "a test document is missing",
    "doc_output_type_error": "a document's `outputs` has the wrong type",
    "doc_parse_output_error": "a document's `outputs` cannot be scored",
}


def doc_key(task: MeraTask, doc: dict[str, Any]) -> Any:
    """The id the website files a document under (ruTiE: dialogue and question)."""
    meta = doc["meta"]
    if task.meta_keys == ("dialog_id", "question_id"):
        return (meta["dialog_id"], meta["question_id"])
    return meta["id"]


def check_payload(task: MeraTask, payload: Any, where: str) -> list[Finding]:
    """The website's checks on one task file's content (``{"data": {"test": [...]}}``)."""
    if not isinstance(payload, dict) or "data" not in payload:
        return [Finding("error", "no_data_field", f"{where}: {ERROR_TEXT['no_data_field']}.", where)]
    data = payload["data"]
    if not isinstance(data, dict) or "test" not in data:
        return [Finding("error", "no_split", f"{where}: {ERROR_TEXT['no_split']}.", where)]
    docs = data["test"]
    if not isinstance(docs, list):
        return [Finding("error", "no_split", f"{where}: `data.test` is not a list.", where)]
    bad: dict[str, list[int]] = {}
    keys: dict[Any, int] = {}
    dups: list[str] = []
    expected = _TYPES[task.outputs]
    for number, doc in enumerate(docs):
        if not isinstance(doc, dict) or "outputs" not in doc:
            bad.setdefault("no_outputs_field_for_doc", []).append(number)
        if not isinstance(doc, dict) or not isinstance(doc.get("meta"), dict):
            bad.setdefault("no_meta_field_for_doc", []).append(number)
            continue
        try:
            key = doc_key(task, doc)
        except KeyError:
            bad.setdefault("no_id_field_for_doc", []).append(number)
            continue
        if key in keys:
            dups.append(str(key))
        keys[key] = number
        if "outputs" not in doc:
            continue
        outputs = doc["outputs"]
        if not isinstance(outputs, expected):
            bad.setdefault("doc_output_type_error", []).append(number)
        elif task.outputs == "dict" and not (set(ETHICS_CRITERIA) <= set(outputs)
                                             and all(isinstance(v, str) for v in outputs.values())):
            bad.setdefault("doc_parse_output_error", []).append(number)
        elif task.outputs == "list" and not outputs:
            bad.setdefault("doc_parse_output_error", []).append(number)
    findings = []
    for code, numbers in bad.items():
        shown = ", ".join(map(str, numbers[:5])) + (", ..." if len(numbers) > 5 else "")
        extra = ""
        if code == "doc_output_type_error":
            extra = f" (the website expects {task.outputs})"
        elif code == "doc_parse_output_error" and task.outputs == "dict":
            extra = f" (needs string values for {', '.join(ETHICS_CRITERIA)})"
        findings.append(Finding("error", code, f"{where}: {ERROR_TEXT[code]}{extra}: {len(numbers)} document(s), "
                                               f"positions {shown}.", where))
    if dups:
        shown = ", ".join(dups[:5]) + (", ..." if len(dups) > 5 else "")
        findings.append(Finding("error", "duplicate_id",
                                f"{where}: {len(dups)} duplicated id(s): {shown}; the website keeps one document "
                                f"per id, so other test documents are probably missing.", where))
    if not docs:
        findings.append(Finding("error", "no_id", f"{where}: `data.test` is empty.", where))
    return findings
