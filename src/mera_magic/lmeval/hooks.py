"""The run-time hooks an in-process run puts into lm_eval, all in one place.

For the duration of one run, and only then:

- ``lm_eval.evaluator.simple_evaluate`` is wrapped to keep what it returns (the CLI prints and discards it);
- ``TaskManager`` (in ``lm_eval.tasks`` and, before 0.4.10, ``lm_eval.__main__``) hands out the session's task
  index instead of re-indexing for seconds;
- ``lm_eval.api.registry.get_model`` returns a factory that reuses the session's loaded model;
- lm_eval's (and transformers') ``tqdm`` bars, its log records and its printed text feed the cell's progress;
  datasets' and the hub's own progress widgets are off; the hub's log (its retry warnings) goes to the folded
  log, and lm_eval's ``git describe`` runs with its stderr dropped (no ``fatal: not a git repository``);
- ``lm_eval.utils.apply_template`` keeps each compiled Jinja template across documents and runs (lm_eval
  compiles the template again for every document: a third of a small run's time), and torch's
  ``get_pretty_env_info``, which lm_eval writes into every results file, is made once per environment (it runs
  ``pip list`` and other commands, about half a second) and again only when an installed package or the visible
  GPUs change (:func:`environment_key`);
- for an API backend, ``tqdm_asyncio`` in ``lm_eval.models.api_models`` is a :class:`~.api_requests.SettledGather`:
  requests counted as they are answered, and all settled (cancelled, outcomes retrieved) however the run ends;
- ``EvaluationTracker.save_results_aggregated``/``save_results_samples`` (lm_eval's writers of
  ``results_*.json`` and ``samples_*.jsonl``) get a copy with every secret value masked (the one deliberate
  difference from the CLI's files), and a write lm_eval could not do (it only logs a warning) is recorded with
  its path and errno, so the run fails instead of saying "done" (:func:`writer_patches`, also used by the child
  process entry point :mod:`.child_main`).

Each hook works only while lm_eval looks the name up at call time.  :class:`RunHooks` therefore records which
hooks fired (:attr:`RunHooks.fired`; :meth:`RunHooks.silent` names the ones that should have and did not, so a
future lm_eval that imports a name at module level is noticed instead of silently losing the model cache), and
checks on exit that every patched attribute holds its original again (:meth:`RunHooks.not_restored`).

The hooks are installed and removed by the *calling* thread, around the worker thread that runs lm_eval: the
asynchronous KeyboardInterrupt that stops a run is only ever raised in the worker, so it can never land in the
code that undoes the patches.  A Ctrl-C that arrives while they are being undone is held back until they are.
"""

from __future__ import annotations

import contextlib
import copy
import gc
import io
import logging
import os
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any, TextIO

from .api_requests import SettledGather
from .install import capabilities

#: hooks that fire in every successful run of any backend: the results capture and the model factory
EXPECTED = ("results", "model")
#: compiled task templates, by (lm_eval's Jinja environment, template text), kept across runs
_TEMPLATES: dict[tuple[int, str], Any] = {}
_TEMPLATES_KEPT = 4096
#: torch's description of this environment, by :func:`environment_key`
_ENVIRONMENT_INFO: dict[tuple[Any, ...], str] = {}


def environment_key() -> tuple[Any, ...]:
    """What torch's environment description depends on and can change in a live kernel: the folders on
    ``sys.path`` (a ``pip install`` or uninstall changes its folder's modification time), the visible GPUs and
    ``PATH`` (which ``nvidia-smi``, ``gcc``, ... it runs).  The working directory, where runs write, is left out."""
    folders = []
    here = os.getcwd()
    for entry in sys.path:
        if entry in ("", ".", here):
            continue
        try:
            folders.append((entry, os.stat(entry).st_mtime_ns))
        except OSError:
            continue
    return (tuple(folders), os.environ.get("CUDA_VISIBLE_DEVICES"), os.environ.get("PATH"))


