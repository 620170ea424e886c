"""Run an lm_eval command in the kernel process, through the installed lm_eval's own code.

The command's argv goes through lm_eval's parser (defaults included), and the resulting namespace is handed to
lm_eval's own execution function (``Run._execute`` from 0.4.10, ``cli_evaluate(args)`` before), so tracking,
saving ``results_*.json``/``samples_*.jsonl``, W&B and hub logging are exactly the CLI's.  Around it, for the
duration of the run only:

- the evaluation runs in a worker thread (API backends call ``asyncio.run``, which fails on the kernel's loop);
- ``simple_evaluate`` is wrapped to keep what it returns (the CLI prints and discards it);
- the task index is the session's, built once per include path (built-in tasks skipped when not needed);
- model construction goes through the session's model cache (see :mod:`.models`);
- lm_eval's tqdm bars and log feed the cell's live progress; printed text goes to the log.

Every patch is undone when the run ends, however it ends.
"""

from __future__ import annotations

import contextlib
import copy
import ctypes
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..command.flags import parse_defaults
from ..command.render import spec_to_argv
from ..command.source import lm_eval_dir
from ..errors import RunError, RunInterrupted
from ..spec import RunSpec
from .models import ModelCache, reuse_models
from .progress import Progress, ProgressTqdm, StreamToProgress, capture_logs


@contextlib.contextmanager
def _patched(obj: Any, name: str, value: Any) -> Iterator[None]:
    had = hasattr(obj, name)
    old = getattr(obj, name, None)
    setattr(obj, name, value)
    try:
        yield
    finally:
        if had:
            setattr(obj, name, old)
        else:
            delattr(obj, name)


@contextlib.contextmanager
def _capture_results(captured: dict[str, Any]) -> Iterator[None]:
    """Keep what simple_evaluate returns; always collect samples (for the viewer) without changing the files."""
    import lm_eval.evaluator as evaluator

    real = evaluator.simple_evaluate

    def simple_evaluate(*args: Any, **kwargs: Any) -> Any:
        wanted = kwargs.get("log_samples", True)
        kwargs["log_samples"] = True
        results = real(*args, **kwargs)
        if results is not None:
            captured["results"] = results
            captured["samples"] = results.get("samples")
            if not wanted:
                results.pop("samples", None)
        return results

    with _patched(evaluator, "simple_evaluate", simple_evaluate):
        yield


@contextlib.contextmanager
def _cached_task_manager(include_defaults: bool) -> Iterator[None]:
    """lm_eval builds a new TaskManager per run (seconds of indexing); hand it the session's index instead."""
    import lm_eval.tasks as tasks_module

    from ..tasks import task_index

    real = tasks_module.TaskManager

    def TaskManager(*args: Any, **kwargs: Any) -> Any:  # noqa: N802 - stands in for the class
        include_path = kwargs.get("include_path", args[1] if len(args) > 1 else None)
        defaults = kwargs.get("include_defaults", include_defaults)
        if isinstance(include_path, (list, tuple)):
            return real(*args, **kwargs)
        manager = copy.copy(task_index(str(include_path) if include_path else None, defaults).manager)
        metadata = kwargs.get("metadata")
        if hasattr(manager, "metadata"):
            manager.metadata = metadata
        if hasattr(manager, "_factory"):
            manager._factory = type(manager._factory)(meta=metadata)
        return manager

    targets = [tasks_module]
    legacy = sys.modules.get("lm_eval.__main__")
    if legacy is not None and hasattr(legacy, "TaskManager"):
        targets.append(legacy)
    with contextlib.ExitStack() as stack:
        for module in targets:
            stack.enter_context(_patched(module, "TaskManager", TaskManager))
        yield


@contextlib.contextmanager
def _library_bars_off() -> Iterator[None]:
    """datasets and huggingface_hub draw their own bars (widgets in a notebook): silence them for the run."""
    import datasets
    import huggingface_hub.utils as hub_utils

    switches = [
        (getattr(datasets, "is_progress_bar_enabled", None), getattr(datasets, "disable_progress_bars", None),
         getattr(datasets, "enable_progress_bars", None)),
        (lambda: not hub_utils.are_progress_bars_disabled(), hub_utils.disable_progress_bars,
         hub_utils.enable_progress_bars),
    ]
    turned_off = []
    for is_on, off, on in switches:
        if is_on is not None and off is not None and on is not None and is_on():
            off()
            turned_off.append(on)
    try:
        yield
    finally:
        for on in turned_off:
            on()


