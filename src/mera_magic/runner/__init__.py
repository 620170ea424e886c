"""Run a RunSpec: check it, apply its environment for the run only, evaluate (in-process or as a child
process), show live progress, and return a RunResult.

In-process (the default) keeps the loaded model and the task index between cells, so a repeat is much faster
than the CLI; results files are exactly the CLI's.  A child process is used for ``accelerate launch ...``, for
``%%mera --subprocess``, and when an import-time variable (``HF_HOME``, ...) differs from what this kernel
already imported (the reason is shown).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Callable, Union

from .. import environ
from ..checks import CACHE_OWNER_SUFFIX, cache_owner, check_in_scope
from ..command import parse_command
from ..errors import CheckError, MeraError, RunError
from ..findings import Finding
from ..secrets import register_spec
from ..session import SESSION
from ..spec import RunSpec
from .child import evaluate_in_child
from .failures import explain_failure
from .inprocess import evaluate_in_process
from .models import ModelCache
from .progress import Progress, requests_done

__all__ = ["model_cache", "run"]

def model_cache() -> ModelCache:
    """The session's cache of loaded models."""
    if SESSION.models is None:
        SESSION.models = ModelCache()
    return SESSION.models

class _LiveDisplay:
    """Shows a Progress in the cell and refreshes it in place (no-op outside IPython).

    ``enabled`` may be a function instead of a bool: it is given the progress HTML each time it changes (the
    panel shows it in its own area, where a display handle would not update).
    """

    def __init__(self, progress: Progress, enabled: Union[bool, Callable[[str], None]]) -> None:
        self.progress = progress
        self._sink: Callable[[str], None] | None = None
        self._version = -1
        self._last = 0.0
        if callable(enabled):
            self._sink = enabled
            enabled(progress.html())
        elif enabled:
            try:
                from IPython import get_ipython
                from IPython.display import HTML, display

                if get_ipython() is not None:
                    handle = display(HTML(progress.html()), display_id=True)
                    self._sink = lambda text: handle.update(HTML(text))
            except ImportError:  # pragma: no cover - IPython is a dependency
                self._sink = None

    def tick(self, force: bool = False) -> None:
        if self._sink is None:
            return
        now = time.monotonic()
        if force or (self.progress.version != self._version and now - self._last > 0.2) or now - self._last > 1:
            self._version = self.progress.version
            self._last = now
            self._sink(self.progress.html())

def _raise_on_errors(findings: list[Finding]) -> None:
    errors = [f for f in findings if f.level == "error"]
    if errors:
        from ..texts import text

        more = text("finding.more-errors-check", count=len(errors) - 1) if len(errors) > 1 else ""
        raise CheckError(errors[0].message + more, findings)

def _include_defaults_needed(spec: RunSpec, known: bool | None) -> bool:
    """Whether lm_eval's built-in tasks must be indexed for this run (``known``: what the checks found out)."""
    if known is not None:
        return known
    include = spec.options.get("include_path")
    if not include:
        return True
    from ..lmeval.tasks import resolve_tasks

    _, missing, index = resolve_tasks(spec.tasks, str(include))
    return bool(missing) or index.include_defaults

