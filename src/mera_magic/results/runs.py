"""``runs(path)``: the past runs under an output folder, one row per run, newest first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import ResultsError
from ..lmeval.output import CorruptedFile, find_runs, model_name_of, read_json
from .metrics import BYPASS, groups_of

COLUMNS = [
    "run",
    "date",
    "model",
    "tasks",
    "n_shot",
    "limit",
    "chat_template",
    "predict_only",
    "n_samples",
    "lm_eval_version",
    "path",
    "readable",
]


def _count(value: Any) -> int:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


def _summary(raw: dict[str, Any]) -> dict[str, Any]:
    groups = groups_of(raw)
    names = [str(n) for n in raw.get("results") or {}]
    tasks = [n for n in names if n not in groups]
    shots = {v for k, v in (raw.get("n-shot") or {}).items() if k in tasks}
    configs = raw.get("configs") or {}
    predict_only = any(
        any(isinstance(m, dict) and m.get("metric") == BYPASS for m in (c or {}).get("metric_list") or [])
        for c in configs.values()
    )
    n_samples = sum(_count(v.get("effective")) for v in (raw.get("n-samples") or {}).values())
    config = raw.get("config") or {}
    return {
        "model": model_name_of(raw),
        "tasks": ", ".join([*[g for g in names if g in groups], *tasks]),
        "n_shot": (
            next(iter(shots)) if len(shots) == 1 else ", ".join(map(str, sorted(shots, key=str))) or None
        ),
        "limit": config.get("limit"),
        "chat_template": bool(raw.get("chat_template")),
        "predict_only": predict_only,
        "n_samples": n_samples,
        "lm_eval_version": raw.get("lm_eval_version") or "<=0.4.4",
        "readable": True,
    }


class RunsTable(pd.DataFrame):
    """The table :func:`runs` returns: a DataFrame shown in a notebook with every cell whole (pandas cuts cells
    at 50 characters from the right, which loses a model path's useful end)."""

    @property
    def _constructor(self) -> type[RunsTable]:
        return RunsTable

    def _repr_html_(self) -> str | None:
        with pd.option_context("display.max_colwidth", None):
            return super()._repr_html_()


def runs(path: str | Path) -> RunsTable:
    """One row per run under ``path`` (newest first): run (its date stamp, for ``load(path, run=...)``), date,
    model, tasks, n_shot, limit, chat_template, predict_only, n_samples, lm_eval_version, path, readable."""
    root = Path(path).expanduser()
    if not root.exists():
        raise ResultsError(f"{root}: no such folder.")
    found = find_runs(root) if root.is_dir() else []
    rows = []
    for run in found:
        row: dict[str, Any] = {"run": run.stamp, "date": pd.Timestamp(run.date) if run.date else pd.NaT}
        try:
            raw = read_json(run.results)
            if not isinstance(raw.get("results"), dict):
                raise CorruptedFile(run.results, None, "no 'results' mapping")
            row.update(_summary(raw))
        except CorruptedFile as exc:
            row.update({"readable": False, "tasks": f"(cannot be read: {exc.reason[:80]})"})
        row["path"] = str(run.results)
        rows.append(row)
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame = frame.iloc[::-1].reset_index(drop=True)
    frame["date"] = pd.to_datetime(frame["date"])
    return RunsTable(frame)
