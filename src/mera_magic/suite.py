"""A whole MERA suite from one command, run as MERA's scripts run it, with resume.

``%%mera --suite mera`` (or ``mera_gen``, ``mera_all``) takes the cell's model, model_args and settings and runs
each task of the suite one by one, as ``run_benchmark*.sh`` does: ``--num_fewshot`` and ``--gen_kwargs`` per task
from :mod:`mera_magic.catalog` (``do_sample=False`` for every task, ``temperature=0.6,do_sample=True`` for
ruHumanEval and ruCodeEval).  The model is loaded once for the whole suite.

- **Settings.** The cell's ``--gen_kwargs`` stands for the scripts' ``GENERATION_KWARGS`` (every task but the
  code tasks); MERA's per-task values win over the cell's ``--num_fewshot``.  ``--set TASK:num_fewshot=N`` and
  ``--set TASK:gen_kwargs=k=v,...`` (``*`` for every task) override them explicitly.  The board shows each
  task's settings and where they come from.
- **Resume.** A task whose samples are already in ``--output_path`` is skipped when the run that wrote them had
  the same model, model_args, limit, chat settings, few-shot count and (for generative tasks) generation
  settings, read from its results file; otherwise it runs again, and the board says why.  ``force`` reruns all.
- **Before the run.** Tasks the installed lm_eval cannot load from the folder (:mod:`mera_magic.lmeval.compat`) are
  reported with the fix and not started; when none can load, the suite stops at once with one message.  ruDetox,
  whose scoring downloads three classifiers from the hub, is skipped with the reason when they are not in the
  run's HF cache and the run is offline.
- **Failures and stop.** A failing task is reported and the suite goes on; the kernel's stop button stops the
  whole suite (the finished tasks stay on disk; run the cell again to resume).

:func:`plan_suite` computes all of this without running anything (``%%mera --suite mera --dry-run``).
"""

from __future__ import annotations

import html
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import catalog
from .command import parse_command
from .errors import CheckError, CompatibilityError, MeraError, ParseError, RunInterrupted
from .lmeval.output import CorruptedFile, read_json
from .session import SESSION
from .spec import RunSpec

__all__ = ["SuiteTask", "SuiteResult", "TaskSettings", "parse_overrides", "plan_suite", "run_suite",
           "done_before", "previous_run", "rudetox_classifiers"]

_SOURCE_MERA = "MERA's scripts"
_SOURCE_CELL = "the cell"
_SOURCE_SET = "--set"


@dataclass(frozen=True)
class TaskSettings:
    """The settings one task of a suite runs with, and where each comes from (MERA's scripts, the cell, --set)."""

    num_fewshot: int
    gen_kwargs: dict[str, Any]
    generative: bool
    sources: tuple[tuple[str, str], ...] = ()

    def source(self, name: str) -> str:
        """Where the setting ``name`` (``num_fewshot`` or ``gen_kwargs``) comes from."""
        return dict(self.sources).get(name, _SOURCE_MERA)

    @property
    def gen_kwargs_text(self) -> str:
        """``gen_kwargs`` as the k=v text MERA's scripts pass."""
        return _kv(self.gen_kwargs)


def _kv(mapping: Mapping[str, Any]) -> str:
    return ",".join(f"{k}={v}" for k, v in mapping.items())


@dataclass
class SuiteTask:
    """One row of the board."""

    task: str
    fewshot: int
    status: str = "waiting"  # waiting, skipped, blocked, running, done, failed, stopped, not run
    detail: str = ""
    seconds: float | None = None
    result: Any = None
    settings: TaskSettings | None = None
    resume: str = ""  # what resume decided, and why


_COLORS = {"done": "#2e7d32", "skipped": "#777", "failed": "#c62828", "blocked": "#c62828", "running": "#1565c0",
           "waiting": "#999", "stopped": "#ef6c00", "not run": "#999", "would run": "#1565c0",
           "would skip": "#777"}


