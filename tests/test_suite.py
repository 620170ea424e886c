"""mera_magic.suite: a MERA suite with MERA's few-shot counts, resume, and failures that do not stop the rest."""

from __future__ import annotations

from pathlib import Path

import pytest

from mera_magic import catalog
from mera_magic.errors import CheckError
from mera_magic.runner import model_cache
from mera_magic.suite import done_before, run_suite


def base(model: Path, tasks: Path, out: Path, names: str = "parus,rcb,simplear") -> str:
    return (f"lm_eval --model hf --model_args pretrained={model},dtype=float32 --device cpu --batch_size 8 "
            f"--include_path {tasks} --output_path {out} --predict_only --log_samples --limit 4 --tasks {names}")


def test_suite_fewshot_counts_follow_mera_scripts() -> None:
    plan = dict(catalog.suite("mera"))
    assert plan["simplear"] == 2 and plan["parus"] == 1 and plan["ruethics"] == 0 and plan["rutie"] == 1
    assert len(catalog.suite("mera")) == 23
    assert all(name.endswith("_gen") or not catalog.get(name).gen_twin for name, _ in catalog.suite("mera_gen"))


def test_suite_needs_an_output_path(demo_model: Path, demo_tasks: Path) -> None:
    with pytest.raises(CheckError, match="--output_path"):
        run_suite(f"lm_eval --model hf --model_args pretrained={demo_model} --include_path {demo_tasks} --tasks parus",
                  "mera", display=False)


@pytest.mark.slow
def test_suite_runs_resumes_and_reports_failures(demo_model: Path, demo_tasks: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    loads = model_cache().loads
    board = run_suite(base(demo_model, demo_tasks, out, "parus,rcb,simplear,lcs"), "mera", display=False)
    status = {t.task: t.status for t in board.tasks}
    # in MERA's order, restricted to the command's tasks; lcs is not in the demo folder: it fails, the rest run
    assert [t.task for t in board.tasks] == ["simplear", "lcs", "parus", "rcb"]
    assert status == {"simplear": "done", "lcs": "failed", "parus": "done", "rcb": "done"}
    assert "lcs" in board.tasks[1].detail
    assert board.results["simplear"].raw["n-shot"]["simplear"] == 2  # MERA's few-shot count, not the command's
    assert board.results["parus"].raw["n-shot"]["parus"] == 1
    assert model_cache().loads == loads + 1  # the model is loaded once for the whole suite
    assert done_before(board.results["parus"].spec, "parus", 1)

    again = run_suite(base(demo_model, demo_tasks, out, "parus,rcb,simplear"), "mera", display=False)
    assert {t.task: t.status for t in again.tasks} == {"simplear": "skipped", "parus": "skipped", "rcb": "skipped"}

    changed = run_suite(base(demo_model, demo_tasks, out, "parus").replace("--limit 4", "--limit 3"), "mera",
                        display=False)
    assert changed.tasks[0].status == "done"  # other settings: not the same run, so not skipped

    forced = run_suite(base(demo_model, demo_tasks, out, "parus"), "mera", display=False, force=True)
    assert forced.tasks[0].status == "done"
    assert "parus" in forced._repr_html_() and "done" in str(forced)
