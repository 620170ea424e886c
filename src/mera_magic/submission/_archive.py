"""Write the archive: ``<Task>.json`` files and ``logs_public.zip`` at the zip's root (no top folder).

``logs_public.zip`` holds the samples files the archive was built from and their runs' results files, as
MERA's packer does; ruTiE's prompts are replaced by their sha256 (its test dialogue stays closed), and secrets
in the results files' model_args are masked.
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

from ..secrets import mask_data as mask

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


def logs_zip(samples: Iterable[tuple[str, Path]], results: Iterable[Path]) -> bytes:
    """``logs_public.zip`` in memory from ``(lm_eval task, samples path)`` pairs and results files."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for task, path in samples:
            if task.startswith(HASHED_PROMPTS):
                zf.writestr(path.name, hashed_prompts(path.read_text(encoding="utf-8")))
            else:
                zf.write(path, arcname=path.name)
        for path in results:
            raw = json.loads(path.read_text(encoding="utf-8"))
            zf.writestr(path.name, json.dumps(mask(raw), ensure_ascii=False, indent=2))
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