@contextlib.contextmanager
def _failed_writes(tracker: Any, what: str, errors: list[str]) -> Iterator[None]:
    """Record the exception behind lm_eval's "Could not save ..." warning (it catches and only logs it).

    The warning is logged inside lm_eval's ``except`` block, so the exception itself (with its path and errno)
    is ``sys.exc_info()`` there; the logger's ``warning`` is wrapped for the duration of the call.
    """
    logger = getattr(sys.modules.get(type(tracker).__module__), "eval_logger", None)
    if logger is None:
        yield
        return
    real = logger.warning
    me = threading.get_ident()

    def warning(msg: Any, *args: Any, **kwargs: Any) -> Any:
        exc = sys.exc_info()[1]
        if threading.get_ident() == me and exc is not None and str(msg).startswith("Could not save"):
            errors.append(f"could not write the {what}: {type(exc).__name__}: {exc}")
        return real(msg, *args, **kwargs)

    logger.warning = warning
    try:
        yield
    finally:
        with contextlib.suppress(AttributeError):
            del logger.warning  # the instance attribute: the class's method is seen again


def writer_patches(fired: Counter[str], errors: list[str]) -> list[tuple[Any, str, Any]]:
    """``(EvaluationTracker, name, wrapper)`` for lm_eval's two writers (see the module docstring)."""
    from lm_eval.loggers.evaluation_tracker import EvaluationTracker

    from ..secrets import known_values, mask_data

    real_aggregated = EvaluationTracker.save_results_aggregated
    real_samples = EvaluationTracker.save_results_samples

    def save_results_aggregated(tracker: Any, results: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        fired["writer"] += 1
        masked = mask_data(results)
        with _failed_writes(tracker, f"results file under {tracker.output_path}", errors):
            value = real_aggregated(tracker, masked, *args, **kwargs)
        for key, item in masked.items():  # what lm_eval adds while saving (task hashes, model name, times)
            results.setdefault(key, item)
        return value

    def save_results_samples(tracker: Any, task_name: str, samples: Any, *args: Any, **kwargs: Any) -> Any:
        fired["writer"] += 1
        if known_values():
            samples = mask_data(samples, known_only=True)
        with _failed_writes(tracker, f"samples file of {task_name} under {tracker.output_path}", errors):
            return real_samples(tracker, task_name, samples, *args, **kwargs)

    return [(EvaluationTracker, "save_results_aggregated", save_results_aggregated),
            (EvaluationTracker, "save_results_samples", save_results_samples)]


def write_failure(errors: list[str]) -> Any:
    """The RunError for writes that failed (None when all succeeded)."""
    if not errors:
        return None
    from ..errors import RunError

    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return RunError(f"lm_eval {errors[0]}{more}",
                    hint="The evaluation ran, but its files were not saved: choose an --output_path in a folder "
                         "you can write to, with free space (files already written are kept).\n"
                         + "\n".join(errors[1:6]))


@contextlib.contextmanager
def _sigint_deferred() -> Iterator[None]:
    """Hold back Ctrl-C (SIGINT) during the block, then raise it; outside the main thread, a no-op."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if received:
            raise KeyboardInterrupt


class _ThreadRoutedStream(io.TextIOBase):
    """``sys.stdout``/``sys.stderr`` during a run: text printed by the run's threads goes to ``target``, text
    printed by threads that existed before the run (the kernel's, the user's) goes where it went before."""

    def __init__(self, original: TextIO, target: Any, outside: set[int]) -> None:
        self._original = original
        self._target = target
        self._outside = outside

    def _stream(self) -> Any:
        return self._original if threading.get_ident() in self._outside else self._target

    def write(self, text: str) -> int:  # type: ignore[override]
        self._stream().write(text)
        return len(text)

    def flush(self) -> None:
        with contextlib.suppress(Exception):
            self._stream().flush()

    def isatty(self) -> bool:
        return False

    def __getattr__(self, name: str) -> Any:  # encoding, fileno, ... of the stream in use
        return getattr(self._original, name)


class RunHooks:
    """Installs every hook for one run on enter and undoes them all on exit (see the module docstring).

    ``captured`` receives ``results`` and ``samples`` from ``simple_evaluate``; ``progress`` is the run's
    :class:`~mera_magic.runner.progress.Progress`; ``reuse`` wraps a backend class for the model cache
    (``reuse(real_class) -> factory``) and is applied to ``backend`` only; ``api`` says the backend sends HTTP
    requests (its concurrent requests are then counted and settled).
    """

    def __init__(self, *, progress: Any, tqdm_class: type, logs: contextlib.AbstractContextManager[Any], printed: Any,
                 backend: str, reuse: Callable[[Any], Any], task_manager: Callable[..., Any],
                 captured: dict[str, Any], api: bool = False) -> None:
        self._api = api
        self._progress = progress
        self._tqdm_class = tqdm_class
        self._logs = logs
        self._printed = printed
        self._backend = backend
        self._reuse = reuse
        self._task_manager = task_manager
        self._captured = captured
        self._stack = contextlib.ExitStack()
        self._patches: list[tuple[Any, str, Any, bool]] = []
        #: how many times each hook ran during the run
        self.fired: Counter[str] = Counter()
        #: writes lm_eval could not do (it only logs them): "could not write the ...: OSError: [Errno ...] ..."
        self.write_errors: list[str] = []

    # -- installing ----------------------------------------------------------------------------------------------
    def _patch(self, obj: Any, name: str, value: Any) -> None:
        had = name in vars(obj)
        original = getattr(obj, name, None)
        self._patches.append((obj, name, original, had))
        setattr(obj, name, value)

        def undo() -> None:
            if had:
                setattr(obj, name, original)
            else:
                with contextlib.suppress(AttributeError):
                    delattr(obj, name)

        self._stack.callback(undo)

    def __enter__(self) -> RunHooks:
        try:
            self._results_hook()
            self._writer_hook()
            self._log_masking_hook()
            self._task_index_hook()
            self._model_hook()
            self._progress_hooks()
            self._library_bars_off()
            self._quiet_helpers()
            self._template_cache_hook()
            self._environment_info_hook()
            self._api_requests_hook()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        with _sigint_deferred():
            self._stack.close()

    # -- what was verified ---------------------------------------------------------------------------------------
    def not_restored(self) -> list[str]:
        """``module.attribute`` of every patch that does not hold its original value (empty after exit)."""
        wrong = []
        for obj, name, original, had in self._patches:
            if (vars(obj).get(name) is not original) if had else (name in vars(obj)):
                wrong.append(f"{getattr(obj, '__name__', type(obj).__name__)}.{name}")
        return wrong

    def silent(self) -> list[str]:
        """The expected hooks that never fired (after a successful run this means lm_eval changed)."""
        return [name for name in EXPECTED if not self.fired[name]]

    # -- the hooks -------------------------------------------------------------------------------------------------
    def _results_hook(self) -> None:
        import lm_eval.evaluator as evaluator

        real = evaluator.simple_evaluate
        captured, fired = self._captured, self.fired

        def simple_evaluate(*args: Any, **kwargs: Any) -> Any:
            fired["results"] += 1
            wanted = kwargs.get("log_samples", True)
            kwargs["log_samples"] = True  # the samples browser needs them; the files stay as the CLI writes
            results = real(*args, **kwargs)
            if results is not None:
                captured["results"] = results
                captured["samples"] = results.get("samples")
                if not wanted:
                    results.pop("samples", None)
            return results

        self._patch(evaluator, "simple_evaluate", simple_evaluate)

    def _writer_hook(self) -> None:
        for obj, name, value in writer_patches(self.fired, self.write_errors):
            self._patch(obj, name, value)

    def _log_masking_hook(self) -> None:
        """Every log record made during the run has its secrets masked (lm_eval logs its model_args, token
        included, as "Initializing hf model, with arguments: {...}"), whatever handler shows it."""
        from ..secrets import mask_text

        real = logging.getLogRecordFactory()
        fired = self.fired
        active = True

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = real(*args, **kwargs)
            if not active:
                return record
            try:
                text = record.getMessage()
            except Exception:  # noqa: BLE001 - a record whose arguments do not fit its format stays as it is
                return record
            masked = mask_text(text)
            if masked != text:
                fired["log_masking"] += 1
                record.msg, record.args = masked, None
            return record

        def undo() -> None:
            nonlocal active
            active = False
            # a library first imported during the run may have wrapped this factory (vLLM adds the process name
            # its log format needs, ray a timestamp): theirs stays, with ours passing records through unchanged
            if logging.getLogRecordFactory() is factory:
                logging.setLogRecordFactory(real)

        logging.setLogRecordFactory(factory)
        self._stack.callback(undo)

    def write_failure(self) -> Any:
        """A RunError naming the files lm_eval could not write (path, errno), or None."""
        return write_failure(self.write_errors)

    def _task_index_hook(self) -> None:
        import lm_eval.tasks as tasks_module

        real = tasks_module.TaskManager
        make, fired = self._task_manager, self.fired
        building: list[bool] = []

        def TaskManager(*args: Any, **kwargs: Any) -> Any:  # noqa: N802 - stands in for the class
            include_path = kwargs.get("include_path", args[1] if len(args) > 1 else None)
            if building or isinstance(include_path, (list, tuple)):  # the session's index being built: the real one
                return real(*args, **kwargs)
            fired["task_index"] += 1
            building.append(True)
            try:
                index = make(str(include_path) if include_path else None)
            finally:
                building.clear()
            manager = copy.copy(index)
            metadata = kwargs.get("metadata")
            if hasattr(manager, "metadata"):
                manager.metadata = metadata
            if hasattr(manager, "_factory"):  # 0.4.10+: task objects are built by a factory carrying metadata
                manager._factory = type(manager._factory)(meta=metadata)
            return manager

        self._patch(tasks_module, "TaskManager", TaskManager)
        legacy = sys.modules.get("lm_eval.__main__")  # 0.4.4-0.4.9 import the name into the CLI module
        if legacy is not None and hasattr(legacy, "TaskManager"):
            self._patch(legacy, "TaskManager", TaskManager)

    def _model_hook(self) -> None:
        import lm_eval.api.registry as registry

        real_get_model = registry.get_model
        backend, reuse, fired = self._backend, self._reuse, self.fired

        def get_model(name: str) -> Any:
            real = real_get_model(name)
            if name != backend:
                return real
            fired["model"] += 1
            return reuse(real)

        self._patch(registry, "get_model", get_model)

    def _progress_hooks(self) -> None:
        import tqdm as tqdm_module
        import tqdm.auto as tqdm_auto  # transformers draws its bars through tqdm.auto

        stand_in, base = self._tqdm_class, self._tqdm_class.__mro__[1]
        stand_in.current = self._progress  # type: ignore[attr-defined]
        self._stack.callback(setattr, stand_in, "current", None)
        self._patch(tqdm_module, "tqdm", stand_in)
        self._patch(tqdm_auto, "tqdm", stand_in)
        for name, module in list(sys.modules.items()):
            if name.startswith("lm_eval") and getattr(module, "tqdm", None) is base:
                self._patch(module, "tqdm", stand_in)
        self._stack.enter_context(self._logs)  # every library's log records into the run's log, once
        outside = {thread.ident for thread in threading.enumerate() if thread.ident is not None}
        self._patch(sys, "stdout", _ThreadRoutedStream(sys.stdout, self._printed, outside))
        self._patch(sys, "stderr", _ThreadRoutedStream(sys.stderr, self._printed, outside))

    def _template_cache_hook(self) -> None:
        import lm_eval.utils as lm_utils

        jinja, real = getattr(lm_utils, "env", None), getattr(lm_utils, "apply_template", None)
        # only over the implementation it stands for (compile with lm_eval's environment, then render the doc)
        if jinja is None or getattr(getattr(real, "__code__", None), "co_names", None) != ("env", "from_string",
                                                                                             "render"):
            return
        fired = self.fired

        def apply_template(template: str, doc: dict[str, Any]) -> str:
            fired["templates"] += 1
            key = (id(jinja), template)
            compiled = _TEMPLATES.get(key)
            if compiled is None:
                if len(_TEMPLATES) >= _TEMPLATES_KEPT:
                    _TEMPLATES.clear()
                compiled = _TEMPLATES[key] = jinja.from_string(template)
            return str(compiled.render(**doc))

        self._patch(lm_utils, "apply_template", apply_template)

    def _environment_info_hook(self) -> None:
        if "torch" not in sys.modules:  # an API run that never imports torch: nothing to gain
            return
        import torch.utils.collect_env as collect_env

        real, fired = collect_env.get_pretty_env_info, self.fired

        def get_pretty_env_info() -> str:
            fired["environment_info"] += 1
            key = environment_key()
            if key not in _ENVIRONMENT_INFO:
                _ENVIRONMENT_INFO.clear()
                _ENVIRONMENT_INFO[key] = real()
            return _ENVIRONMENT_INFO[key]

        self._patch(collect_env, "get_pretty_env_info", get_pretty_env_info)
        logger_utils = sys.modules.get("lm_eval.loggers.utils")  # 0.4.4-0.4.9 import the name at module level
        if logger_utils is not None and getattr(logger_utils, "get_pretty_env_info", None) is real:
            self._patch(logger_utils, "get_pretty_env_info", get_pretty_env_info)

    def _api_requests_hook(self) -> None:
        if not self._api:
            return
        try:
            import lm_eval.models.api_models as api_models
        except ImportError:  # lm-eval without its [api] extra: lm_eval itself says what to install
            return
        # undone first (last in, first out): what asyncio or aiohttp still has to say about this run's requests
        # when they are collected lands in this run's log, which is captured until later
        self._stack.callback(gc.collect)
        self._patch(api_models, "tqdm_asyncio", SettledGather(self._tqdm_class, self.fired))

    def _library_bars_off(self) -> None:
        """datasets and huggingface_hub draw their own bars (widgets in a notebook): silence them for the run."""
        import datasets
        import huggingface_hub.utils as hub_utils

        switches = [
            (getattr(datasets, "is_progress_bar_enabled", None), getattr(datasets, "disable_progress_bars", None),
             getattr(datasets, "enable_progress_bars", None)),
            (lambda: not hub_utils.are_progress_bars_disabled(), hub_utils.disable_progress_bars,
             hub_utils.enable_progress_bars),
        ]
        for is_on, off, on in switches:
            if is_on is not None and off is not None and on is not None and is_on():
                off()
                self._stack.callback(on)


    def _quiet_helpers(self) -> None:
        """lm_eval's ``get_git_commit_hash`` runs ``git describe`` with git's stderr on the kernel's fd 2 (so
        ``fatal: not a git repository`` lands in the cell), and the hub's retry warnings go to the hub's own
        stderr handler: for the run, git's stderr is dropped (the hub's log goes to the folded log with every other
        library's: see ``logs``)."""
        import subprocess

        utils = sys.modules.get("lm_eval.loggers.utils")
        real = getattr(utils, "get_git_commit_hash", None)
        if utils is not None and real is not None:
            fired = self.fired

            def get_git_commit_hash() -> Any:
                fired["git"] += 1
                try:
                    return subprocess.check_output(["git", "describe", "--always"],  # noqa: S607 - as lm_eval
                                                   stderr=subprocess.DEVNULL).strip().decode()
                except (subprocess.CalledProcessError, FileNotFoundError):
                    fallback = getattr(utils, "get_commit_from_path", None)
                    import os

                    return fallback(os.getcwd()) if fallback else None

            for name, module in list(sys.modules.items()):
                if name.startswith("lm_eval") and getattr(module, "get_git_commit_hash", None) is real:
                    self._patch(module, "get_git_commit_hash", get_git_commit_hash)


