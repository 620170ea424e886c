"""The metrics table of a run, from lm_eval's results dict.

lm_eval keys every value ``"<metric>,<filter>"`` and its standard error ``"<metric>_stderr,<filter>"`` (``"N/A"``
when not computed) under ``results[task]``; groups appear there too.  Under ``--predict_only`` the metric is
``bypass`` with the placeholder value 999 (generation tasks) or there is no metric at all (multiple-choice
tasks); such rows get ``value`` NaN and ``scored_locally`` False, and are shown as "not scored locally".

Per-domain metrics are recognised for the breakdown charts: ``acc.<domain>`` / ``em.<domain>`` (ruMMLU,
MaMuRAMu), ``grade_norm.task<N>`` (USE), ``acc_<group>`` (ruHateSpeech target groups, ruHHH criteria) and
``mcc_<question>_<criterion>`` (ruEthics).
"""

from __future__ import annotations

import math
import re
from typing import Any

import pandas as pd

#: the metric lm_eval substitutes under ``--predict_only``; its aggregation returns this placeholder
BYPASS = "bypass"
PLACEHOLDER = 999

COLUMNS = [
    "task",
    "filter",
    "metric",
    "value",
    "stderr",
    "higher_is_better",
    "n_shot",
    "n_samples",
    "n_available",
    "is_group",
    "scored_locally",
    "version",
    "alias",
]

#: sub-metric names MERA writes with an underscore: ruHateSpeech target groups and ruHHH criteria
UNDERSCORE_PARTS = {
    "men",
    "women",
    "nationalities",
    "migrants",
    "lgbt",
    "other",
    "helpful",
    "harmless",
    "honest",
}
_ETHICS = re.compile(
    r"^(?P<base>mcc_(?:correct|good|ethical))_(?P<part>virtue|law|moral|justice|utilitarianism)$"
)
_NOT_METRIC_KEYS = {"name", "alias", "sample_len", "sample_count", "samples", " ", ""}


def to_float(value: Any) -> float:
    """A metric value as a float; NaN for ``"N/A"``, None and anything that is not a number."""
    if value is None or isinstance(value, bool):
        return math.nan if value is None else float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def groups_of(raw: dict[str, Any]) -> dict[str, list[str]]:
    """Group name -> its subtasks (from ``group_subtasks`` and ``groups``)."""
    groups: dict[str, list[str]] = {str(k): [] for k in (raw.get("groups") or {})}
    subtasks = raw.get("group_subtasks")
    if isinstance(subtasks, dict):
        # lm_eval 0.4.4 also lists every standalone task here, with no subtasks
        groups.update({str(k): [str(t) for t in v] for k, v in subtasks.items() if v})
    return groups


def task_order(raw: dict[str, Any]) -> list[str]:
    """Every name under ``results`` in display order: each group followed by its subtasks, depth first."""
    names = [str(n) for n in (raw.get("results") or {})]
    groups = groups_of(raw)
    inner = {t for subs in groups.values() for t in subs}
    ordered: list[str] = []

    def visit(name: str) -> None:
        if name in ordered:
            return
        ordered.append(name)
        for sub in groups.get(name, []):
            visit(sub)

    parent = {sub: group for group, subs in groups.items() for sub in subs}

    def top(name: str) -> str:
        seen = {name}
        while name in parent and parent[name] not in seen:
            name = parent[name]
            seen.add(name)
        return name

    for name in names:  # a group takes the place of its first subtask
        visit(top(name) if name in inner else name)
    return [n for n in ordered if n in names or n in groups]


def leaves(raw: dict[str, Any], name: str) -> list[str]:
    """The leaf tasks under ``name`` (itself when it is a task)."""
    groups = groups_of(raw)
    if name not in groups:
        return [name]
    out: list[str] = []
    for sub in groups[name]:
        out.extend(t for t in leaves(raw, sub) if t not in out)
    return out


def filters_of(raw: dict[str, Any], task: str) -> list[str]:
    """The filter names of a task, in lm_eval's order (from its config; ``none`` when it has no filter list)."""
    config = (raw.get("configs") or {}).get(task) or {}
    names = [
        str(f.get("name")) for f in config.get("filter_list") or [] if isinstance(f, dict) and f.get("name")
    ]
    return names or ["none"]


def _predict_only(raw: dict[str, Any], task: str) -> bool:
    config = (raw.get("configs") or {}).get(task) or {}
    metric_list = config.get("metric_list") or []
    return any(isinstance(m, dict) and m.get("metric") == BYPASS for m in metric_list)


def _counts(raw: dict[str, Any], name: str) -> tuple[int | None, int | None]:
    n_samples = raw.get("n-samples") or {}
    effective = available = 0
    known = False
    for leaf in leaves(raw, name):
        entry = n_samples.get(leaf)
        if isinstance(entry, dict):
            known = True
            effective += int(entry.get("effective") or 0)
            available += int(entry.get("original") or 0)
    return (effective, available) if known else (None, None)


