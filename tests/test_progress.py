"""mera_magic.runner.progress: the tqdm stand-in behaves as tqdm (disable=True included) and lm_eval's log goes
only into the run's log, at its verbosity; checked directly and through real in-process runs."""

from __future__ import annotations

import io
import json
import logging
import sys
from pathlib import Path
from typing import Any

import pytest
from tqdm import tqdm as real_tqdm

from mera_magic.runner import run
from mera_magic.runner.progress import Progress, ProgressTqdm, capture_logs


@pytest.fixture
def progress() -> Any:
    ProgressTqdm.current = Progress("test")
    yield ProgressTqdm.current
    ProgressTqdm.current = None


def test_disabled_bar_is_silent_and_has_what_tqdm_callers_read(progress: Progress) -> None:
    # the minimal case of the issue: MERA's fork calls lm.loglikelihood([req], disable_tqdm=True)
    bar = ProgressTqdm(range(3), disable=True)
    assert list(bar) == [0, 1, 2]
    assert bar.desc == "" and bar.disable and bar.total == 3 and bar.n == 0
    bar.set_description("x")
    bar.update(2)
    bar.reset(total=5)
    bar.close()
    assert progress.phases == []  # a disabled bar shows nothing

    named = ProgressTqdm(total=2, desc="Running loglikelihood requests", disable=True)
    assert named.desc == "Running loglikelihood requests"
    named.close()
    assert progress.phases == []


def test_enabled_bar_reports_a_phase_like_tqdm_counts(progress: Progress) -> None:
    reference = real_tqdm(total=4, desc="Running loglikelihood requests", file=io.StringIO())
    bar = ProgressTqdm(total=4, desc="Running loglikelihood requests", disable=False)
    for _ in range(3):
        reference.update(1)
        bar.update(1)
    assert (bar.n, bar.total, bar.desc) == (reference.n, reference.total, reference.desc)
    bar.set_description("Requests")
    bar.close()
    reference.close()
    (phase,) = progress.phases
    assert (phase.name, phase.done, phase.total) == ("Requests", 3, 4) and phase.finished is not None
    # disable=None is tqdm's "only on a terminal"; during a run the cell is where bars are shown
    assert sum(ProgressTqdm(range(5), desc="iterating", disable=None)) == 10
    assert (progress.phases[-1].name, progress.phases[-1].done) == ("iterating", 5)


def test_outside_a_run_it_is_plain_tqdm() -> None:
    assert ProgressTqdm.current is None
    out = io.StringIO()
    assert list(ProgressTqdm(range(2), file=out, desc="plain")) == [0, 1]
    assert "plain" in out.getvalue()


def test_log_records_go_only_into_the_run_log_at_its_verbosity(capfd: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    stream = logging.StreamHandler(sys.stderr)  # as lm_eval 0.4.4's basicConfig leaves the root logger
    root.addHandler(stream)
    lm_logger = logging.getLogger("lm-eval")
    before = (list(root.handlers), list(lm_logger.handlers), lm_logger.level)
    try:
        progress = Progress("t", "WARNING")
        with capture_logs(progress):
            lm_logger.warning("Label index was not in within range of available choices")
            lm_logger.info("Building contexts")  # below the run's verbosity
            logging.getLogger("transformers.generation").warning("a transformers warning")
        assert [line for line in progress.log if "Label index" in line] and \
            len([line for line in progress.log if "Label index" in line]) == 1  # once, though it propagates
        assert not [line for line in progress.log if "Building contexts" in line]
        assert [line for line in progress.log if "transformers warning" in line]
        assert "Label index" not in capfd.readouterr().err
        assert (list(root.handlers), list(lm_logger.handlers), lm_logger.level) == before
    finally:
        root.removeHandler(stream)


@pytest.mark.slow
def test_dialogue_task_runs_in_process_with_disable_tqdm(demo_model: Path, demo_tasks: Path, tmp_path: Path,
                                                        capfd: pytest.CaptureFixture[str]) -> None:
    # the demo rutie asks the model in a loop with lm.loglikelihood(..., disable_tqdm=True), as MERA's fork does
    out = tmp_path / "out"
    result = run(f"lm_eval --model hf --model_args pretrained={demo_model},dtype=float32 --device cpu --batch_size 4 "
                 f"--include_path {demo_tasks} --output_path {out} --log_samples --predict_only --limit 4 "
                 f"--tasks rutie", display=False)
    assert "rutie" in result.raw["results"]
    samples = [json.loads(line) for line in next(out.rglob("samples_rutie_*.jsonl")).read_text("utf-8").splitlines()]
    assert len(samples) == 4
    # each prompt carries the answers the model chose for the earlier questions of its dialogue
    for k, sample in enumerate(samples[1:], start=1):
        prompt = sample["arguments"]["gen_args_0"]["arg_0"]
        for earlier in samples[:k]:
            lls = [float(pair[0]) for pair in earlier["filtered_resps"]]
            chosen = earlier["doc"]["inputs"][f"choice{lls.index(max(lls)) + 1}"]
            assert f"Вопрос: {earlier['doc']['inputs']['question']}\nТвой ответ: {chosen}" in prompt
    assert "Label index" not in capfd.readouterr().err  # closed test: the warnings stay in the run's log


@pytest.mark.slow
def test_lm_eval_unnamed_context_bars_are_named_after_their_task(demo_model: Path, demo_tasks: Path) -> None:
    # lm_eval's Task.build_all_requests gives tqdm no desc; the cell names the bar after the task it builds
    shown: list[str] = []
    run(f"lm_eval --model hf --model_args pretrained={demo_model},dtype=float32 --device cpu --batch_size 8 "
        f"--include_path {demo_tasks} --limit 4 --tasks parus,simplear", display=shown.append)
    assert "Building contexts · parus" in shown[-1] and "Building contexts · simplear" in shown[-1]
    assert ">working<" not in shown[-1]


def test_colour_codes_are_taken_out_of_the_log() -> None:
    # vLLM colours its log lines when FORCE_COLOR is set (ipykernel sets it); the folded log is plain text
    progress = Progress("t")
    progress.write("\x1b[0;36m(EngineCore pid=1)\x1b[0;0m \x1b[32mINFO\x1b[0m loaded\n")
    assert list(progress.log) == ["(EngineCore pid=1) INFO loaded"]
