"""mera_magic.runner: in-process runs give the CLI's files, reuse the model, restore the environment."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mera_magic import parse
from mera_magic.command.render import spec_to_argv
from mera_magic.errors import CheckError, RunError, RunInterrupted
from mera_magic.runner import model_cache, run
from mera_magic.runner.inprocess import evaluate_in_process
from mera_magic.runner.progress import Progress

pytestmark = pytest.mark.slow

STAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}\.\d+")


def command(model: Path, tasks: Path, out: Path, extra: str = "", names: str = "parus,simplear") -> str:
    return (f"lm_eval --model hf --model_args pretrained={model},dtype=float32 --device cpu --batch_size 4 "
            f"--include_path {tasks} --output_path {out} --log_samples --seed 1234 {extra} --tasks {names}")


def state() -> dict[str, Any]:
    """What a run must leave as it found it (the attributes the run hooks patch included)."""
    import lm_eval.api.registry
    import lm_eval.evaluator
    import lm_eval.tasks
    import tqdm
    import tqdm.auto

    lg = logging.getLogger("lm_eval")
    return {"environ": dict(os.environ), "path": list(sys.path), "argv": list(sys.argv),
            "handlers": list(lg.handlers), "level": lg.level, "propagate": lg.propagate,
            "patched": [id(lm_eval.evaluator.simple_evaluate), id(lm_eval.tasks.TaskManager),
                        id(lm_eval.api.registry.get_model), id(tqdm.tqdm), id(tqdm.auto.tqdm),
                        id(sys.stdout), id(sys.stderr)]}


@pytest.fixture(autouse=True)
def _fresh_models() -> Any:
    model_cache().free()
    yield
    model_cache().free()


def _written(out: Path) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    results_file = next(out.rglob("results_*.json"))
    raw = json.loads(results_file.read_text(encoding="utf-8"))
    samples = {}
    for path in out.rglob("samples_*.jsonl"):
        task = STAMP.sub("", path.stem[len("samples_"):]).rstrip("_")
        samples[task] = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return raw, samples


def test_same_files_as_the_cli(demo_model: Path, demo_tasks: Path, tmp_path: Path) -> None:
    text_cli = command(demo_model, demo_tasks, tmp_path / "cli")
    subprocess.run([sys.executable, "-m", "lm_eval", *spec_to_argv(parse(text_cli))],
                   check=True, capture_output=True, env=os.environ)
    result = run(command(demo_model, demo_tasks, tmp_path / "nb"), display=False)

    cli_raw, cli_samples = _written(tmp_path / "cli")
    nb_raw, nb_samples = _written(tmp_path / "nb")
    # same folder layout and file names (modulo the date stamp)
    names = lambda root: sorted(STAMP.sub("DATE", str(p.relative_to(root))) for p in root.rglob("*.json*"))  # noqa: E731
    assert names(tmp_path / "cli") == names(tmp_path / "nb")
    for key in ("results", "versions", "n-shot", "higher_is_better", "n-samples", "configs", "model_name",
                "model_name_sanitized", "chat_template", "fewshot_as_multiturn", "system_instruction", "task_hashes"):
        assert nb_raw.get(key) == cli_raw.get(key), key
    volatile = {"batch_sizes"}
    assert {k: v for k, v in nb_raw["config"].items() if k not in volatile} == \
        {k: v for k, v in cli_raw["config"].items() if k not in volatile}
    assert nb_samples == cli_samples
    # and the RunResult holds the same numbers
    metrics = result.metrics.set_index(["task", "metric"])["value"]
    assert metrics[("parus", "acc")] == pytest.approx(cli_raw["results"]["parus"]["acc,scoring"])
    assert sorted(p.name for p in result.files) == sorted(p.name for p in (tmp_path / "nb").rglob("*.json*"))


def test_repeat_reuses_the_model_and_applies_new_batch_size(demo_model: Path, demo_tasks: Path, tmp_path: Path) -> None:
    loads = model_cache().loads
    first = run(command(demo_model, demo_tasks, tmp_path / "a", names="parus"), display=False)
    assert model_cache().loads == loads + 1
    held = model_cache().held()[0].lm
    second = run(command(demo_model, demo_tasks, tmp_path / "b", names="parus").replace("--batch_size 4", "--batch_size 2"),
                 display=False)
    assert model_cache().loads == loads + 1  # not loaded again
    assert model_cache().held()[0].lm is held
    assert held.batch_size_per_gpu == 2  # the new batch size took effect on the held model
    assert second.raw["config"]["batch_size"] == "2"
    assert first.metrics["value"].tolist() == second.metrics["value"].tolist()
    # different loading arguments: a new load
    run(command(demo_model, demo_tasks, tmp_path / "c", names="parus").replace("dtype=float32", "dtype=float32,max_length=256"),
        display=False)
    assert model_cache().loads == loads + 2


def test_environment_restored_after_success(demo_model: Path, demo_tasks: Path, tmp_path: Path) -> None:
    run(command(demo_model, demo_tasks, tmp_path / "warm", names="parus"), display=False)  # imports happen here
    before = state()
    run("MERA_TEST_VAR=1 PYTHONPATH=/tmp/mera-extra TOKENIZERS_PARALLELISM=true "
        + command(demo_model, demo_tasks, tmp_path / "x", names="parus"), display=False)
    assert state() == before


def test_environment_restored_after_error(demo_model: Path, demo_tasks: Path, tmp_path: Path) -> None:
    before = state()
    with pytest.raises(RunError) as info:
        run("MERA_TEST_VAR=1 " + command(demo_model, demo_tasks, tmp_path / "x", names="no_such_task"),
            display=False, run_checks=False)
    assert "lm_eval could not load the task(s)" in str(info.value)
    assert "no_such_task" in str(info.value)
    assert state() == before


def test_checks_stop_the_run_before_loading(demo_model: Path, demo_tasks: Path, tmp_path: Path) -> None:
    loads = model_cache().loads
    with pytest.raises(CheckError, match="fewshot_as_multiturn"):
        run(command(demo_model, demo_tasks, tmp_path / "x", "--fewshot_as_multiturn"), display=False)
    assert model_cache().loads == loads


def test_interrupt_stops_the_run_and_restores(demo_model: Path, demo_tasks: Path, tmp_path: Path) -> None:
    """A real SIGINT (what the kernel's stop button sends) while requests are running."""
    spec = parse("MERA_TEST_VAR=1 " + command(demo_model, demo_tasks, tmp_path / "x", names="simplear,rumultiar,parus_gen")
                 .replace("--batch_size 4", "--batch_size 1"))
    progress = Progress("test")
    sent: list[float] = []

    def tick() -> None:
        import time

        if not sent and any("generate" in p.name.lower() and p.done >= 1 for p in progress.phases):
            sent.append(time.monotonic())
            os.kill(os.getpid(), signal.SIGINT)

    from mera_magic.environ import scoped_environment

    before = state()
    with pytest.raises(RunInterrupted), scoped_environment(spec.env):
        evaluate_in_process(spec, progress, model_cache(), include_defaults=False, on_tick=tick)
    assert sent, "the run never reached the generation phase"
    generating = [p for p in progress.phases if "generate" in p.name.lower()]
    assert generating and generating[0].done < (generating[0].total or 0), "stopped before the requests were all done"
    assert state() == before
    assert progress.status == "stopped"
    # the kernel (this process) is usable: the same command runs to the end afterwards
    result = run(command(demo_model, demo_tasks, tmp_path / "y", names="parus"), display=False)
    assert "parus" in result.tasks


def test_child_process_gives_the_same_result(demo_model: Path, demo_tasks: Path, tmp_path: Path) -> None:
    inproc = run(command(demo_model, demo_tasks, tmp_path / "in", names="parus"), display=False)
    child = run(command(demo_model, demo_tasks, tmp_path / "child", names="parus"), display=False, subprocess=True)
    assert child.metrics["value"].tolist() == inproc.metrics["value"].tolist()
    assert any(p.name.startswith("samples_parus_") for p in child.files)


def test_import_time_variable_changed_goes_to_a_child_process(demo_model: Path, demo_tasks: Path, tmp_path: Path) -> None:
    import huggingface_hub.constants as hub  # already imported by the runs above

    from mera_magic import environ

    other = str(tmp_path / "other_hf_home")
    assert environ.plan({"HF_HOME": other}).in_process is False
    assert environ.plan({"HF_HOME": str(hub.HF_HOME)}).in_process is True
    result = run(f"HF_HOME={other} " + command(demo_model, demo_tasks, tmp_path / "o", names="parus"), display=False)
    assert result.metrics.loc[result.metrics["task"] == "parus", "value"].notna().all()
    assert str(hub.HF_HOME) != other  # this kernel's setting is untouched


def test_missing_model_gets_one_clear_message(demo_tasks: Path, tmp_path: Path) -> None:
    with pytest.raises(RunError, match="could not be loaded"):
        run(f"lm_eval --model hf --model_args pretrained={tmp_path}/no-model --device cpu --include_path {demo_tasks} "
            "--tasks parus", display=False, run_checks=False)


def test_server_that_does_not_answer(demo_model: Path, demo_tasks: Path, tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:  # a port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    text = (f"lm_eval --model local-completions --model_args model=tiny,base_url=http://127.0.0.1:{port}/v1/completions,"
            f"tokenizer_backend=huggingface,tokenizer={demo_model},tokenized_requests=False,max_retries=1 "
            f"--include_path {demo_tasks} --limit 2 --tasks simplear")
    before = state()
    with pytest.raises(CheckError) as checked:  # the pre-flight probe finds it before anything loads
        run(text, display=False)
    assert "server-down" in {f.code for f in checked.value.findings}
    with pytest.raises(RunError, match=r"did not answer \(0 of 2 requests answered"):  # a server gone during a run
        run(text, display=False, run_checks=False)
    assert state() == before
    assert not model_cache().held()  # the API model of a failed run is not kept


def test_use_cache_records_its_model(demo_model: Path, demo_tasks: Path, tmp_path: Path) -> None:
    from mera_magic import check

    prefix = tmp_path / "lm_cache" / "demo"
    run(command(demo_model, demo_tasks, tmp_path / "x", f"--use_cache {prefix}", names="parus"), display=False)
    assert Path(f"{prefix}_rank0.db").exists()
    other = f"lm_eval --model hf --model_args pretrained={tmp_path},dtype=float32 --include_path {demo_tasks} " \
            f"--use_cache {prefix} --tasks parus"
    assert any(f.code == "cache-other-model" for f in check(other))
