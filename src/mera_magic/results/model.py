"""``RunResult``: the one result model, whether a run just finished or its files were loaded from disk.

Build one with :meth:`RunResult.from_memory` (what ``simple_evaluate`` returned) or :func:`mera_magic.results.load`
(a results folder or file).  Read it with ``.metrics``, ``.samples(task)``, ``.config`` and ``.env``; export it
with ``.to_csv()`` and ``.to_markdown()``; ``.figure()`` builds a plotly chart.  This module knows nothing of
notebooks: :mod:`mera_magic.display` renders a result (registered with IPython when mera_magic is imported in
a kernel) and writes HTML pages (``mera_magic.display.to_html``).
"""

from __future__ import annotations

from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..errors import ResultsError
from ..lmeval.output import RunFiles, model_name_of, stamp_to_datetime
from .meta import config_of, env_of, mask
from .metrics import BYPASS, filters_of, groups_of, metrics_frame, task_order
from .problems import Problem, warn_problems
from .samples import SampleSource

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from ..spec import RunSpec


class RunResult:
    """The metrics, samples, configuration and environment of one lm_eval run.

    Attributes
    ----------
    raw
        lm_eval's results dict with secrets masked (samples not included).
    files
        The run's files on disk (results first); empty for a run that was not saved.
    problems
        What could not be read (bad JSONL lines, unreadable files), each naming the file and line.
    notes
        Remarks shown with the result (e.g. which of several runs in a folder was loaded).
    """

    def __init__(
        self,
        raw: dict[str, Any],
        sources: dict[str, SampleSource],
        *,
        spec: RunSpec | None = None,
        files: list[Path] | None = None,
        elapsed: float | None = None,
        run_id: str | None = None,
        notes: list[str] | None = None,
        problems: list[Problem] | None = None,
    ) -> None:
        if not isinstance(raw.get("results"), dict):
            raise ResultsError(
                "This is not an lm_eval results dict: it has no 'results' mapping.",
                hint="Pass what lm_eval.simple_evaluate returned, or load a results_*.json file.",
            )
        self.raw: dict[str, Any] = mask({k: v for k, v in raw.items() if k != "samples"})
        self._sources = sources
        self.spec = spec
        self.files: list[Path] = [Path(f) for f in files or []]
        self.elapsed = elapsed
        self.run_id = run_id
        self.notes: list[str] = list(notes or [])
        self._problems: list[Problem] = list(problems or [])

    # -- construction ------------------------------------------------------------------------------------
    @classmethod
    def from_memory(
        cls,
        results: dict[str, Any],
        samples: dict[str, list[dict[str, Any]]] | None = None,
        *,
        spec: RunSpec | None = None,
        files: list[Path] | None = None,
        elapsed: float | None = None,
    ) -> RunResult:
        """A result from what ``lm_eval.evaluator.simple_evaluate`` returned.

        ``results`` is the returned dict (its ``samples`` popped off, or still in it); ``samples`` the logged
        samples by task (in-memory layout, or already saved and rewritten by ``EvaluationTracker``: both are
        read).  ``files`` are the paths the run wrote, ``elapsed`` its wall time in seconds.
        """
        if samples is None and isinstance(results.get("samples"), dict):
            samples = results["samples"]
        files = [Path(f) for f in files or []]
        run_id = None
        for path in files:
            from ..lmeval.output import stamp_of

            if path.suffix == ".json" and stamp_of(path):
                run_id = stamp_of(path)
                break
        sources: dict[str, SampleSource] = {}
        for task, records in (samples or {}).items():
            sources[str(task)] = SampleSource(
                str(task), records=list(records), filters=filters_of(results, task)
            )
        return cls(results, sources, spec=spec, files=files, elapsed=elapsed, run_id=run_id)

    @classmethod
    def from_files(cls, run: RunFiles, raw: dict[str, Any], *, notes: list[str] | None = None) -> RunResult:
        """A result from a run's files (the results dict already read; samples read when asked)."""
        sources = {
            task: SampleSource(task, path=path, filters=filters_of(raw, task))
            for task, path in run.samples.items()
        }
        return cls(raw, sources, files=run.paths, run_id=run.stamp or None, notes=notes)

    # -- what the run holds --------------------------------------------------------------------------------
    @cached_property
    def metrics(self) -> pd.DataFrame:
        """One row per task (and group), filter and metric.

        Columns: task, filter, metric, value, stderr, higher_is_better, n_shot, n_samples (effective),
        n_available (original), is_group, scored_locally, version, alias.  Predict-only placeholders
        (``bypass`` = 999, or no metric at all) have value NaN and scored_locally False.
        """
        frame = metrics_frame(self.raw)
        # lm_eval reports 0 documents for predict-only multiple-choice tasks: count the logged ones instead
        for task in set(frame.loc[(frame["n_samples"] == 0) & ~frame["is_group"], "task"]):
            if task in self._sources:
                source = self._sources[task]
                count = source.count_hint(source.filters[0])
                if count:
                    frame.loc[frame["task"] == task, "n_samples"] = count
        return frame

    def mera_summary(self) -> pd.DataFrame:
        """A local, MERA-style score per MERA task and their mean (see :mod:`.mera_summary`; not the leaderboard's)."""
        from .mera_summary import mera_summary

        return mera_summary(self.metrics)

    @property
    def tasks(self) -> list[str]:
        """The evaluated tasks (not groups), in display order."""
        groups = groups_of(self.raw)
        names = [n for n in task_order(self.raw) if n not in groups]
        names += [t for t in self._sources if t not in names]
        return names

    @property
    def groups(self) -> dict[str, list[str]]:
        """Group name -> subtasks, as lm_eval reports them."""
        return groups_of(self.raw)

    @property
    def sample_tasks(self) -> list[str]:
        """The tasks that have logged samples (``--log_samples``), in display order."""
        return [t for t in self.tasks if t in self._sources]

    def filters(self, task: str) -> list[str]:
        """The filter names of a task (``none`` when it has no filter list)."""
        return filters_of(self.raw, task)

    def source(self, task: str) -> SampleSource:
        """The lazy samples source of a task (used by the samples browser)."""
        if task not in self._sources:
            known = ", ".join(self._sources) or "none"
            hint = (
                "Run with --log_samples (or --predict_only) to keep samples."
                if not self._sources
                else f"Tasks with samples: {known}."
            )
            raise ResultsError(f"No samples for task {task!r} in this run.", hint=hint)
        return self._sources[task]

    def samples(self, task: str, filter: str | None = None) -> pd.DataFrame:
        """The task's samples, one row per document and filter (``filter`` selects one).

        Columns: doc_id, filter, prompt, target, response (raw), filtered, and for multiple-choice tasks
        choices, loglikelihoods, pred_index, pred_choice, gold_index; then one column per per-sample metric;
        then correct (where a gold answer exists), doc, doc_hash, prompt_hash, line (in the JSONL file).
        The task's file is read the first time it is asked for; unreadable lines are skipped and listed in
        :attr:`problems`.
        """
        source = self.source(task)
        frame = source.frame()
        warn_problems(source.problems, f"samples of {task}")
        if filter is not None:
            known = sorted(set(frame["filter"]))
            if filter not in known:
                raise ResultsError(
                    f"Task {task!r} has no filter {filter!r}.", hint=f"Its filters: {', '.join(known)}."
                )
            frame = frame[frame["filter"] == filter].reset_index(drop=True)
        return frame

    @property
    def problems(self) -> list[Problem]:
        """Everything that could not be read so far (files, JSONL lines), each naming its file and line."""
        seen: set[tuple[str, int | None, str]] = set()
        out: list[Problem] = []
        for problem in [*self._problems, *(p for s in self._sources.values() for p in s.problems)]:
            key = (str(problem.path), problem.line, problem.message)
            if key not in seen:
                seen.add(key)
                out.append(problem)
        return out

    @cached_property
    def config(self) -> dict[str, Any]:
        """The run's settings (lm_eval's ``config``, system instruction, chat template, n-shot), secrets masked."""
        return config_of(self.raw, self.spec)

    @property
    def task_configs(self) -> dict[str, Any]:
        """Each task's full lm_eval config (secrets masked)."""
        return dict(self.raw.get("configs") or {})

    @cached_property
    def env(self) -> dict[str, Any]:
        """Environment facts: lm_eval and transformers versions, git hash, date, total time, chat template."""
        return env_of(self.raw, elapsed=self.elapsed)

    @property
    def model_name(self) -> str | None:
        """The evaluated model's name (``pretrained=`` etc.)."""
        return model_name_of(self.raw, self.spec)

    @property
    def output_dir(self) -> Path | None:
        """The folder holding the run's files (None for a run that was not saved)."""
        return self.files[0].parent if self.files else None

    @property
    def date(self) -> datetime | None:
        """When the run started (from the file stamp, else lm_eval's recorded date)."""
        if self.run_id:
            parsed = stamp_to_datetime(self.run_id)
            if parsed:
                return parsed
        value = self.raw.get("date")
        if isinstance(value, (int, float)):
            return datetime.fromtimestamp(float(value))
        return None

    @property
    def predict_only(self) -> bool:
        """True when the run was made with ``--predict_only`` (nothing scored locally)."""
        metrics = self.metrics
        return (
            bool(len(metrics))
            and bool((metrics["metric"] == BYPASS).any())
            and not metrics["scored_locally"].any()
        )

    # -- charts, text, export --------------------------------------------------------------------------------
    def figure(self, kind: str = "tasks", *, task: str | None = None) -> go.Figure:
        """A plotly figure: ``"tasks"`` (each task's metrics with error bars) or ``"domains"`` (one task's
        per-domain breakdown; ``task`` picks it, default the first task that has one)."""
        from . import charts

        if kind == "tasks":
            return charts.tasks_figure(self.metrics, title=self.model_name)
        if kind == "domains":
            return charts.domains_figure(self.metrics, task=task)
        raise ValueError(f"Unknown chart kind {kind!r}; use 'tasks' or 'domains'.")

    def figures(self) -> list[go.Figure]:
        """Every chart of this run: the per-task figure and one breakdown per task that reports domains."""
        from . import charts

        return charts.all_figures(self.metrics, title=self.model_name)

    def __repr__(self) -> str:
        from ..secrets import mask_text
        from .export import result_text

        return mask_text(result_text(self))

    def to_csv(self, path: str | Path | None = None) -> str | None:
        """The metrics table as CSV: written to ``path`` (returns None), or returned as a string."""
        from ..secrets import mask_text
        from .export import write_or_return

        return write_or_return(mask_text(self.metrics.to_csv(index=False)), path)

    def to_markdown(self) -> str:
        """The metrics as a Markdown table (Task | Filter | n-shot | Metric | ↑ | Value | ± | Stderr)."""
        from ..secrets import mask_text
        from .export import metrics_markdown

        return mask_text(metrics_markdown(self.metrics, self.groups))