def configure_lm_eval_logging(level: int) -> None:
    """Make lm_eval's once-per-process logging setup now, outside any run (0.4.13 adds its stderr handler on the
    first ``setup_logging`` call), so that handler is bound to the real stderr instead of to one run's log."""
    try:
        import lm_eval.utils as lm_utils
    except ImportError:  # pragma: no cover - lm_eval is a dependency
        return
    setup = getattr(lm_utils, "setup_logging", None)
    if callable(setup) and not getattr(lm_utils, "_LOGGING_CONFIGURED", True):
        logger = logging.getLogger("lm_eval")
        before = logger.level
        setup(verbosity=level)
        logger.setLevel(before)


def run_cli_body(namespace: Any) -> None:
    """lm_eval's own CLI body for a parsed namespace (what ``lm_eval ...`` does after parsing its argv)."""
    if capabilities().cli == "run":
        from lm_eval._cli.run import Run

        Run._execute(namespace)
    else:
        from lm_eval.__main__ import cli_evaluate

        cli_evaluate(namespace)


def apply_batch_settings(lm: Any, config: dict[str, Any] | None) -> None:
    """Give a held model this run's batch_size / max_batch_size, as its constructor would have.

    lm_eval itself ignores them for a model object it did not build (a known bug we do not inherit).
    """
    config = config or {}
    batch_size = config.get("batch_size")
    max_batch_size = config.get("max_batch_size")
    if batch_size is None:
        return
    text = str(batch_size)
    if hasattr(lm, "batch_size_per_gpu"):  # HFLM and subclasses
        if text.startswith("auto"):
            parts = text.split(":")
            lm.batch_size_per_gpu = parts[0]
            lm.batch_schedule = float(parts[1]) if len(parts) > 1 else 1
        else:
            lm.batch_size_per_gpu = int(text)
        if max_batch_size is not None:
            lm.max_batch_size = int(max_batch_size)
        if hasattr(lm, "batch_sizes"):
            lm.batch_sizes = {}
    elif hasattr(lm, "_batch_size"):  # API backends
        lm._batch_size = 1 if text.startswith("auto") else int(text)
    elif hasattr(lm, "batch_size") and not isinstance(type(lm).__dict__.get("batch_size"), property):  # vLLM
        lm.batch_size = "auto" if text.startswith("auto") else int(text)


