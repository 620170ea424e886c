"""Where the demo's files live: the package data (records, task templates) and the per-user cache folder."""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path
from typing import Any, Iterator

#: environment variable that moves the cache folder (default ``$XDG_CACHE_HOME/mera_magic`` or ``~/.cache/mera_magic``)
CACHE_ENV = "MERA_MAGIC_CACHE"


def data_root() -> Any:
    """The package-data folder ``mera_magic/demo/data`` (a :class:`importlib.resources` Traversable)."""
    return resources.files("mera_magic.demo") / "data"


def cache_root() -> Path:
    """The per-user cache folder of mera-magic (``$MERA_MAGIC_CACHE`` when set)."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "mera_magic"


def iter_records(task: str, split: str) -> Iterator[dict[str, Any]]:
    """The demo records of one data set (``task`` is a folder under ``data/records``) and split, in file order."""
    text = (data_root() / "records" / task / f"{split}.jsonl").read_text(encoding="utf-8")
    for line in text.splitlines():
        if line.strip():
            yield json.loads(line)


def render_prompt(record: dict[str, Any]) -> str:
    """A record's prompt as the demo tasks' ``doc_to_text`` renders it (MERA's ``instruction.format(...)``)."""
    inputs = record["inputs"]
    text = (
        record["instruction"].format(**inputs)
        if isinstance(inputs, dict)
        else record["instruction"].format(inputs=inputs)
    )
    return str(text).strip()