@dataclass
class SuiteResult:
    """The outcome of a suite run: one :class:`SuiteTask` per task, with each task's RunResult.

    Shown once: when the suite's live board is on screen, displaying the result again refreshes that board
    instead of adding a second one.
    """

    suite: str
    output_path: str
    tasks: list[SuiteTask] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    title: str = "MERA suite"
    base: Any = field(default=None, repr=False, compare=False)  # the cell's RunSpec
    _handle: Any = field(default=None, repr=False, compare=False)

    @property
    def results(self) -> dict[str, Any]:
        """RunResults of the tasks that ran now, by task."""
        return {t.task: t.result for t in self.tasks if t.result is not None}

    @property
    def failed(self) -> list[SuiteTask]:
        """The tasks that failed or could not load."""
        return [t for t in self.tasks if t.status in ("failed", "blocked")]

    def table(self) -> Any:
        """The board as a DataFrame."""
        import pandas as pd

        return pd.DataFrame([{"task": t.task, "fewshot": t.fewshot,
                              "gen_kwargs": t.settings.gen_kwargs_text if t.settings else "",
                              "status": t.status, "detail": t.detail,
                              "seconds": None if t.seconds is None else round(t.seconds, 1)} for t in self.tasks])

    def __str__(self) -> str:
        order = ("done", "skipped", "would run", "would skip", "blocked", "failed", "stopped", "not run", "waiting")
        counts = {s: sum(t.status == s for t in self.tasks) for s in order}
        lines = [f"{self.title} {self.suite} -> {self.output_path}: "
                 + ", ".join(f"{n} {s}" for s, n in counts.items() if n)]
        lines += [f"  note: {n}" for n in self.notes]
        for t in self.tasks:
            gen = t.settings.gen_kwargs_text if t.settings and t.settings.generative else "-"
            lines.append(f"  {t.task:<18} {t.fewshot}-shot  {gen:<32} {t.status:<10} {t.detail}".rstrip())
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        esc = html.escape

        def setting(t: SuiteTask, name: str, value: str) -> str:
            if t.settings is None or t.settings.source(name) == _SOURCE_MERA:
                return f"<code>{esc(value)}</code>"
            return f"<code>{esc(value)}</code> <span style='color:#ef6c00'>({esc(t.settings.source(name))})</span>"

        rows = "".join(
            f"<tr><td><code>{esc(t.task)}</code></td><td>{setting(t, 'num_fewshot', str(t.fewshot))}</td>"
            f"<td style='text-align:left'>"
            f"{setting(t, 'gen_kwargs', t.settings.gen_kwargs_text) if t.settings and t.settings.generative else '–'}"
            f"</td><td style='color:{_COLORS.get(t.status, '#000')}'>{esc(t.status)}</td>"
            f"<td>{'' if t.seconds is None else f'{t.seconds:.1f} s'}</td>"
            f"<td style='text-align:left;white-space:pre-wrap'>{esc(t.detail)}</td></tr>" for t in self.tasks)
        notes = "".join(f"<li>{esc(n)}</li>" for n in self.notes)
        return (f"<div class='mera-suite'><b>{esc(self.title)} {esc(self.suite)}</b> → "
                f"<code>{esc(self.output_path)}</code>{f'<ul>{notes}</ul>' if notes else ''}"
                f"<table><thead><tr><th>task</th><th>few-shot</th><th>gen_kwargs</th><th>status</th><th>time</th>"
                f"<th></th></tr></thead><tbody>{rows}</tbody></table></div>")

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/plain": str(self), "text/html": self._repr_html_()}

    def _ipython_display_(self) -> None:
        from IPython.display import HTML
        from IPython.display import display as show

        if self._handle is not None:
            self._handle.update(HTML(self._repr_html_()))  # the live board, refreshed in place: shown once
        else:
            show(self._repr_mimebundle_(), raw=True)

    def _show_live(self) -> None:
        try:
            from IPython import get_ipython
            from IPython.display import HTML
            from IPython.display import display as show
        except ImportError:  # pragma: no cover - IPython is a dependency
            return
        if get_ipython() is not None:
            self._handle = show(HTML(self._repr_html_()), display_id=True)

    def _refresh(self) -> None:
        if self._handle is not None:
            from IPython.display import HTML

            self._handle.update(HTML(self._repr_html_()))