def _n_shot(raw: dict[str, Any], name: str) -> int | None:
    value = (raw.get("n-shot") or {}).get(name)
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def metrics_frame(raw: dict[str, Any]) -> pd.DataFrame:
    """One row per task (and group), filter and metric; see the module docstring for the columns' meaning."""
    results = raw.get("results") or {}
    groups = groups_of(raw)
    higher = raw.get("higher_is_better") or {}
    versions = raw.get("versions") or {}
    rows: list[dict[str, Any]] = []
    for name in task_order(raw):
        entry = results.get(name) or {}
        is_group = name in groups or name in (raw.get("groups") or {})
        n_samples, n_available = _counts(raw, name)
        common = {
            "task": name,
            "n_shot": _n_shot(raw, name),
            "n_samples": n_samples,
            "n_available": n_available,
            "is_group": is_group,
            "version": None if versions.get(name) is None else str(versions.get(name)),
            "alias": str(entry.get("alias", name)).strip().lstrip("- ").strip() or name,
        }
        found = False
        for key, value in entry.items():
            key = str(key)
            if key in _NOT_METRIC_KEYS or "_stderr" in key.split(",")[0]:
                continue
            metric, _, filt = key.partition(",")
            filt = filt or "none"
            value_f = to_float(value)
            if isinstance(value, (dict, list, str)) and math.isnan(value_f):
                continue  # not a metric value (e.g. a nested record)
            placeholder = metric == BYPASS
            stderr = to_float(entry.get(f"{metric}_stderr,{filt}" if "," in key else f"{metric}_stderr"))
            hib = (higher.get(name) or {}).get(metric)
            rows.append(
                {
                    **common,
                    "filter": filt,
                    "metric": metric,
                    "value": math.nan if placeholder else value_f,
                    "stderr": math.nan if placeholder else stderr,
                    "higher_is_better": None if placeholder or hib is None else bool(hib),
                    "scored_locally": not placeholder and not math.isnan(value_f),
                }
            )
            found = True
        if not found and not is_group:
            # predict-only multiple-choice tasks come back with no metric at all: say so, with no number
            for filt in filters_of(raw, name):
                rows.append(
                    {
                        **common,
                        "filter": filt,
                        "metric": BYPASS if _predict_only(raw, name) else "(none)",
                        "value": math.nan,
                        "stderr": math.nan,
                        "higher_is_better": None,
                        "scored_locally": False,
                    }
                )
    frame = pd.DataFrame(rows, columns=COLUMNS)
    for column in ("n_shot", "n_samples", "n_available"):
        frame[column] = frame[column].astype("Int64")
    frame["value"] = frame["value"].astype(float)
    frame["stderr"] = frame["stderr"].astype(float)
    frame["is_group"] = frame["is_group"].astype(bool)
    frame["scored_locally"] = frame["scored_locally"].astype(bool)
    frame["higher_is_better"] = frame["higher_is_better"].astype(object)
    return frame


def split_metric(metric: str, siblings: set[str]) -> tuple[str, str] | None:
    """``(base, part)`` when ``metric`` is one part of a per-domain breakdown, else None.

    ``acc.anatomy`` -> ``("acc", "anatomy")``; ``grade_norm.task8_0`` -> ``("grade_norm", "task8_0")``;
    ``acc_women`` -> ``("acc", "women")``; ``mcc_good_law`` -> ``("mcc_good", "law")``.
    """
    if "." in metric:
        base, _, part = metric.partition(".")
        if base and part:
            return base, part
    ethics = _ETHICS.match(metric)
    if ethics:
        return ethics.group("base"), ethics.group("part")
    base, sep, part = metric.rpartition("_")
    if sep and part in UNDERSCORE_PARTS and (base in siblings or base in {"acc", "em", "exact_match"}):
        return base, part
    return None


def breakdown(metrics: pd.DataFrame) -> pd.DataFrame:
    """The per-domain parts of every task's metrics: columns task, filter, base, part, value, stderr."""
    rows: list[dict[str, Any]] = []
    for (task, filt), frame in metrics.groupby(["task", "filter"], sort=False):
        siblings = set(frame["metric"])
        for row in frame.itertuples(index=False):
            split = split_metric(str(row.metric), siblings)
            if split is None:
                continue
            rows.append(
                {
                    "task": task,
                    "filter": filt,
                    "base": split[0],
                    "part": split[1],
                    "value": row.value,
                    "stderr": row.stderr,
                    "scored_locally": row.scored_locally,
                }
            )
    frame = pd.DataFrame(
        rows, columns=["task", "filter", "base", "part", "value", "stderr", "scored_locally"]
    )
    frame["scored_locally"] = frame["scored_locally"].astype(bool)
    frame["value"] = frame["value"].astype(float)
    frame["stderr"] = frame["stderr"].astype(float)
    return frame


def headline(metrics: pd.DataFrame) -> pd.DataFrame:
    """The metrics that are not parts of a breakdown (what the per-task chart and summaries show)."""
    keep: list[Any] = []
    for (_task, _filt), frame in metrics.groupby(["task", "filter"], sort=False):
        siblings = set(frame["metric"])
        keep.extend(i for i, m in zip(frame.index, frame["metric"]) if split_metric(str(m), siblings) is None)
    return metrics.loc[sorted(keep)]
