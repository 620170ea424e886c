"""mera_magic.suite: a MERA suite run as MERA's scripts run it (few-shot counts, generation settings), resume that
compares settings, per-task fork diagnosis, ruDetox's classifiers, failures that do not stop the rest."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mera_magic import catalog, parse
from mera_magic.errors import CheckError, CompatibilityError, ParseError
from mera_magic.runner import model_cache
from mera_magic.suite import (
    done_before,
    parse_overrides,
    plan_suite,
    rudetox_classifiers,
    run_suite,
    task_settings,
)


def base(model: Path, tasks: Path, out: Path, names: str = "parus,rcb,simplear") -> str:
    return (f"lm_eval --model hf --model_args pretrained={model},dtype=float32 --device cpu --batch_size 8 "
            f"--include_path {tasks} --output_path {out} --predict_only --log_samples --limit 4 --tasks {names}")


def test_suite_fewshot_counts_follow_mera_scripts() -> None:
    plan = dict(catalog.suite("mera"))
    assert plan["simplear"] == 2 and plan["parus"] == 1 and plan["ruethics"] == 0 and plan["rutie"] == 1
    assert len(catalog.suite("mera")) == 23
    assert all(name.endswith("_gen") or not catalog.get(name).gen_twin for name, _ in catalog.suite("mera_gen"))


def test_settings_are_mera_scripts_unless_overridden() -> None:
    cell = parse("lm_eval --model hf --model_args pretrained=x --tasks parus --output_path o "
                 "--gen_kwargs max_gen_toks=64 --num_fewshot 5")
    code = task_settings("ruhumaneval", cell, {})
    assert (code.num_fewshot, code.gen_kwargs) == (0, {"temperature": 0.6, "do_sample": True})  # not the cell's
    assert code.source("gen_kwargs") == "MERA's scripts"
    assert task_settings("rucodeeval", cell, {}).gen_kwargs_text == "temperature=0.6,do_sample=True"
    simple = task_settings("simplear", cell, {})
    assert (simple.num_fewshot, simple.gen_kwargs, simple.source("gen_kwargs")) == (2, {"max_gen_toks": 64}, "the cell")
    assert not task_settings("parus", cell, {}).generative and task_settings("parus_gen", cell, {}).generative

    overrides = parse_overrides(["*:num_fewshot=0", "ruhumaneval:gen_kwargs=temperature=0.2,do_sample=True"])
    code = task_settings("ruhumaneval", cell, overrides)
    assert (code.num_fewshot, code.gen_kwargs_text, code.source("gen_kwargs")) == (0, "temperature=0.2,do_sample=True",
                                                                                 "--set")
    assert task_settings("simplear", cell, overrides).num_fewshot == 0
    for bad in ("ruhumaneval", "parus:num_fewshot=two", "parus:temperature=1"):
        with pytest.raises(ParseError, match="--set"):
            parse_overrides([bad])


def test_suite_needs_an_output_path(demo_model: Path, demo_tasks: Path) -> None:
    with pytest.raises(CheckError, match="--output_path"):
        run_suite(f"lm_eval --model hf --model_args pretrained={demo_model} --include_path {demo_tasks} --tasks parus",
                  "mera", display=False)


def test_plan_shows_settings_and_notes(demo_model: Path, demo_tasks: Path, tmp_path: Path) -> None:
    plan = plan_suite(base(demo_model, demo_tasks, tmp_path / "out", "ruhumaneval,simplear,parus")
                      + " --num_fewshot 3", "mera", overrides=parse_overrides(["parus:num_fewshot=0"]))
    rows = {t.task: t for t in plan.tasks}
    assert [t.task for t in plan.tasks] == ["simplear", "parus", "ruhumaneval"]  # MERA's order
    assert {t.status for t in plan.tasks} == {"would run"}
    assert rows["parus"].fewshot == 0 and rows["simplear"].fewshot == 2
    text = str(plan)
    assert "temperature=0.6,do_sample=True" in text and "--num_fewshot 3 is not used" in text
    assert "(--set)" in plan._repr_html_()
    with pytest.raises(ParseError, match="not a task of this suite run"):
        plan_suite(base(demo_model, demo_tasks, tmp_path / "out", "parus"), "mera",
                   overrides=parse_overrides(["rcb:num_fewshot=0"]))


def _folder_with_fork_keys(demo_tasks: Path, tmp_path: Path, tasks: tuple[str, ...]) -> Path:
    folder = tmp_path / "tasks"
    shutil.copytree(demo_tasks, folder)
    for task in tasks:  # ruTiE's fork-only keys, as in MERA's folder
        path = folder / f"{task}.yaml"
        path.write_text(path.read_text(encoding="utf-8") + "context_based: true\n", encoding="utf-8")
    return folder


def test_a_task_the_installed_lm_eval_cannot_load_is_reported_and_the_rest_run(demo_model: Path, demo_tasks: Path,
                                                                               tmp_path: Path) -> None:
    folder = _folder_with_fork_keys(demo_tasks, tmp_path, ("rutie",))
    plan = plan_suite(base(demo_model, folder, tmp_path / "out", "parus,rutie"), "mera")
    rows = {t.task: t for t in plan.tasks}
    assert rows["parus"].status == "would run"
    assert rows["rutie"].status == "blocked" and "context_based" in rows["rutie"].detail
    assert "pip install" in rows["rutie"].detail  # the fix


def test_when_nothing_loads_the_suite_stops_once(demo_model: Path, demo_tasks: Path, tmp_path: Path) -> None:
    folder = _folder_with_fork_keys(demo_tasks, tmp_path, ("rutie", "parus"))
    with pytest.raises(CompatibilityError) as info:
        run_suite(base(demo_model, folder, tmp_path / "out", "parus,rutie"), "mera", display=False)
    message = str(info.value)
    assert "cannot load any of these 2 tasks" in message
    assert message.count("pip install") == 1  # one message, one fix, not one per task


def _cache_model(cache: Path, repo: str) -> None:
    """A model folder laid out as huggingface_hub writes its cache."""
    snap = cache / f"models--{repo.replace('/', '--')}" / "snapshots" / "0123abc"
    snap.mkdir(parents=True)
    (snap / "config.json").write_text("{}", encoding="utf-8")
    (snap / "model.safetensors").write_bytes(b"")


def test_rudetox_needs_its_classifiers(demo_model: Path, demo_tasks: Path, tmp_path: Path) -> None:
    home = tmp_path / "hf"
    cmd = f"HF_HOME={home} HF_HUB_OFFLINE=1 " + base(demo_model, demo_tasks, tmp_path / "out", "rudetox,parus")
    assert [ok for _, ok in rudetox_classifiers(parse(cmd))] == [False, False, False]
    plan = plan_suite(cmd, "mera")
    rudetox = next(t for t in plan.tasks if t.task == "rudetox")
    assert rudetox.status == "skipped" and "offline" in rudetox.detail
    note = next(n for n in plan.notes if n.startswith("rudetox"))
    assert str(home / "hub") in note and "hf download s-nlp/ruRoberta-large-RuCoLa-v1" in note

    online = plan_suite(cmd.replace("HF_HUB_OFFLINE=1", "HF_HUB_OFFLINE=0 TRANSFORMERS_OFFLINE=0"), "mera")
    assert next(t for t in online.tasks if t.task == "rudetox").status == "would run"

    for repo in catalog.RUDETOX_CLASSIFIERS:
        _cache_model(home / "hub", repo)
    assert all(ok for _, ok in rudetox_classifiers(parse(cmd)))
    ready = plan_suite(cmd, "mera")
    assert next(t for t in ready.tasks if t.task == "rudetox").status == "would run"
    assert any("all three are in" in n for n in ready.notes)


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
    # the environment is described once per suite and written into every results file, as the CLI writes it
    envs = {json.dumps(r.raw.get("pretty_env_info")) for r in board.results.values()}
    assert len(envs) == 1 and "PyTorch version" in envs.pop()
    import lm_eval.loggers.utils as logger_utils
    import torch.utils.collect_env as collect_env

    assert collect_env.get_pretty_env_info.__module__ == "torch.utils.collect_env"  # undone after the suite
    assert getattr(logger_utils, "get_pretty_env_info", collect_env.get_pretty_env_info) is collect_env.get_pretty_env_info
    assert done_before(board.results["parus"].spec, "parus", 1)

    again = run_suite(base(demo_model, demo_tasks, out, "parus,rcb,simplear"), "mera", display=False)
    assert {t.task: t.status for t in again.tasks} == {"simplear": "skipped", "parus": "skipped", "rcb": "skipped"}

    # other generation settings: the generative task runs again and says why; multiple choice is not affected
    plan = plan_suite(base(demo_model, demo_tasks, out, "parus,simplear") + " --gen_kwargs max_gen_toks=8", "mera")
    rows = {t.task: t for t in plan.tasks}
    assert rows["parus"].status == "would skip"
    assert rows["simplear"].status == "would run"
    assert "gen_kwargs do_sample=False" in rows["simplear"].detail and "max_gen_toks=8 wanted" in rows["simplear"].detail
    fewer = plan_suite(base(demo_model, demo_tasks, out, "parus"), "mera",
                       overrides=parse_overrides(["parus:num_fewshot=0"]))
    assert fewer.tasks[0].status == "would run" and "1-shot, 0-shot wanted" in fewer.tasks[0].detail

    changed = run_suite(base(demo_model, demo_tasks, out, "parus").replace("--limit 4", "--limit 3"), "mera",
                        display=False)
    assert changed.tasks[0].status == "done"  # other settings: not the same run, so not skipped

    forced = run_suite(base(demo_model, demo_tasks, out, "parus"), "mera", display=False, force=True)
    assert forced.tasks[0].status == "done"
    assert "parus" in forced._repr_html_() and "done" in str(forced)


@pytest.mark.slow
def test_code_task_samples_with_mera_settings_and_resume_reads_them(demo_model: Path, demo_tasks: Path,
                                                                    tmp_path: Path) -> None:
    out = tmp_path / "out"
    cmd = base(demo_model, demo_tasks, out, "ruhumaneval,rutie") + " --gen_kwargs do_sample=False"
    board = run_suite(cmd, "mera", display=False)
    assert {t.task: t.status for t in board.tasks} == {"rutie": "done", "ruhumaneval": "done"}
    raw = board.results["ruhumaneval"].raw
    assert raw["n-shot"]["ruhumaneval"] == 0
    samples = [json.loads(line) for line in next(out.rglob("samples_ruhumaneval_*.jsonl")).read_text().splitlines()]
    assert samples[0]["arguments"]["gen_args_0"]["arg_1"]["temperature"] == 0.6  # MERA's sampling, not the cell's
    assert any(len(set(s["resps"][0])) > 1 for s in samples)  # 5 different samples per problem
    assert {t.task: t.status for t in plan_suite(cmd, "mera").tasks} == {"rutie": "would skip",
                                                                          "ruhumaneval": "would skip"}
    lower = plan_suite(cmd, "mera", overrides=parse_overrides(["ruhumaneval:gen_kwargs=temperature=0.2,do_sample=True"]))
    code = next(t for t in lower.tasks if t.task == "ruhumaneval")
    assert code.status == "would run" and "temperature=0.2" in code.detail