class ReuseFactory:
    """Stands in for a backend class inside ``get_model``: ``create`` builds the model once (through the real
    class, as lm_eval would), later runs get the held object back with their batch settings applied.

    ``lookup(model_args) -> lm | None`` and ``store(model_args, lm, seconds)`` are the model cache's.
    """

    def __init__(self, real: Any, lookup: Callable[[dict[str, Any]], Any],
                 store: Callable[[dict[str, Any], Any, float], None]) -> None:
        self._real = real
        self._lookup = lookup
        self._store = store

    def _create(self, creator: str, args: Any, model_args: dict[str, Any], config: dict[str, Any] | None) -> Any:
        lm = self._lookup(model_args)
        if lm is not None:
            apply_batch_settings(lm, config)
            return lm
        start = time.monotonic()
        lm = getattr(self._real, creator)(args, config)
        self._store(model_args, lm, time.monotonic() - start)
        return lm

    def create_from_arg_obj(self, arg_dict: dict[str, Any], additional_config: dict[str, Any] | None = None) -> Any:
        return self._create("create_from_arg_obj", arg_dict, dict(arg_dict), additional_config)

    def create_from_arg_string(self, arg_string: str, additional_config: dict[str, Any] | None = None) -> Any:
        from .source import source_function

        parse_args = source_function("utils.py", "simple_parse_args_string", "lm_eval.utils")
        return self._create("create_from_arg_string", arg_string, parse_args(arg_string), additional_config)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)