# ------------------------------------------------------------------------------------------------------------
# settings
# ------------------------------------------------------------------------------------------------------------


def parse_overrides(items: list[str] | None) -> dict[str, dict[str, Any]]:
    """``["ruhumaneval:gen_kwargs=temperature=0.2,do_sample=True", "*:num_fewshot=0"]`` -> per-task settings.

    Each item is ``TASK:SETTING=VALUE`` with SETTING ``num_fewshot`` (an integer) or ``gen_kwargs`` (k=v pairs);
    TASK ``*`` means every task of the suite.
    """
    from .command.values import to_mapping

    out: dict[str, dict[str, Any]] = {}
    for item in items or []:
        task, sep, rest = item.partition(":")
        name, eq, value = rest.partition("=")
        name = name.strip()
        if not sep or not eq or not task.strip() or name not in ("num_fewshot", "gen_kwargs"):
            raise ParseError(f"--set {item!r}: expected TASK:num_fewshot=N or TASK:gen_kwargs=k=v,...",
                             hint="e.g. --set 'ruhumaneval:gen_kwargs=temperature=0.2,do_sample=True' or "
                                  "--set '*:num_fewshot=0' (* is every task).")
        settings = out.setdefault(task.strip(), {})
        if name == "num_fewshot":
            try:
                settings[name] = int(value)
            except ValueError:
                raise ParseError(f"--set {item!r}: num_fewshot must be an integer") from None
        else:
            settings[name] = to_mapping("gen_kwargs", value)
    return out


def task_settings(task: str, base: RunSpec, overrides: Mapping[str, Mapping[str, Any]]) -> TaskSettings:
    """The settings ``task`` runs with in a suite under the cell ``base`` and the ``--set`` overrides."""
    from .command.values import to_mapping

    try:
        mera = catalog.run_settings(task)
        fewshot, generative = mera.num_fewshot, mera.generative
        code_task = mera.gen_kwargs != catalog.GENERATION_KWARGS
        gen = to_mapping("gen_kwargs", mera.gen_kwargs)
    except catalog.UnknownNameError:
        fewshot, generative, code_task, gen = 0, True, False, to_mapping("gen_kwargs", catalog.GENERATION_KWARGS)
    sources: dict[str, str] = {}
    cell_gen = base.options.get("gen_kwargs")
    if cell_gen and not code_task:
        gen, sources["gen_kwargs"] = to_mapping("gen_kwargs", cell_gen), _SOURCE_CELL
    for key in ("*", task):
        wanted = overrides.get(key, {})
        if "num_fewshot" in wanted:
            fewshot, sources["num_fewshot"] = int(wanted["num_fewshot"]), _SOURCE_SET
        if "gen_kwargs" in wanted:
            gen, sources["gen_kwargs"] = dict(wanted["gen_kwargs"]), _SOURCE_SET
    return TaskSettings(fewshot, gen, generative, tuple(sources.items()))


def _task_spec(base: RunSpec, task: str, settings: TaskSettings) -> RunSpec:
    spec = base.copy()
    spec.tasks = [task]
    spec.options["num_fewshot"] = settings.num_fewshot
    spec.options["gen_kwargs"] = dict(settings.gen_kwargs)
    spec.options.setdefault("log_samples", True)
    return spec


# ------------------------------------------------------------------------------------------------------------
# resume
# ------------------------------------------------------------------------------------------------------------