def _record_cache_owner(spec: RunSpec) -> None:
    prefix = spec.options.get("use_cache")
    if prefix:
        path = Path(f"{prefix}{CACHE_OWNER_SUFFIX}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(cache_owner(spec)), encoding="utf-8")

def _after_failure(error: MeraError, spec: RunSpec, progress: Progress) -> MeraError:
    """A failed run keeps no model it loaded (it may be broken, or an API client of a dead server), and an API
    run's message says how many requests were answered and that ``--use_cache`` keeps them."""
    cache = model_cache()
    if cache.last_loaded is not None:
        cache.free(cache.last_loaded)
        progress.note("The model loaded by this run was released (the run failed).")
    counted = requests_done(progress)
    if counted is None or not isinstance(error, RunError):
        return error
    done, total = counted
    kept = (f"; the answered ones are stored in --use_cache {spec.options['use_cache']}, so a rerun continues "
            "from there" if spec.options.get("use_cache") else "; add --use_cache PATH to keep answers across reruns")
    amended = RunError(f"{error.message} ({done} of {total if total is not None else '?'} requests answered{kept})",
                       hint=error.hint)
    amended.__cause__ = error.__cause__
    return amended


def run(spec_or_text: RunSpec | str, *, namespace: Mapping[str, Any] | None = None, subprocess: bool = False,
        display: Union[bool, Callable[[str], None]] = True, run_checks: bool = True) -> Any:
    """Run an lm_eval command and return its :class:`~mera_magic.results.RunResult`.

    ``spec_or_text`` is a RunSpec or command text (see :func:`mera_magic.parse`).  The command is checked first
    (errors raise CheckError before anything heavy loads), its ``NAME=VALUE`` variables hold for this run only,
    and the evaluation runs in a worker thread of this process (``subprocess=True``, ``accelerate launch`` or
    an import-time variable this kernel cannot apply any more: a child process).  Live progress is shown when
    ``display`` and IPython are there; ``display`` may also be a function, which is given the progress HTML
    each time it changes (the panel shows it in its own area).  Interrupting the kernel stops the run within seconds.
    """
    from ..results import RunResult, load

    parsed = None
    if isinstance(spec_or_text, str):
        parsed = parse_command(spec_or_text, namespace, SESSION.secrets)
        spec = parsed.spec
    else:
        spec = spec_or_text
    include_defaults: bool | None = None
    register_spec(spec)  # its secrets are masked in everything the run shows or writes
    with environ.scoped_environment(spec.env):
        if run_checks:
            report = check_in_scope(parsed or spec)
            _raise_on_errors(report.findings)
            include_defaults = report.include_defaults
        plan = environ.plan(spec.env, SESSION.cuda_devices)
        reasons = list(plan.reasons)
        if spec.launcher:
            reasons.insert(0, f"`{' '.join(spec.launcher)}` starts its own processes")
        if subprocess:
            reasons.insert(0, "--subprocess was asked for")
        title = f"{spec.model} {spec.model_name or ''} · {', '.join(spec.tasks)}".strip()
        progress = Progress(title, spec.options.get("verbosity"), {**spec.env, **SESSION.secrets})
        live = _LiveDisplay(progress, display)
        model_cache().last_loaded = None
        try:
            if reasons:
                captured = evaluate_in_child(spec, progress, reasons, live.tick)
            else:
                os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
                if spec.model.startswith("vllm"):
                    # vLLM's engine runs in processes of its own whose log is printed straight into the cell;
                    # it follows the run's --verbosity (default WARNING) unless the cell sets it
                    os.environ.setdefault("VLLM_LOGGING_LEVEL", str(spec.options.get("verbosity") or "WARNING").upper())
                captured = evaluate_in_process(spec, progress, model_cache(),
                                               include_defaults=_include_defaults_needed(spec, include_defaults),
                                               on_tick=live.tick, argv=spec.source_argv())
                if SESSION.cuda_devices is None and environ.cuda_started():
                    SESSION.cuda_devices = environ.cuda_devices_now()  # what CUDA saw when this run started it
        finally:
            live.tick(force=True)
        if captured.get("error") is not None:
            raise _after_failure(explain_failure(captured["error"], spec), spec, progress)
        _record_cache_owner(spec)
    files = captured.get("files", [])
    if "results" in captured:
        result = RunResult.from_memory(captured["results"], captured.get("samples"), spec=spec, files=files,
                                       elapsed=captured.get("elapsed"))
    else:
        results_files = sorted(f for f in files if f.name.startswith("results") and f.suffix == ".json")
        if not results_files:
            raise RunError("the run finished but wrote no results file", hint=f"Look in {captured.get('output_path')}.")
        result = load(results_files[-1])
        result.spec = spec
        result.elapsed = captured.get("elapsed")
    return result