@contextlib.contextmanager
def _progress_hooks(progress: Progress) -> Iterator[None]:
    """Route lm_eval's tqdm bars, log records and printed text into ``progress``."""
    import tqdm as tqdm_module

    with contextlib.ExitStack() as stack:
        ProgressTqdm.current = progress
        stack.callback(setattr, ProgressTqdm, "current", None)
        base = ProgressTqdm.__mro__[1]
        stack.enter_context(_patched(tqdm_module, "tqdm", ProgressTqdm))
        import tqdm.auto as tqdm_auto  # transformers draws its bars through tqdm.auto

        stack.enter_context(_patched(tqdm_auto, "tqdm", ProgressTqdm))
        for name, module in list(sys.modules.items()):
            if name.startswith("lm_eval") and getattr(module, "tqdm", None) is base:
                stack.enter_context(_patched(module, "tqdm", ProgressTqdm))
        stack.enter_context(capture_logs(progress))
        stack.enter_context(contextlib.redirect_stdout(StreamToProgress(progress)))  # type: ignore[type-var]
        stack.enter_context(contextlib.redirect_stderr(StreamToProgress(progress)))  # type: ignore[type-var]
        yield


def _lm_eval_execute(namespace: Any) -> None:
    """lm_eval's own CLI body for a parsed namespace."""
    folder = lm_eval_dir()
    if folder is not None and (folder / "_cli" / "run.py").exists():
        from lm_eval._cli.run import Run

        Run._execute(namespace)
    else:
        from lm_eval.__main__ import cli_evaluate

        cli_evaluate(namespace)


def _async_raise(thread: threading.Thread, exc_type: type[BaseException]) -> None:
    if thread.ident is not None:
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident), ctypes.py_object(exc_type))


class _Worker(threading.Thread):
    def __init__(self, target: Callable[[], None]) -> None:
        super().__init__(name="mera-magic-run", daemon=True)
        self._target_fn = target
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self._target_fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the cell's thread
            self.error = exc


def output_files(output_path: str | None) -> set[Path]:
    """Results and samples files under an output path (to tell which ones a run wrote)."""
    if not output_path:
        return set()
    root = Path(output_path)
    if root.suffix == ".json":
        root = root.parent
    if not root.exists():
        return set()
    return {p for p in root.rglob("*") if p.is_file() and p.name.startswith(("results_", "samples_", "results"))}


def evaluate_in_process(spec: RunSpec, progress: Progress, cache: ModelCache, *, include_defaults: bool,
                        on_tick: Callable[[], None] | None = None) -> dict[str, Any]:
    """Run ``spec`` (whose environment is already applied) in a worker thread; return what was captured.

    ``on_tick`` is called about four times a second from the calling thread (to refresh the display).
    A KeyboardInterrupt in the calling thread stops the worker within seconds and raises RunInterrupted.
    """
    namespace = parse_defaults(spec_to_argv(spec))
    captured: dict[str, Any] = {}
    unwinding = threading.Event()
    before = output_files(spec.options.get("output_path"))

    def work() -> None:
        with contextlib.ExitStack() as stack:
            stack.enter_context(_library_bars_off())
            stack.enter_context(_progress_hooks(progress))
            stack.enter_context(_capture_results(captured))
            stack.enter_context(_cached_task_manager(include_defaults))
            stack.enter_context(reuse_models(cache, spec.model, spec.options.get("device"), progress.note))
            try:
                _lm_eval_execute(namespace)
            except SystemExit as exc:  # lm_eval <= 0.4.9 calls sys.exit() for some inputs
                if exc.code not in (0, None):
                    raise RunError(f"lm_eval stopped with exit status {exc.code}") from None
            finally:
                unwinding.set()  # from here on the hooks are being undone: no more interrupts into this thread

    worker = _Worker(work)
    start = time.monotonic()
    worker.start()
    interrupted_at: float | None = None
    while worker.is_alive():
        try:
            worker.join(0.25)
            if on_tick is not None:
                on_tick()
        except KeyboardInterrupt:
            interrupted_at = interrupted_at or time.monotonic()
            progress.status = "stopping"
            if not unwinding.is_set():
                _async_raise(worker, KeyboardInterrupt)
        if interrupted_at is not None and worker.is_alive():
            if not unwinding.is_set():
                _async_raise(worker, KeyboardInterrupt)  # again, in case lm_eval caught the first one
    captured["elapsed"] = time.monotonic() - start
    captured["files"] = sorted(output_files(spec.options.get("output_path")) - before)
    if interrupted_at is not None or isinstance(worker.error, KeyboardInterrupt):
        progress.status = "stopped"
        raise RunInterrupted(
            f"stopped by the user after {captured['elapsed']:.0f} s; the environment is restored"
            + (", answers already stored in --use_cache are kept" if spec.options.get("use_cache") else ""),
            hint="Run the cell again to continue (with --use_cache, answered requests are not asked again).")
    if worker.error is not None:
        progress.status = "failed"
        captured["error"] = worker.error
    else:
        progress.status = "done"
    return captured
