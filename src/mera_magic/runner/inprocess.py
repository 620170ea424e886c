"""Run an lm_eval command in the kernel process, through the installed lm_eval's own code.

The command's argv goes through lm_eval's parser (defaults included), and the resulting namespace is handed to
lm_eval's own CLI body (:func:`~mera_magic.lmeval.hooks.run_cli_body`), so tracking, saving
``results_*.json``/``samples_*.jsonl``, W&B and hub logging are exactly the CLI's.  The evaluation runs in a
worker thread (API backends call ``asyncio.run``, which fails on the kernel's running loop); the calling thread
installs the run's hooks into lm_eval (:class:`~mera_magic.lmeval.hooks.RunHooks`) before the worker starts and
removes them after it has ended, so the interrupt sent to the worker never lands in the code that undoes them.
"""

from __future__ import annotations

import ctypes
import threading
import time
from collections.abc import Callable
from typing import Any

from ..command.render import spec_to_argv
from ..errors import RunError, RunInterrupted
from ..lmeval.hooks import RunHooks, run_cli_body
from ..lmeval.install import lm_eval_version
from ..lmeval.output import output_files
from ..lmeval.parser import parse_defaults
from ..lmeval.tasks import task_index
from ..probe import is_api_backend
from ..spec import RunSpec
from .models import ModelCache, reuse_factory
from .progress import Progress, ProgressTqdm, StreamToProgress, capture_logs


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


def evaluate_in_process(spec: RunSpec, progress: Progress, cache: ModelCache, *, include_defaults: bool,
                        on_tick: Callable[[], None] | None = None, argv: list[str] | None = None) -> dict[str, Any]:
    """Run ``spec`` (whose environment is already applied) in a worker thread; return what was captured.

    ``argv`` is the lm_eval argv the spec was parsed from, when the spec is unedited (else it is rendered).

    ``on_tick`` is called about four times a second from the calling thread (to refresh the display).
    A KeyboardInterrupt in the calling thread stops the worker within seconds and raises RunInterrupted.
    """
    namespace = parse_defaults(argv if argv is not None else spec_to_argv(spec))
    captured: dict[str, Any] = {}
    before = output_files(spec.options.get("output_path"))

    def work() -> None:
        try:
            run_cli_body(namespace)
        except SystemExit as exc:  # lm_eval <= 0.4.9 calls sys.exit() for some inputs
            if exc.code not in (0, None):
                raise RunError(f"lm_eval stopped with exit status {exc.code}") from None

    hooks = RunHooks(progress=progress, tqdm_class=ProgressTqdm, logs=capture_logs(progress),
                     printed=StreamToProgress(progress), backend=spec.model,
                     reuse=reuse_factory(cache, spec.model, spec.options.get("device"), progress.note),
                     task_manager=lambda include_path: task_index(include_path, include_defaults).manager,
                     captured=captured, api=is_api_backend(spec.model))
    worker = _Worker(work)
    interrupted_at: float | None = None
    with hooks:
        start = time.monotonic()
        worker.start()
        while worker.is_alive():
            try:
                worker.join(0.25)
                if on_tick is not None:
                    on_tick()
            except KeyboardInterrupt:
                interrupted_at = interrupted_at or time.monotonic()
                progress.status = "stopping"
                _async_raise(worker, KeyboardInterrupt)
            if interrupted_at is not None and worker.is_alive():
                _async_raise(worker, KeyboardInterrupt)  # again, in case lm_eval caught the first one
    captured["hooks"] = hooks
    captured["elapsed"] = time.monotonic() - start
    captured["files"] = sorted(output_files(spec.options.get("output_path")) - before)
    if interrupted_at is not None or isinstance(worker.error, KeyboardInterrupt):
        progress.status = "stopped"
        raise RunInterrupted(
            f"stopped by the user after {captured['elapsed']:.0f} s; the environment is restored"
            + (", answers already stored in --use_cache are kept" if spec.options.get("use_cache") else ""),
            hint="Run the cell again to continue (with --use_cache, answered requests are not asked again).")
    if worker.error is None:
        worker.error = hooks.write_failure()  # lm_eval only logs a results/samples file it could not write
    if worker.error is not None:
        progress.status = "failed"
        captured["error"] = worker.error
    else:
        progress.status = "done"
        for name in hooks.silent():
            progress.note(f"lm_eval {lm_eval_version()} did not go through mera-magic's `{name}` hook "
                          "(it may have changed how it looks that name up): "
                          + ("results were read from the files it wrote." if name == "results" else
                             "the model was not kept for the next cells."))
    return captured