def _norm(mapping: Mapping[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in mapping.items()}


def _settings_of(spec: RunSpec) -> dict[str, Any]:
    o = spec.options
    return {"model_args": _norm(spec.model_args), "limit": o.get("limit"),
            "chat": bool(o.get("apply_chat_template")), "system_instruction": o.get("system_instruction")}


def previous_run(spec: RunSpec, task: str, settings: TaskSettings) -> tuple[str | None, str]:
    """``(samples file, why)``: an earlier run of ``task`` in ``--output_path`` with the same model and settings
    (None when there is none), and what resume found, for the board."""
    from .command.values import to_mapping
    from .lmeval.output import SAMPLES_NAME

    output_path = Path(str(spec.options.get("output_path")))
    if not output_path.exists():
        return None, "not run before"
    want = _settings_of(spec)
    want_gen = _norm(settings.gen_kwargs)
    why = "not run before"
    for samples in sorted(output_path.rglob(f"samples_{task}_*.json*"), reverse=True):
        m = SAMPLES_NAME.match(samples.name)
        if not m or m.group("task") != task:  # samples_parus_* also matches samples_parus_gen_*
            continue
        results = samples.parent / f"results_{m.group('stamp')}.json"
        try:
            raw = read_json(results)
        except CorruptedFile:
            continue
        config = raw.get("config", {})
        try:
            got = {"model_args": _norm(to_mapping("model_args", config.get("model_args"))),
                   "limit": config.get("limit"), "chat": bool(raw.get("chat_template")),
                   "system_instruction": raw.get("system_instruction")}
            got_gen = _norm(to_mapping("gen_kwargs", config.get("gen_kwargs")))
        except MeraError:
            continue
        if got != want:
            if why == "not run before":
                differ = [k for k in want if got[k] != want[k]]
                why = f"{samples.name} was run with other {', '.join(differ)}"
            continue
        nshot = raw.get("n-shot", {}).get(task)
        if nshot is not None and int(nshot) != settings.num_fewshot:
            why = f"{samples.name} was run {nshot}-shot, {settings.num_fewshot}-shot wanted: running again"
            break
        if settings.generative and got_gen != want_gen:
            was = _kv(got_gen) or "no --gen_kwargs"
            why = f"{samples.name} was run with gen_kwargs {was}, {_kv(want_gen)} wanted: running again"
            break
        return str(samples), f"already done: {samples.name}"
    return None, why


def done_before(spec: RunSpec, task: str, fewshot: int) -> str | None:
    """The samples file of an earlier run of ``task`` with this model, few-shot and settings, if any."""
    gen = spec.options.get("gen_kwargs") or {}
    from .command.values import to_mapping

    settings = TaskSettings(fewshot, to_mapping("gen_kwargs", gen), bool(gen))
    return previous_run(spec, task, settings)[0]


# ------------------------------------------------------------------------------------------------------------
# before the run: what the installed lm_eval can load, what ruDetox needs
# ------------------------------------------------------------------------------------------------------------


def _env(spec: RunSpec, name: str) -> str | None:
    return spec.env.get(name, os.environ.get(name))


def hub_cache(spec: RunSpec) -> Path:
    """The HF hub cache the run reads (``HF_HUB_CACHE``, else ``HF_HOME``/hub, else the default), with the
    run's own variables taking precedence over the kernel's."""
    for name in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        value = _env(spec, name)
        if value:
            return Path(value).expanduser()
    home = _env(spec, "HF_HOME")
    if home:
        return Path(home).expanduser() / "hub"
    xdg = _env(spec, "XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "huggingface" / "hub"


def _cached(cache: Path, repo: str) -> bool:
    snapshots = cache / f"models--{repo.replace('/', '--')}" / "snapshots"
    weights = ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json", "pytorch_model.bin.index.json")
    return snapshots.is_dir() and any(
        (snap / "config.json").is_file() and any((snap / w).is_file() for w in weights) for snap in snapshots.iterdir())


def rudetox_classifiers(spec: RunSpec) -> list[tuple[str, bool]]:
    """``(hub name, in the run's HF cache)`` for each classifier ruDetox's scoring filter loads."""
    cache = hub_cache(spec)
    return [(repo, _cached(cache, repo)) for repo in catalog.RUDETOX_CLASSIFIERS]


def _offline(spec: RunSpec) -> bool:
    return any((_env(spec, n) or "").strip().lower() in ("1", "true", "yes", "on")
               for n in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def _rudetox_note(spec: RunSpec) -> tuple[str, bool]:
    """(what to tell, whether to skip the task)."""
    found = rudetox_classifiers(spec)
    missing = [repo for repo, ok in found if not ok]
    cache = hub_cache(spec)
    if not missing:
        return (f"rudetox: its scoring (even with --predict_only) runs three classifiers from the hub; all three "
                f"are in {cache}."), False
    get = "; ".join(f"hf download {repo}" for repo in missing)
    text = (f"rudetox: its scoring filter (it runs even with --predict_only) loads three classifiers from the hub; "
            f"{len(missing)} of them not in {cache}: {', '.join(missing)}. Get them on a machine with access "
            f"(`{get}`, with HF_HOME pointing at this cache) or copy that cache here.")
    if _offline(spec):
        return text + " Offline, ruDetox would fail after loading the model, so it is skipped.", True
    return text + " They will be downloaded (about 2 GB) when ruDetox is scored.", False


# ------------------------------------------------------------------------------------------------------------
# plan and run
# ------------------------------------------------------------------------------------------------------------


def _base_spec(text_or_spec: RunSpec | str, namespace: Mapping[str, Any] | None) -> RunSpec:
    if isinstance(text_or_spec, str):
        return parse_command(text_or_spec, namespace, SESSION.secrets).spec
    return text_or_spec


def plan_suite(text_or_spec: RunSpec | str, suite: str, *, namespace: Mapping[str, Any] | None = None,
               force: bool = False, overrides: Mapping[str, Mapping[str, Any]] | None = None) -> SuiteResult:
    """The board of a suite before it runs: tasks in MERA's order, each task's settings, what resume would
    skip and why, tasks the installed lm_eval cannot load, ruDetox's classifiers.  Runs nothing.

    Raises :class:`CheckError` without ``--output_path`` and :class:`CompatibilityError` (one message) when the
    installed lm_eval can load none of the suite's tasks from ``--include_path``.
    """
    base = _base_spec(text_or_spec, namespace)
    overrides = overrides or {}
    if not base.options.get("output_path"):
        raise CheckError("--suite needs --output_path: it is where finished tasks are found when resuming",
                         hint="Add e.g. `--output_path $PWD/mera_results`.")
    plan = catalog.suite(suite)
    if base.tasks:
        wanted = set(base.tasks)
        plan = [(t, k) for t, k in plan if t in wanted]
        if not plan:
            raise CheckError(f"none of --tasks {', '.join(base.tasks)} is in the suite {suite}",
                             hint=f"The suite's tasks: {', '.join(t for t, _ in catalog.suite(suite))}.")
    board = SuiteResult(suite, str(base.options["output_path"]), base=base)
    unknown = sorted(set(overrides) - {"*"} - {t for t, _ in plan})
    if unknown:
        raise ParseError(f"--set names {', '.join(unknown)}, not a task of this suite run",
                         hint=f"The tasks: {', '.join(t for t, _ in plan)} (or * for every task).")
    for task, _fewshot in plan:
        settings = task_settings(task, base, overrides)
        board.tasks.append(SuiteTask(task, settings.num_fewshot, settings=settings))
    if base.options.get("num_fewshot") is not None and "num_fewshot" not in overrides.get("*", {}):
        board.notes.append(f"the cell's --num_fewshot {base.options['num_fewshot']} is not used: each task runs with "
                           "MERA's few-shot count (`--set '*:num_fewshot=N'` changes them all).")
    code = [t.task for t in board.tasks if t.settings and t.settings.source("gen_kwargs") == _SOURCE_MERA
            and t.settings.gen_kwargs_text != _kv(_mapping(catalog.GENERATION_KWARGS))]
    if code:
        cell = base.options.get("gen_kwargs")
        board.notes.append(f"{', '.join(code)} sample {catalog.CODE_GEN_KWARGS} as MERA's scripts do (pass@k needs "
                           "different samples)" + (f"; the cell's --gen_kwargs {_kv(cell)} is used for the other "
                                                   "tasks" if cell else "")
                           + f" (`--set '{code[0]}:gen_kwargs=...'` changes it).")
    _check_folder(base, board)
    for row in board.tasks:
        if row.status != "waiting":
            continue
        if row.task.startswith("rudetox"):
            note, skip = _rudetox_note(base)
            board.notes.append(note)
            if skip:
                row.status, row.detail = "skipped", "offline, and its scoring classifiers are not in the HF cache"
                continue
        assert row.settings is not None
        spec = _task_spec(base, row.task, row.settings)
        previous, why = (None, "run again: --force") if force else previous_run(spec, row.task, row.settings)
        row.resume = why
        if previous:
            row.status, row.detail = "would skip", why
        else:
            row.status, row.detail = "would run", "" if why == "not run before" else why
    return board


def _mapping(text: str) -> dict[str, Any]:
    from .command.values import to_mapping

    return to_mapping("gen_kwargs", text)


def _check_folder(base: RunSpec, board: SuiteResult) -> None:
    """Mark the tasks the installed lm_eval cannot load from --include_path; stop at once when none can."""
    include = base.options.get("include_path")
    if not include or not Path(str(include)).is_dir():
        return
    from .lmeval import compat

    verdicts = compat.task_verdicts(str(include), [row.task for row in board.tasks])
    if verdicts and not any(v.loads for v in verdicts.values()):
        raise CompatibilityError(compat.nothing_loads_message(str(include), verdicts))
    for row in board.tasks:
        verdict = verdicts.get(row.task)
        if verdict is not None and not verdict.loads:
            row.status, row.detail = "blocked", verdict.message


def run_suite(text_or_spec: RunSpec | str, suite: str, *, namespace: Mapping[str, Any] | None = None,
              force: bool = False, display: bool = True,
              overrides: Mapping[str, Mapping[str, Any]] | None = None) -> SuiteResult:
    """Run a MERA suite (``mera``, ``mera_gen``, ``mera_all``) under one command's model and settings.

    The command's ``--tasks`` (if any) narrows the suite to those tasks; ``--num_fewshot`` and ``--gen_kwargs``
    are set per task as MERA's scripts set them, ``overrides`` (see :func:`parse_overrides`) change them.
    ``--output_path`` is required (resume reads it).  Returns the board; the kernel's stop button stops the
    whole suite (:class:`RunInterrupted`).
    """
    base = _base_spec(text_or_spec, namespace)
    board = plan_suite(base, suite, namespace=namespace, force=force, overrides=overrides)
    for row in board.tasks:
        if row.status == "would skip":
            row.status = "skipped"
        elif row.status == "would run":
            row.status = "waiting"
    if display:
        board._show_live()
    _run_rows(board, base, suite, namespace)
    return board


def _run_rows(board: SuiteResult, base: RunSpec, suite: str, namespace: Mapping[str, Any] | None) -> None:
    """Run the waiting rows one by one; the stop button (wherever it lands, in a task or between two) stops all."""
    from .runner import run

    current: SuiteTask | None = None
    start = time.monotonic()
    try:
        for row in board.tasks:
            if row.status != "waiting":
                continue
            current = row
            assert row.settings is not None
            spec = _task_spec(base, row.task, row.settings)
            row.status = "running"
            start = time.monotonic()
            board._refresh()
            try:
                row.result = run(spec, namespace=namespace, display=False)
                row.status = "done"
            except RunInterrupted:
                raise
            except Exception as exc:  # noqa: BLE001 - one task's failure is reported and the suite goes on
                row.status = "failed"
                row.detail = exc.message if isinstance(exc, MeraError) else f"{type(exc).__name__}: {exc}"
                if isinstance(exc, MeraError) and exc.hint:
                    row.detail += f"\n{exc.hint}"
            row.seconds = time.monotonic() - start
            current = None
            board._refresh()
    except (KeyboardInterrupt, RunInterrupted):
        if current is not None:
            current.status, current.detail = "stopped", "stopped by the user"
            current.seconds = time.monotonic() - start
        for rest in board.tasks:
            if rest.status == "waiting":
                rest.status = "not run"
        board._refresh()
        done = sum(t.status == "done" for t in board.tasks)
        where = f" during {current.task}" if current is not None else ""
        raise RunInterrupted(
            f"suite {suite} stopped by the user{where}: {done} task(s) finished now, "
            f"{sum(t.status == 'not run' for t in board.tasks)} not run",
            hint="Finished tasks are in --output_path; run the cell again to resume from where it stopped.",
        ) from None
