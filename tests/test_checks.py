"""mera_magic.checks: each check fires on its case and stays quiet on a clean command."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from mera_magic import check, parse
from mera_magic.checks import CACHE_OWNER_SUFFIX, Finding

#: these tests compare English texts (the session's default language is Russian)
pytestmark = pytest.mark.usefixtures("english")

MC_TASK = """task: tiny_mc
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: multiple_choice
doc_to_text: "{{{{q}}}}"
doc_to_choice: ["a", "b"]
doc_to_target: 0
metric_list:
  - metric: acc
"""
GEN_TASK = """task: tiny_gen
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: generate_until
doc_to_text: "{{{{q}}}}"
doc_to_target: "a"
metric_list:
  - metric: exact_match
"""
GROUP = """group: tiny_group
task:
  - tiny_mc
  - tiny_gen
"""


@pytest.fixture(scope="module")
def tasks_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tasks")
    data = folder / "d.jsonl"
    data.write_text(json.dumps({"q": "x"}) + "\n", encoding="utf-8")
    (folder / "mc.yaml").write_text(MC_TASK.format(data=data), encoding="utf-8")
    (folder / "gen.yaml").write_text(GEN_TASK.format(data=data), encoding="utf-8")
    (folder / "group.yaml").write_text(GROUP, encoding="utf-8")
    return folder


@pytest.fixture()
def model_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text("{}", encoding="utf-8")  # a model folder holds a config (preflight checks it)
    return folder


def codes(findings: list[Finding]) -> set[str]:
    return {f.code for f in findings}


def clean(model_dir: Path, tasks_dir: Path, extra: str = "", tasks: str = "tiny_mc") -> str:
    return (f"lm_eval --model hf --model_args pretrained={model_dir},dtype=float32 --device cpu "
            f"--include_path {tasks_dir} --output_path {model_dir.parent}/out --log_samples {extra} --tasks {tasks}")


def test_clean_command_has_no_errors_or_warnings(model_dir: Path, tasks_dir: Path) -> None:
    findings = check(clean(model_dir, tasks_dir))
    assert [f for f in findings if f.level != "info"] == []


def test_task_lookup_does_not_index_builtin_tasks_when_include_path_has_them(model_dir: Path, tasks_dir: Path) -> None:
    from mera_magic.session import SESSION

    SESSION.task_indexes.clear()
    check(clean(model_dir, tasks_dir, tasks="tiny_mc,tiny_group"))
    assert all(defaults is False for (_, defaults) in SESSION.task_indexes)


def _heavy_after_check(text: str, tasks: bool) -> str:
    import subprocess

    code = (f"import sys, mera_magic as m; m.check({text!r}, tasks={tasks!r}); "
            "print(sorted(k for k in ('torch','transformers','vllm') if k in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1]


def test_heavy_modules_are_not_imported_by_check(model_dir: Path, tasks_dir: Path) -> None:
    from mera_magic.lmeval.install import version_tuple

    text = clean(model_dir, tasks_dir)
    assert _heavy_after_check(text, tasks=False) == "[]"
    if version_tuple() >= (0, 4, 10):
        assert _heavy_after_check(text, tasks=True) == "[]"
    else:
        # lm_eval <= 0.4.9 imports torch in its package __init__, so its TaskManager cannot be had without
        # it; the task lookup still loads no model
        assert "torch" in _heavy_after_check(text, tasks=True)


@pytest.mark.parametrize("extra,code,where", [
    ("--fewshot_as_multiturn", "multiturn-without-chat-template", "options.fewshot_as_multiturn"),
    ("--device cuda:1", "device-index", "options.device"),
])
def test_flag_combinations(model_dir: Path, tasks_dir: Path, extra: str, code: str, where: str) -> None:
    findings = check(clean(model_dir, tasks_dir, extra))
    hit = [f for f in findings if f.code == code]
    assert hit and hit[0].where == where
    assert "--" in hit[0].message  # names the flag


def test_samples_with_limit(model_dir: Path, tasks_dir: Path) -> None:
    from mera_magic.errors import ParseError
    from mera_magic.lmeval.parser import option_info

    text = clean(model_dir, tasks_dir, "--limit 2 --samples '{\"tiny_mc\": [0]}'")
    if option_info("samples") is None:  # lm_eval < 0.4.9 has no --samples: the parser says so
        with pytest.raises(ParseError, match="--samples"):
            check(text)
        return
    hit = [f for f in check(text) if f.code == "samples-with-limit"]
    assert hit and hit[0].where == "options.samples"


@pytest.mark.parametrize("flag", ["--log_samples", "--predict_only"])
def test_samples_need_output_path(model_dir: Path, tasks_dir: Path, flag: str) -> None:
    text = f"lm_eval --model hf --model_args pretrained={model_dir} --include_path {tasks_dir} {flag} --tasks tiny_mc"
    found = [f for f in check(text) if f.code == "no-output-path"]
    assert found and found[0].level == "error" and "--output_path" in found[0].message


def test_unknown_backend_with_suggestion(tasks_dir: Path) -> None:
    findings = check(f"lm_eval --model vlm --include_path {tasks_dir} --tasks tiny_mc")
    hit = [f for f in findings if f.code == "unknown-backend"]
    assert hit and "Did you mean" in hit[0].message


def test_unknown_option_key_from_a_programmatic_spec(model_dir: Path, tasks_dir: Path) -> None:
    spec = parse(clean(model_dir, tasks_dir))
    spec.options["num_fewshots"] = 2
    hit = [f for f in check(spec) if f.code == "unknown-option"]
    assert hit and "num_fewshot" in hit[0].message


def test_model_arg_typos(model_dir: Path, tasks_dir: Path) -> None:
    forwarded = check(f"lm_eval --model hf --model_args pretrained={model_dir},dtyp=float32 --include_path {tasks_dir} --tasks tiny_mc")
    hit = [f for f in forwarded if f.where == "model_args.dtyp"]
    # a near-miss of a real parameter would reach from_pretrained and fail there: an error, naming the parameter
    assert hit[0].level == "error" and hit[0].code == "model-arg-typo" and "`dtype`" in hit[0].message
    ignored = check("lm_eval --model local-completions --model_args model=m,base_url=http://127.0.0.1:1/v1/completions,"
                    f"num_concurent=4 --include_path {tasks_dir} --tasks tiny_gen")
    hit = [f for f in ignored if f.where == "model_args.num_concurent"]
    assert hit[0].level == "error" and "num_concurrent" in hit[0].message


def test_unknown_task_with_suggestion(model_dir: Path, tasks_dir: Path) -> None:
    hit = [f for f in check(clean(model_dir, tasks_dir, tasks="tiny_mcc")) if f.code == "unknown-task"]
    assert hit and "Did you mean `tiny_mc`" in hit[0].message


def test_chat_backend_with_multiple_choice_task_and_group(tasks_dir: Path) -> None:
    base = ("lm_eval --model local-chat-completions --model_args model=m,base_url=http://127.0.0.1:1/v1/chat/completions "
            f"--apply_chat_template --include_path {tasks_dir} --tasks ")
    assert "chat-backend-loglikelihood" in codes(check(base + "tiny_mc"))
    assert "chat-backend-loglikelihood" in codes(check(base + "tiny_group"))
    assert "chat-backend-loglikelihood" not in codes(check(base + "tiny_gen"))


def test_auto_batch_size_where_the_backend_cannot(tasks_dir: Path) -> None:
    from mera_magic.lmeval.backends import get_backend

    text = f"lm_eval --model hf-multimodal --model_args pretrained=x --batch_size auto --include_path {tasks_dir} --tasks tiny_gen"
    if get_backend("hf-multimodal") is not None:
        assert "auto-batch-unsupported" in codes(check(text))
    else:  # stock lm_eval 0.4.4 has no hf-multimodal (MERA's fork adds it)
        assert "unknown-backend" in codes(check(text))
    text = (f"lm_eval --model local-completions --model_args model=m,base_url=http://127.0.0.1:1 --batch_size auto "
            f"--include_path {tasks_dir} --tasks tiny_gen")
    assert "auto-batch-ignored" in codes(check(text))
    assert not {"auto-batch-unsupported", "auto-batch-ignored"} & codes(check(
        f"lm_eval --model hf --model_args pretrained=x --batch_size auto --include_path {tasks_dir} --tasks tiny_gen"))


@pytest.mark.parametrize("value,bad", [("0,1", False), ("1,0,5", False), ("0, 1", True), ("0;1", True), ("a", True),
                                       ("1,1", True), ("GPU-8f3c2a1b-1111-2222-3333-444455556666", False)])
def test_cuda_visible_devices(model_dir: Path, tasks_dir: Path, value: str, bad: bool) -> None:
    found = "cuda-visible-devices" in codes(check(f"CUDA_VISIBLE_DEVICES='{value}' " + clean(model_dir, tasks_dir)))
    assert found is bad


def test_pretrained_starting_with_dot_and_missing_path(tasks_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models" / "local").mkdir(parents=True)
    findings = check(f"lm_eval --model hf --model_args pretrained=./models/local --include_path {tasks_dir} --tasks tiny_mc")
    assert "hidden-output-folder" in codes(findings)
    assert "model-path-missing" not in codes(findings)
    findings = check(f"lm_eval --model hf --model_args pretrained=./models/missing --include_path {tasks_dir} --tasks tiny_mc")
    assert "model-path-missing" in codes(findings)


def test_use_cache_recorded_for_another_model(model_dir: Path, tasks_dir: Path, tmp_path: Path) -> None:
    prefix = tmp_path / "lm_cache" / "shared"
    prefix.parent.mkdir()
    Path(f"{prefix}{CACHE_OWNER_SUFFIX}").write_text(json.dumps({"model": "hf", "name": "other/model"}), encoding="utf-8")
    assert "cache-other-model" in codes(check(clean(model_dir, tasks_dir, f"--use_cache {prefix}")))
    Path(f"{prefix}{CACHE_OWNER_SUFFIX}").write_text(json.dumps({"model": "hf", "name": str(model_dir)}), encoding="utf-8")
    assert "cache-other-model" not in codes(check(clean(model_dir, tasks_dir, f"--use_cache {prefix}")))


def test_literal_secret_in_the_cell(model_dir: Path, tasks_dir: Path) -> None:
    literal = check("HF_TOKEN=hf_abcdefghijklmnop " + clean(model_dir, tasks_dir))
    assert "literal-secret" in codes(literal)
    by_reference = check("HF_TOKEN=$MY_TOKEN " + clean(model_dir, tasks_dir), namespace={"MY_TOKEN": "hf_abcdefghijklmnop"})
    assert "literal-secret" not in codes(by_reference)
    assert all("hf_abcdefghijklmnop" not in f.message for f in literal + by_reference)


def test_undefined_variable_and_bad_env_values(model_dir: Path, tasks_dir: Path) -> None:
    findings = check("HF_DATASETS_IN_MEMORY_MAX_SIZE=lots X=$MERA_NOT_DEFINED_ANYWHERE " + clean(model_dir, tasks_dir))
    assert {"in-memory-size", "undefined-variable"} <= codes(findings)


def test_missing_include_path_and_no_tasks(model_dir: Path, tmp_path: Path) -> None:
    assert "include-path-missing" in codes(check(f"lm_eval --model hf --model_args pretrained={model_dir} "
                                                 f"--include_path {tmp_path}/nope --tasks a"))
    assert "no-tasks" in codes(check(f"lm_eval --model hf --model_args pretrained={model_dir}"))


def test_findings_are_sorted_errors_first(model_dir: Path, tasks_dir: Path) -> None:
    findings = check(clean(model_dir, tasks_dir, "--device cuda:0 --fewshot_as_multiturn"))
    levels = [f.level for f in findings]
    assert {"error", "warning"} <= set(levels)  # both levels are there, so the order below means something
    assert levels == sorted(levels, key=["error", "warning", "info"].index)


def test_closed_mera_test_without_predict_only(model_dir: Path, tmp_path: Path) -> None:
    base = f"lm_eval --model hf --model_args pretrained={model_dir} "
    assert "closed-test-without-predict-only" in codes(check(base + "--tasks rummlu", tasks=False))
    assert "closed-test-without-predict-only" not in codes(check(base + "--output_path o --predict_only --tasks rummlu",
                                                                  tasks=False))
    assert "closed-test-without-predict-only" not in codes(check(base + "--tasks rummlu_localscore", tasks=False))


def test_task_folder_with_fork_only_keys(model_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "benchmark_tasks"
    folder.mkdir()
    (folder / "rutie.yaml").write_text("task: rutie\ndataset_path: json\ncontext_based: true\noutput_type: multiple_choice\n",
                                       encoding="utf-8")
    findings = check(f"lm_eval --model hf --model_args pretrained={model_dir} --include_path {folder} --tasks rutie",
                     tasks=False)
    from mera_magic.lmeval.compat import lm_eval_info

    fork_keys_known = "context_based" in (lm_eval_info().task_fields or ())
    assert any("context_based" in f.message for f in findings) is not fork_keys_known
