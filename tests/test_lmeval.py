"""mera_magic.lmeval: the one boundary with the installed lm_eval (capabilities, run hooks, output reader)."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from pathlib import Path

import pytest

from mera_magic import parse
from mera_magic.environ import scoped_environment
from mera_magic.lmeval import capabilities, version_tuple
from mera_magic.lmeval.hooks import RunHooks, _sigint_deferred
from mera_magic.lmeval.output import find_runs, samples_files
from mera_magic.runner import model_cache
from mera_magic.runner.inprocess import evaluate_in_process
from mera_magic.runner.models import reuse_factory
from mera_magic.runner.progress import Progress, ProgressTqdm, StreamToProgress, capture_logs


def test_capabilities_describe_the_installed_lm_eval() -> None:
    caps = capabilities()
    import importlib.metadata

    assert caps.version == importlib.metadata.version("lm_eval")
    new_cli = version_tuple(caps.version) >= (0, 4, 10)
    assert caps.cli == ("run" if new_cli else "cli_evaluate")
    assert caps.light_import is new_cli  # 0.4.4-0.4.9 import the evaluator (and torch) in lm_eval/__init__


def _patched_now() -> list[int]:
    import lm_eval.api.registry
    import lm_eval.evaluator
    import lm_eval.tasks
    import tqdm
    import tqdm.auto

    return [id(lm_eval.evaluator.simple_evaluate), id(lm_eval.tasks.TaskManager), id(lm_eval.api.registry.get_model),
            id(tqdm.tqdm), id(tqdm.auto.tqdm), id(sys.stdout), id(sys.stderr), len(logging.getLogger("lm_eval").handlers)]


def _hooks(progress: Progress, backend: str = "hf") -> RunHooks:
    from mera_magic.probe import is_api_backend

    return RunHooks(progress=progress, tqdm_class=ProgressTqdm, logs=capture_logs(progress),
                    printed=StreamToProgress(progress), backend=backend,
                    reuse=reuse_factory(model_cache(), backend, None, progress.note),
                    task_manager=lambda include_path: None, captured={}, api=is_api_backend(backend))


@pytest.fixture(autouse=True, scope="module")
def lm_eval_logging_configured() -> None:
    """lm_eval 0.4.13 adds its stderr log handler once per process, on its first setup (the CLI does too); the
    first run hooks do that outside the run, so the comparisons below start after it."""
    with _hooks(Progress("warm-up")):
        pass


def test_hooks_that_never_fire_are_named_and_everything_is_restored() -> None:
    """What a future lm_eval that imports a name at module level would look like: no hook fires."""
    before = _patched_now()
    hooks = _hooks(Progress("t"))
    with hooks:
        assert _patched_now() != before  # installed
    assert hooks.silent() == ["results", "model"]
    assert hooks.not_restored() == []
    assert _patched_now() == before


def test_api_backend_requests_are_gathered_by_the_run_and_restored() -> None:
    import asyncio

    import lm_eval.models.api_models as api_models

    real = api_models.tqdm_asyncio
    progress = Progress("t")
    hooks = _hooks(progress, backend="local-completions")
    with hooks:
        gather = api_models.tqdm_asyncio
        assert gather is not real

        async def answer(x: int) -> int:
            return x * 2

        async def requests() -> list[int]:
            return await gather.gather(*(answer(x) for x in range(5)))

        assert asyncio.run(requests()) == [0, 2, 4, 6, 8]  # the answers, in order, as tqdm_asyncio.gather gives
    assert hooks.fired["api_requests"] == 1
    assert [(p.name, p.done, p.total) for p in progress.phases] == [("Requesting API", 5, 5)]
    assert api_models.tqdm_asyncio is real and hooks.not_restored() == []
    plain = _hooks(Progress("t"))  # a local backend leaves the API module alone
    with plain:
        assert api_models.tqdm_asyncio is real


def test_a_record_factory_a_library_adds_during_a_run_outlives_it() -> None:
    """vLLM, first imported during a run, wraps the log record factory to add the process name its log format
    needs; undoing the run's masking factory must not drop that wrapper (its later records, e.g. the engine's
    shutdown in `%mera free`, failed with "Logging error ... KeyError: 'vllm_process_name'")."""
    original = logging.getLogRecordFactory()
    secret = "hf_" + "x" * 34  # shaped like a token: masked in records made during a run

    def library_factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = inner(*args, **kwargs)
        record.library_field = "set"
        return record

    try:
        with _hooks(Progress("t")):
            inner = logging.getLogRecordFactory()
            logging.setLogRecordFactory(library_factory)  # what the library does at its import
            during = logging.getLogRecordFactory()("x", logging.INFO, "f", 1, f"token {secret}", None, None)
        after = logging.getLogRecordFactory()("x", logging.INFO, "f", 1, f"token {secret}", None, None)
        assert secret not in during.getMessage() and during.library_field == "set"
        assert logging.getLogRecordFactory() is library_factory
        assert after.library_field == "set"
        assert after.getMessage() == f"token {secret}"  # the masking was for the run only
    finally:
        logging.setLogRecordFactory(original)


def test_the_run_record_factory_is_removed_when_nothing_wrapped_it() -> None:
    original = logging.getLogRecordFactory()
    with _hooks(Progress("t")):
        assert logging.getLogRecordFactory() is not original
    assert logging.getLogRecordFactory() is original


@pytest.mark.slow
def test_a_real_run_fires_every_hook_and_restores_them(demo_model: Path, demo_tasks: Path, tmp_path: Path) -> None:
    spec = parse(f"lm_eval --model hf --model_args pretrained={demo_model},dtype=float32 --device cpu "
                 f"--include_path {demo_tasks} --output_path {tmp_path} --tasks parus")
    before = _patched_now()
    progress = Progress("t")
    with scoped_environment(spec.env):
        captured = evaluate_in_process(spec, progress, model_cache(), include_defaults=False,
                                       argv=spec.source_argv())
    hooks: RunHooks = captured["hooks"]
    assert hooks.fired["results"] == 1 and hooks.fired["model"] == 1 and hooks.fired["task_index"] >= 1
    assert hooks.fired["templates"] > 0 and hooks.fired["environment_info"] == 1
    assert hooks.silent() == [] and hooks.not_restored() == []
    assert _patched_now() == before
    assert "results" in captured and progress.status == "done"


@pytest.mark.slow
def test_environment_is_described_again_only_when_it_changes(demo_model: Path, demo_tasks: Path,
                                                             tmp_path: Path) -> None:
    import lm_eval.loggers.utils as logger_utils
    import torch.utils.collect_env as collect_env

    from mera_magic.runner import run

    real, calls = collect_env.get_pretty_env_info, []

    def counted() -> str:
        calls.append(1)
        return real()

    # counts what the run hook calls underneath, where lm_eval looks it up (0.4.4-0.4.9 import it by name)
    holders = [m for m in (collect_env, logger_utils) if getattr(m, "get_pretty_env_info", None) is real]
    for holder in holders:
        holder.get_pretty_env_info = counted
    cmd = (f"lm_eval --model hf --model_args pretrained={demo_model},dtype=float32 --device cpu --limit 2 "
           f"--include_path {demo_tasks} --tasks parus --output_path {tmp_path}/")
    try:
        first = run(cmd + "a", display=False)
        second = run(cmd + "b", display=False)
        described = len(calls)
        assert described <= 1  # 0 when an earlier test of this process described the same environment
        assert second.raw["pretty_env_info"] == first.raw["pretty_env_info"] and "PyTorch" in first.raw["pretty_env_info"]
        new_folder = tmp_path / "site"
        new_folder.mkdir()
        sys.path.append(str(new_folder))  # what a `pip install` into a new folder on the path looks like
        try:
            run(cmd + "c", display=False)
        finally:
            sys.path.remove(str(new_folder))
        assert len(calls) == described + 1
    finally:
        for holder in holders:
            holder.get_pretty_env_info = real


@pytest.mark.slow
def test_hooks_restored_after_a_failed_run(demo_model: Path, demo_tasks: Path, tmp_path: Path) -> None:
    spec = parse(f"lm_eval --model hf --model_args pretrained={tmp_path}/no-model --device cpu "
                 f"--include_path {demo_tasks} --tasks parus")
    before = _patched_now()
    with scoped_environment(spec.env):
        captured = evaluate_in_process(spec, Progress("t"), model_cache(), include_defaults=False)
    assert captured.get("error") is not None
    assert captured["hooks"].not_restored() == []
    assert _patched_now() == before


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="signals need the main thread")
def test_ctrl_c_while_hooks_are_undone_is_held_back_until_they_are() -> None:
    undone: list[str] = []
    with pytest.raises(KeyboardInterrupt), _sigint_deferred():
        os.kill(os.getpid(), signal.SIGINT)
        undone.append("after the signal")  # the block goes on: the interrupt waits for its end
    assert undone == ["after the signal"]


def test_unedited_spec_keeps_its_argv_and_an_edited_one_does_not(demo_model: Path) -> None:
    spec = parse(f"lm_eval --model hf --model_args pretrained={demo_model} --tasks parus --batch_size=4")
    assert spec.source_argv() == ["--model", "hf", "--model_args", f"pretrained={demo_model}", "--tasks", "parus",
                                  "--batch_size=4"]
    assert spec.copy().source_argv() == spec.source_argv()
    spec.options["batch_size"] = "8"
    assert spec.source_argv() is None


def test_load_and_submission_find_the_same_runs(demo_predict_output: Path, tmp_path: Path) -> None:
    """One reader: a run two folders deep is found by both (the submission used to look one level only)."""
    import shutil

    deep = tmp_path / "team" / "week1"
    shutil.copytree(demo_predict_output, deep / "out")
    runs = find_runs(tmp_path)
    files, unreadable = samples_files(tmp_path)
    assert runs and not unreadable
    assert {f.stamp for f in files} == {r.stamp for r in runs}
    assert {f.path.parent for f in files} == {r.folder.resolve() for r in runs}
