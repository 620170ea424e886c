"""Write the archive: ``<Task>.json`` files and ``logs_public.zip`` at the zip's root (no top folder).

``logs_public.zip`` holds the samples files the archive was built from and their runs' results files, as
MERA's packer does; ruTiE's prompts are replaced by their sha256 (its test dialogue stays closed), and secrets
are masked (every secret in the results files, the session's known secret values in the samples files).
Entry names are the files' own names, and only names lm_eval could have written (no ``\\``, ``/``, ``..``).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any, Iterable

from ..errors import SubmissionError
from ..lmeval.output import CorruptedFile, read_json, safe_name
from ..secrets import mask_data as mask
from ..secrets import mask_text

LOGS_NAME = "logs_public.zip"
#: tasks whose prompts are hashed in the public logs (MERA keeps their test dialogue closed)
HASHED_PROMPTS = ("rutie",)


def _hash(value: Any) -> str:
    if isinstance(value, (list, tuple)) and value:
        value = value[0]
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def hashed_prompts(text: str) -> str:
    """A samples file's text with every request's prompt (``arguments.*.arg_0``) replaced by its sha256."""
    out = []
    for line in text.splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        args = row.get("arguments")
        if isinstance(args, dict):
            for req in args.values():
                if isinstance(req, dict) and "arg_0" in req:
                    req["arg_0"] = _hash(req["arg_0"])
        elif isinstance(args, list):
            row["arguments"] = [[_hash(a[0]), *a[1:]] if isinstance(a, list) and a else a for a in args]
        out.append(json.dumps(row, ensure_ascii=False))
    return "\n".join(out) + "\n"


def _entry_name(path: Path, written: set[str]) -> str:
    """The archive entry name of ``path``: its file name, when lm_eval could have written it and it is new."""
    if not safe_name(path.name):
        raise SubmissionError(f"{path}: the file name cannot go into {LOGS_NAME} (only letters, digits, `_`, `.`, "
                              "`-`; no `\\`, `/` or `..`)", hint="Rename the file or move it out of the folder.")
    if path.name in written:
        raise SubmissionError(f"{path}: a file of the same name is already in {LOGS_NAME}",
                              hint="Two runs wrote the same file name in different folders: pack them separately.")
    written.add(path.name)
    return path.name


def logs_zip(samples: Iterable[tuple[str, Path]], results: Iterable[Path],
             hashed: tuple[str, ...] = HASHED_PROMPTS) -> bytes:
    """``logs_public.zip`` in memory from ``(lm_eval task, samples path)`` pairs and results files; the prompts
    of tasks whose name starts with one of ``hashed`` are replaced by their sha256.

    Secret values known to the session are masked in the samples files, every secret in the results files;
    entry names are the files' own names, checked (:func:`mera_magic.lmeval.output.safe_name`).
    """
    buf = io.BytesIO()
    written: set[str] = set()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for task, path in samples:
            name = _entry_name(path, written)
            text = path.read_text(encoding="utf-8")
            if hashed and task.startswith(hashed):
                text = hashed_prompts(text)
            zf.writestr(name, mask_text(text, known_only=True))
        for path in results:
            name = _entry_name(path, written)
            try:
                raw = read_json(path)
            except CorruptedFile as exc:
                raise SubmissionError(f"{path}: {exc.reason}", hint="Move the file out of the folder.") from None
            zf.writestr(name, json.dumps(mask(raw), ensure_ascii=False, indent=2))
    return buf.getvalue()


def write_archive(dst: Path, payloads: dict[str, Any], logs: bytes) -> Path:
    """Write ``dst`` atomically: each ``payloads`` item as a JSON file at the root, then ``logs_public.zip``."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".mera-submission-", suffix=".zip", dir=dst.parent)
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, payload in payloads.items():
                zf.writestr(name, json.dumps(payload, ensure_ascii=False, indent=2))
            zf.writestr(LOGS_NAME, logs)
        os.replace(tmp, dst)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return dst
