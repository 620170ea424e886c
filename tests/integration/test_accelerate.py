"""``accelerate launch ... -m lm_eval`` through ``%%mera`` on this CPU machine, for real.

What accelerate and lm_eval do here (measured, see mera_magic.probe.launcher_findings): ``--cpu --num_processes 2``
starts one process, and several processes without GPUs would each evaluate every document.  mera-magic says so
before the run, runs the command as a child process with the same progress and result as an in-process run, and
the samples are those of a one-process run.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from mera_magic import check
from mera_magic.runner import run

pytestmark = pytest.mark.slow


@pytest.mark.usefixtures("english")
def test_accelerate_launch_on_cpu_gives_the_one_process_samples(demo_model: Path, demo_tasks: Path,
                                                                tmp_path: Path) -> None:
    flags = (f"--model hf --model_args pretrained={demo_model},dtype=float32 --device cpu --batch_size 4 "
             f"--include_path {demo_tasks} --tasks parus,simplear")
    cell = f"accelerate launch --cpu --num_processes 2 -m lm_eval {flags} --output_path {tmp_path / 'acc'} --log_samples"
    # checked in English before the extension loads (loading it sets the session's language from %config)
    told = [f for f in check(cell) if f.code == "accelerate-cpu-one-process"]
    assert told and told[0].level == "warning" and "single process" in told[0].message
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "mera_magic")
    with capture_output() as out:
        launched = ip.run_cell_magic("mera", "", cell)
    html = "".join(o.data.get("text/html", "") for o in out.outputs)
    assert "Runs in a child process: `accelerate launch --cpu --num_processes 2` starts its own processes" in html
    assert "Running loglikelihood requests" in html  # the child's progress, read from its bars
    single = run(f"lm_eval {flags}", display=False)
    for task in ("parus", "simplear"):
        a = launched.samples(task).sort_values("doc_id").reset_index(drop=True)
        b = single.samples(task).sort_values("doc_id").reset_index(drop=True)
        assert len(a) == len(b) == 16
        if task == "parus":
            for x, y in zip(a["loglikelihoods"], b["loglikelihoods"]):
                assert max(abs(p - q) for p, q in zip(x, y)) < 1e-4
        else:
            assert list(a["filtered"]) == list(b["filtered"])


def test_several_processes_without_gpus_are_told(demo_tasks: Path) -> None:
    from mera_magic.probe import visible_gpus

    text = ("accelerate launch --multi_gpu --num_processes 2 -m lm_eval --model hf --model_args pretrained=x "
            f"--include_path {demo_tasks} --tasks parus")
    expected = ["warning"] if visible_gpus() < 2 else []  # with 2+ GPUs lm_eval shards the documents
    assert [f.level for f in check(text) if f.code == "accelerate-no-gpus"] == expected
