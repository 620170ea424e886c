"""``compare(*results)``: runs side by side, the difference of each metric and whether it is significant.

The table has one value column per run and, for every run after the first (the baseline), the difference to
the baseline and its p-value.  The test is a two-sided z-test on the difference of two independent estimates,
``z = (b - a) / sqrt(se_a² + se_b²)``, using the standard errors lm_eval reports; it is only computed where
both runs report a standard error.  It ignores that the runs answered the same documents (a paired test on
the samples would be more sensitive); :meth:`Comparison.differences` shows those documents.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..errors import ResultsError
from .model import RunResult
from .samples import has_gold

if TYPE_CHECKING:
    import plotly.graph_objects as go

TEST = (
    "Δ: difference to the first run; p: two-sided z-test on two independent estimates, "
    "z = Δ / √(se₁² + se₂²), from the reported standard errors (unpaired); * p < 0.05."
)
KEYS = ["task", "filter", "metric"]


def p_value(delta: float, se_a: float, se_b: float) -> float:
    """Two-sided p-value of a z-test for ``delta`` with independent standard errors; NaN when undefined."""
    if any(v is None or (isinstance(v, float) and math.isnan(v)) for v in (delta, se_a, se_b)):
        return math.nan
    scale = math.sqrt(float(se_a) ** 2 + float(se_b) ** 2)
    if scale == 0:
        return math.nan
    return math.erfc(abs(float(delta)) / scale / math.sqrt(2.0))


def _unique_names(results: list[RunResult], names: list[str] | None) -> list[str]:
    if names is not None:
        if len(names) != len(results):
            raise ResultsError(f"compare got {len(results)} runs but {len(names)} names.")
        if len(set(names)) != len(names):
            raise ResultsError("compare names must be different from each other.")
        return [str(n) for n in names]
    base = [r.model_name or f"run {i + 1}" for i, r in enumerate(results)]
    out = []
    for i, name in enumerate(base):
        if base.count(name) > 1:
            date = results[i].date
            name = f"{name} ({date:%Y-%m-%d %H:%M:%S})" if date else f"{name} #{i + 1}"
        while name in out:
            name = f"{name} #{i + 1}"
        out.append(name)
    return out


class Comparison:
    """Several runs side by side.  Build it with :func:`compare`.

    Attributes
    ----------
    results
        The compared runs, baseline first.
    names
        Their column names (model names, made unique with the run date).
    test_description
        Which significance test the ``p`` columns hold.
    """

    test_description = TEST

    def __init__(self, results: list[RunResult], names: list[str]) -> None:
        self.results = results
        self.names = names
        self._table: pd.DataFrame | None = None

    @property
    def long(self) -> pd.DataFrame:
        """Every run's metrics stacked: task, filter, metric, run, value, stderr, higher_is_better, scored."""
        frames = []
        for name, result in zip(self.names, self.results):
            frame = result.metrics[KEYS + ["value", "stderr", "higher_is_better", "scored_locally"]].copy()
            frame.insert(3, "run", name)
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)

    @property
    def table(self) -> pd.DataFrame:
        """One row per task, filter and metric: each run's value and stderr, then per later run ``Δ <name>``
        (minus the first run) and ``p <name>`` (see :attr:`test_description`); ``not_scored`` marks rows
        some run did not score locally."""
        if self._table is None:
            self._table = self._build()
        return self._table

    def _build(self) -> pd.DataFrame:
        merged: pd.DataFrame | None = None
        order: list[tuple[str, str, str]] = []
        for name, result in zip(self.names, self.results):
            metrics = result.metrics
            for key in metrics[KEYS].itertuples(index=False, name=None):
                if key not in order:
                    order.append(key)
            part = metrics[KEYS + ["value", "stderr", "higher_is_better", "scored_locally"]].rename(
                columns={
                    "value": name,
                    "stderr": f"{name} stderr",
                    "higher_is_better": f"{name} hib",
                    "scored_locally": f"{name} scored",
                }
            )
            part = part.drop_duplicates(subset=KEYS)
            merged = part if merged is None else merged.merge(part, on=KEYS, how="outer")
        assert merged is not None
        merged = merged.set_index(KEYS).reindex(order).reset_index()
        hib = merged[[f"{n} hib" for n in self.names]].apply(
            lambda row: next((v for v in row if v is not None and not pd.isna(v)), None), axis=1
        )
        scored = merged[[f"{n} scored" for n in self.names]].fillna(True).astype(bool)
        out = merged[KEYS].copy()
        out["higher_is_better"] = hib.astype(object) if len(merged) else pd.Series(dtype=object)
        for name in self.names:
            out[name] = merged[name].astype(float)
            out[f"{name} stderr"] = merged[f"{name} stderr"].astype(float)
        base = self.names[0]
        for name in self.names[1:]:
            delta = out[name] - out[base]
            out[f"Δ {name}"] = delta
            out[f"p {name}"] = [
                p_value(d, a, b) for d, a, b in zip(delta, out[f"{base} stderr"], out[f"{name} stderr"])
            ]
        out["not_scored"] = ~scored.all(axis=1) if len(merged) else pd.Series(dtype=bool)
        return out

    def figure(self) -> go.Figure:
        """Grouped bars: each task's metrics, one bar per run, with error bars."""
        from .charts import compare_figure
        from .metrics import headline

        long = self.long
        long = long[long["scored_locally"].astype(bool)]
        keep = pd.concat([headline(r.metrics)[KEYS] for r in self.results]).drop_duplicates()
        long = long.merge(keep, on=KEYS, how="inner")
        return compare_figure(long)

    def differences(
        self, task: str, filter: str | None = None, *, only_different: bool = True
    ) -> pd.DataFrame:
        """The documents of ``task`` where the runs answered differently (all matched ones with
        ``only_different=False``), matched by ``doc_hash`` (the document's content) or, when a run lacks it,
        by ``doc_id``.  Columns: doc_id, filter, prompt, target, then ``answer <name>`` and ``correct <name>``
        per run (the picked choice for multiple choice, the filtered response for generation)."""
        frames = []
        for name, result in zip(self.names, self.results):
            frame = result.samples(task, filter)
            if filter is None:
                first = result.filters(task)[0]
                if first in set(frame["filter"]):
                    frame = frame[frame["filter"] == first]
            answer = frame["pred_choice"] if "pred_choice" in frame else frame["filtered"]
            frames.append(
                pd.DataFrame(
                    {
                        "doc_id": frame["doc_id"].to_numpy(),
                        "doc_hash": frame["doc_hash"].to_numpy(),
                        "filter": frame["filter"].to_numpy(),
                        "prompt": frame["prompt"].to_numpy(),
                        "target": frame["target"].to_numpy(),
                        f"answer {name}": [_answer_text(a) for a in answer],
                        f"correct {name}": frame["correct"].to_numpy(),
                    }
                )
            )
        use_hash = all(f["doc_hash"].notna().all() for f in frames)
        key = "doc_hash" if use_hash else "doc_id"
        merged = frames[0].drop_duplicates(subset=[key])
        for frame in frames[1:]:
            frame = frame.drop_duplicates(subset=[key]).drop(columns=["prompt", "target", "filter"])
            frame = frame.drop(columns=["doc_id"] if key == "doc_hash" else ["doc_hash"])
            merged = merged.merge(frame, on=key, how="inner")
        merged = merged.drop(columns=["doc_hash"])
        answers = merged[[f"answer {n}" for n in self.names]]
        if only_different:
            merged = merged[answers.nunique(axis=1, dropna=False) > 1]
        merged = merged.reset_index(drop=True)
        merged.attrs["matched_by"] = key
        merged.attrs["gold"] = bool(merged["target"].map(has_gold).any()) if len(merged) else False
        return merged

    def __repr__(self) -> str:
        from .export import comparison_text

        return comparison_text(self)

    def to_csv(self, path: str | Path | None = None) -> str | None:
        """The comparison table as CSV: written to ``path`` (returns None), or returned as a string."""
        from .export import write_or_return

        return write_or_return(self.table.to_csv(index=False), path)

    def to_markdown(self) -> str:
        """The comparison as a Markdown table (values, Δ to the first run, p-values; the test is named)."""
        from .export import NOT_SCORED, arrow, fmt_value, markdown_table

        header = ["Task", "Filter", "Metric", "", *self.names]
        for name in self.names[1:]:
            header += [f"Δ {name}", "p"]
        rows = []
        for row in self.table.to_dict("records"):
            cells = [row["task"], row["filter"], row["metric"], arrow(row["higher_is_better"])]
            for name in self.names:
                value, stderr = row[name], row[f"{name} stderr"]
                if pd.isna(value):
                    cells.append(NOT_SCORED if row["not_scored"] else "")
                else:
                    cells.append(fmt_value(value) + ("" if pd.isna(stderr) else f" ± {fmt_value(stderr)}"))
            for name in self.names[1:]:
                delta, p = row[f"Δ {name}"], row[f"p {name}"]
                cells.append("" if pd.isna(delta) else f"{delta:+.4f}")
                cells.append("" if pd.isna(p) else f"{p:.3g}" + (" *" if p < 0.05 else ""))
            rows.append(cells)
        align = ["l", "l", "l", "c"] + ["r"] * (len(header) - 4)
        return markdown_table(header, rows, align) + f"\n{TEST}\n"


def _answer_text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value if isinstance(value, str) else repr(value)


def compare(*results: RunResult | str | Path, names: list[str] | None = None) -> Comparison:
    """Compare runs (RunResult objects or paths that :func:`mera_magic.results.load` reads), first = baseline."""
    if len(results) < 2:
        raise ResultsError(f"compare needs at least two runs; got {len(results)}.")
    loaded: list[RunResult] = []
    for item in results:
        if isinstance(item, RunResult):
            loaded.append(item)
        elif isinstance(item, (str, Path)):
            from .load import load

            loaded.append(load(item))
        else:
            raise ResultsError(f"compare takes RunResult objects or paths, not {type(item).__name__}.")
    return Comparison(loaded, _unique_names(loaded, names))
