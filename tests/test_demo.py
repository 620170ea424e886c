"""mera_magic.demo: the offline tiny model (build, determinism, reuse) and the MERA-format demo tasks."""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from conftest import SCORED_TASKS

from mera_magic import demo
from mera_magic.demo.model import STAMP_NAME

DOMAINS = ("elementary_mathematics", "high_school_biology", "high_school_geography")


def _digests(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()
    }


def _mtimes(folder: Path) -> dict[str, int]:
    return {
        str(p.relative_to(folder)): p.stat().st_mtime_ns for p in sorted(folder.rglob("*")) if p.is_file()
    }


def _utils(tasks_dir: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("demo_task_utils", tasks_dir / "utils.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _results(output: Path) -> dict[str, Any]:
    files = sorted(output.rglob("results_*.json"))
    assert len(files) == 1, files
    return json.loads(files[0].read_text(encoding="utf-8"))


def _samples(output: Path, task: str) -> list[dict[str, Any]]:
    pattern = re.compile(rf"samples_{re.escape(task)}_\d{{4}}-\d\d-\d\dT.*\.jsonl")  # not parus_gen for parus
    files = sorted(p for p in output.rglob("samples_*.jsonl") if pattern.fullmatch(p.name))
    assert len(files) == 1, files
    return [json.loads(line) for line in files[0].read_text(encoding="utf-8").splitlines() if line.strip()]


def _records(tasks_dir: Path, dataset: str, split: str) -> list[dict[str, Any]]:
    text = (tasks_dir / "records" / dataset / f"{split}.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


# ----------------------------------------------------------------------------------------------- model


@pytest.mark.slow
def test_two_builds_are_byte_identical(tmp_path: Path) -> None:
    first = demo.build_model(tmp_path / "a", train_steps=10, seed=3)
    second = demo.build_model(tmp_path / "b", train_steps=10, seed=3)
    assert _digests(first) == _digests(second)
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", STAMP_NAME} <= set(
        _digests(first)
    )
    other_seed = demo.build_model(tmp_path / "c", train_steps=10, seed=4)
    assert _digests(other_seed)["model.safetensors"] != _digests(first)["model.safetensors"]


@pytest.mark.slow
def test_complete_build_is_reused_and_a_broken_or_different_one_rebuilt(tmp_path: Path) -> None:
    folder = demo.build_model(tmp_path / "m", train_steps=0)
    digests, mtimes = _digests(folder), _mtimes(folder)
    assert demo.build_model(folder, train_steps=0) == folder
    assert _mtimes(folder) == mtimes  # nothing rewritten

    (folder / "tokenizer.json").write_text("{}", encoding="utf-8")  # a damaged build is not "complete"
    demo.build_model(folder, train_steps=0)
    assert _digests(folder) == digests

    demo.build_model(folder, train_steps=0, seed=1)  # other settings: rebuilt in place
    stamp = json.loads((folder / STAMP_NAME).read_text(encoding="utf-8"))
    assert stamp["settings"]["seed"] == 1
    assert _digests(folder)["model.safetensors"] != digests["model.safetensors"]
    assert not [p for p in tmp_path.iterdir() if p.name != "m"]  # no staging folder left behind


@pytest.mark.slow
def test_default_folder_is_in_the_cache_and_keyed_by_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MERA_MAGIC_CACHE", str(tmp_path / "cache"))
    first = demo.build_model(train_steps=0)
    assert first.parent == tmp_path / "cache" and first.name.startswith("demo-model-")
    assert demo.build_model(train_steps=0, seed=5) != first
    assert demo.build_model(train_steps=0) == first


@pytest.mark.slow
def test_build_restores_torch_settings_and_random_state(tmp_path: Path) -> None:
    import torch

    threads = torch.get_num_threads()
    deterministic = torch.are_deterministic_algorithms_enabled()
    rng_state = torch.random.get_rng_state()
    demo.build_model(tmp_path / "m", train_steps=2)
    assert torch.get_num_threads() == threads
    assert torch.are_deterministic_algorithms_enabled() == deterministic
    assert torch.equal(torch.random.get_rng_state(), rng_state)


@pytest.mark.parametrize(
    "kwargs", [{"train_steps": -1}, {"train_steps": 1.5}, {"train_steps": True}, {"seed": "0"}]
)
def test_bad_build_arguments_are_mera_errors(kwargs: dict[str, Any], tmp_path: Path) -> None:
    with pytest.raises(demo.DemoModelError, match="must be"):
        demo.build_model(tmp_path / "m", **kwargs)
    assert not (tmp_path / "m").exists()


def test_unwritable_folder_is_a_mera_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder", encoding="utf-8")
    with pytest.raises(demo.DemoModelError, match="Cannot create the demo model folder"):
        demo.build_model(blocker / "model", train_steps=0)


@pytest.mark.slow
def test_model_generates_and_its_chat_template_applies(demo_model: Path) -> None:
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    config = AutoConfig.from_pretrained(demo_model)
    assert config.model_type == "llama"
    assert config.hidden_size // config.num_attention_heads >= 32  # vLLM-CPU's attention needs head_dim >= 32
    tokenizer = AutoTokenizer.from_pretrained(demo_model)
    assert (tokenizer.bos_token, tokenizer.eos_token, tokenizer.pad_token, tokenizer.unk_token) == (
        "<s>", "</s>", "<pad>", "<unk>",
    )  # fmt: skip
    model = AutoModelForCausalLM.from_pretrained(demo_model)
    prompt = tokenizer("Напишите ответ для математического выражения.\n2 + 3 =", return_tensors="pt")
    output = model.generate(**prompt, max_new_tokens=4, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    assert output.shape[1] > prompt["input_ids"].shape[1]
    assert isinstance(tokenizer.decode(output[0], skip_special_tokens=True), str)

    messages = [
        {"role": "system", "content": "Ты помощник."},
        {"role": "user", "content": "Сколько будет 2 + 2?"},
    ]
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert text == "<|system|>\nТы помощник.</s>\n<|user|>\nСколько будет 2 + 2?</s>\n<|assistant|>\n"
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    for marker in ("<|system|>", "<|user|>", "<|assistant|>", "</s>"):
        assert tokenizer.convert_tokens_to_ids(marker) in ids  # the markers are single special tokens
    with pytest.raises(Exception, match="roles system, user and assistant"):
        tokenizer.apply_chat_template([{"role": "tool", "content": "x"}], tokenize=False)


@pytest.mark.slow
def test_training_lowers_the_loss_on_the_demo_answers(demo_model: Path, tmp_path: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    untrained = demo.build_model(tmp_path / "untrained", train_steps=0)
    tokenizer = AutoTokenizer.from_pretrained(demo_model)
    texts = ["Напишите ответ для математического выражения.\n3 + 4 = 7", "2 + 2 = 4"]
    texts += [
        f"{r['instruction'].format(**r['inputs']).strip()} {r['outputs']}" for r in demo_parus_records()
    ]

    def loss(folder: Path) -> float:
        model = AutoModelForCausalLM.from_pretrained(folder).eval()
        values = []
        with torch.no_grad():
            for text in texts:
                batch = tokenizer(text, return_tensors="pt")
                values.append(float(model(**batch, labels=batch["input_ids"]).loss))
        return sum(values) / len(values)

    assert loss(demo_model) < loss(untrained) - 1.0


def demo_parus_records() -> list[dict[str, Any]]:
    from mera_magic.demo._resources import iter_records

    return list(iter_records("parus", "test"))


# ----------------------------------------------------------------------------------------------- tasks


def test_task_names_and_sets() -> None:
    assert len(demo.TASKS) == len(set(demo.TASKS))
    assert (set(demo.REGULAR_TASKS) | set(demo.GEN_TASKS) | set(demo.LOCALSCORE_TASKS) | set(demo.SPECIAL_TASKS)
            == set(demo.TASKS))
    assert all(name.endswith("_gen") or name in demo.REGULAR_TASKS for name in demo.GEN_TASKS)
    assert set(demo.CLOSED_TASKS) <= set(demo.TASKS)


def test_write_tasks_writes_absolute_paths_and_is_idempotent(tmp_path: Path) -> None:
    dest = tmp_path / "odd 'name\" [x]"  # characters that need quoting in YAML
    folder = demo.write_tasks(dest)
    assert folder == dest.resolve()
    yamls = sorted(folder.glob("*.yaml"))
    assert {p.stem for p in yamls} >= set(demo.TASKS)
    for path in yamls:
        assert "@RECORDS@" not in path.read_text(encoding="utf-8")
    before = _mtimes(folder)
    assert demo.write_tasks(dest) == folder
    assert _mtimes(folder) == before

    (folder / "parus.yaml").write_text("task: broken\n", encoding="utf-8")  # a changed file is rewritten
    demo.write_tasks(dest)
    assert "include:" in (folder / "parus.yaml").read_text(encoding="utf-8")


def test_default_task_folder_is_in_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MERA_MAGIC_CACHE", str(tmp_path))
    folder = demo.write_tasks()
    assert folder == demo.default_tasks_dir() and folder.parent == tmp_path
    assert (folder / "rummlu.yaml").is_file()


def test_records_have_the_mera_shape(demo_tasks: Path) -> None:
    for dataset_dir in sorted((demo_tasks / "records").iterdir()):
        splits = ("test",) if dataset_dir.name == "ruhumaneval" else ("train", "test")  # MERA's has no train split
        for split in splits:
            records = _records(demo_tasks, dataset_dir.name, split)
            assert 9 <= len(records) <= 20, (dataset_dir.name, split)
            ids = [r["meta"]["id"] for r in records]
            assert len(set(ids)) == len(ids)
            for record in records:
                assert set(record) == {"instruction", "inputs", "outputs", "meta"}
                # code tasks: one expected output per test, as in MERA's ruHumanEval
                assert isinstance(record["outputs"], list if dataset_dir.name == "ruhumaneval" else str)
                # the instruction formats with its inputs, as MERA's doc_to_text does (ruTiE's adds the dialogue)
                inputs = record["inputs"]
                extra = {"context": ""} if dataset_dir.name == "rutie" else {}
                if isinstance(inputs, dict):
                    record["instruction"].format(**inputs, **extra)
                else:
                    record["instruction"].format(inputs=inputs)
    assert {r["outputs"] for r in _records(demo_tasks, "rummlu", "test")} == {""}  # closed test
    assert {r["outputs"] for r in _records(demo_tasks, "rummlu", "train")} <= {"A", "B", "C", "D"}
    assert {r["meta"]["domain"] for r in _records(demo_tasks, "rummlu", "test")} == set(DOMAINS)


def test_every_task_loads_through_the_task_manager(
    demo_tasks: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lm_eval.tasks import TaskManager, get_task_dict

    monkeypatch.chdir(tmp_path)  # the data paths must not depend on the working directory
    manager = TaskManager(include_path=str(demo_tasks), include_defaults=False)
    assert set(demo.TASKS) | {demo.TAG, demo.GEN_TAG, demo.LOCAL_TAG, demo.SPECIAL_TAG} == set(manager.all_tasks)
    # lm_eval 0.4.4 does not put a class-based task (rutie) under its tag; 0.4.13 does
    assert "ruhumaneval" in set(get_task_dict([demo.SPECIAL_TAG], manager)) <= set(demo.SPECIAL_TASKS)
    assert set(get_task_dict([demo.TAG], manager)) == set(demo.REGULAR_TASKS)
    assert set(get_task_dict([demo.GEN_TAG], manager)) == set(demo.GEN_TASKS)
    assert set(get_task_dict([demo.LOCAL_TAG], manager)) == set(demo.LOCALSCORE_TASKS)

    tasks = get_task_dict(list(demo.TASKS), manager)
    for name, task in tasks.items():
        docs = list(task.test_docs())
        assert 12 <= len(docs) <= 20, name
        assert task.doc_to_text(docs[0]).endswith(("Ответ:", "=", '"""\n'))
        expected = "generate_until" if name in (*demo.GEN_TASKS, "ruhumaneval") else "multiple_choice"
        assert task.OUTPUT_TYPE == expected, name
        if name in demo.CLOSED_TASKS:
            assert all(doc["outputs"] == "" for doc in docs)
        elif name == "ruhumaneval":
            assert all(doc["outputs"] for doc in docs) and task.config.repeats == 5
        else:
            assert all(doc["outputs"] for doc in docs)
    local = [doc["meta"]["id"] for doc in tasks["rummlu_localscore"].test_docs()]
    assert local == [r["meta"]["id"] for r in _records(demo_tasks, "rummlu", "train")]


def test_process_results_scores_per_domain_and_closed_documents_zero(demo_tasks: Path) -> None:
    utils = _utils(demo_tasks)
    doc = {"outputs": "C", "meta": {"domain": "high_school_biology"}}
    lls = [(-3.0, False), (-2.0, False), (-0.5, True), (-4.0, False)]
    assert utils.process_results(doc, lls) == {"acc": 1.0, "acc.high_school_biology": 1.0}
    assert utils.process_results(dict(doc, outputs="A"), lls) == {"acc": 0.0, "acc.high_school_biology": 0.0}
    assert utils.process_results(dict(doc, outputs=""), lls) == {"acc": 0.0, "acc.high_school_biology": 0.0}
    assert utils.process_results(doc, ["C"]) == {"em": 1.0, "em.high_school_biology": 1.0}
    assert utils.process_results(dict(doc, outputs=""), ["-1"]) == {"em": 0.0, "em.high_school_biology": 0.0}


def test_macro_f1_matches_scikit_learn(demo_tasks: Path) -> None:
    from sklearn.metrics import f1_score

    utils = _utils(demo_tasks)
    golds = [0, 0, 1, 1, 2, 2, 2, 0, 1]
    preds = [0, 1, 1, 1, 2, 0, 0, 0, 2]
    expected = f1_score(golds, preds, average="macro")
    assert utils.macro_f1(list(zip(golds, preds))) == pytest.approx(expected)
    assert utils.macro_f1([(0, 0), (0, 1)]) == pytest.approx(f1_score([0, 0], [0, 1], average="macro"))


# ----------------------------------------------------------------------------------------------- CLI runs


@pytest.mark.slow
def test_scored_cli_run_writes_results_and_samples(demo_scored_output: Path, demo_tasks: Path) -> None:
    results = _results(demo_scored_output)
    assert set(results["results"]) == set(SCORED_TASKS)
    metrics = {
        "parus": ["acc,scoring"],
        "rcb": ["acc,scoring", "f1,scoring"],
        "simplear": ["exact_match,scoring"],
        "parus_gen": ["exact_match,scoring"],
        "rummlu_localscore": ["acc,scoring"] + [f"acc.{d},scoring" for d in DOMAINS],
    }
    for task, names in metrics.items():
        for name in names:
            assert 0.0 <= results["results"][task][name] <= 1.0, (task, name)
    sizes = {"parus": 16, "rcb": 12, "simplear": 16, "parus_gen": 16, "rummlu_localscore": 15}
    for task, size in sizes.items():
        samples = _samples(demo_scored_output, task)
        assert sorted(s["doc_id"] for s in samples) == list(range(size))
    parus = _samples(demo_scored_output, "parus")
    assert all(len(s["filtered_resps"]) == 2 for s in parus)  # one loglikelihood per choice
    assert all(s["doc"]["meta"]["id"] == s["doc_id"] for s in parus)
    assert str(demo_tasks) in json.dumps(results["configs"]["parus"]["dataset_kwargs"])  # absolute data path


@pytest.mark.slow
def test_localscore_variant_yields_real_per_domain_metrics(demo_scored_output: Path) -> None:
    scores = _results(demo_scored_output)["results"]["rummlu_localscore"]
    samples = _samples(demo_scored_output, "rummlu_localscore")
    assert all(s["target"] in {"A", "B", "C", "D"} for s in samples)  # open answers, unlike rummlu's test
    by_domain: dict[str, list[float]] = {}
    for sample in samples:
        by_domain.setdefault(sample["doc"]["meta"]["domain"], []).append(sample["acc"])
    assert set(by_domain) == set(DOMAINS)
    for domain, values in by_domain.items():
        assert scores[f"acc.{domain},scoring"] == pytest.approx(sum(values) / len(values))
    overall = [v for values in by_domain.values() for v in values]
    assert scores["acc,scoring"] == pytest.approx(sum(overall) / len(overall))


@pytest.mark.slow
def test_predict_only_runs_every_regular_task_including_the_closed_one(demo_predict_output: Path) -> None:
    results = _results(demo_predict_output)
    assert set(results["results"]) == set(demo.REGULAR_TASKS)
    rummlu = _samples(demo_predict_output, "rummlu")
    assert len(rummlu) == 15
    assert all(s["doc"]["outputs"] == "" and len(s["filtered_resps"]) == 4 for s in rummlu)
    for sample in rummlu:
        float(sample["filtered_resps"][0][0])  # a real loglikelihood per letter, to pack a submission from
    simplear = _samples(demo_predict_output, "simplear")
    assert all(isinstance(s["filtered_resps"][0], str) for s in simplear)


def test_written_task_folder_does_not_need_mera_magic(demo_tasks: Path) -> None:
    tree = ast.parse((demo_tasks / "utils.py").read_text(encoding="utf-8"))
    imported = [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    imported += [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    assert imported and not [name for name in imported if name.split(".")[0] == "mera_magic"]


# ----------------------------------------------------------------------------------------------- special tasks


def _code_utils(tasks_dir: Path) -> ModuleType:
    import sys

    if "demo_code_utils" in sys.modules:
        return sys.modules["demo_code_utils"]
    spec = importlib.util.spec_from_file_location("demo_code_utils", tasks_dir / "code_utils.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules["demo_code_utils"] = module
    return module


def test_code_task_runs_the_generated_code_on_the_tests(demo_tasks: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    code = _code_utils(demo_tasks)
    doc = next(r for r in _records(demo_tasks, "ruhumaneval", "test") if r["meta"]["entry_point"] == "add")
    right, wrong = "    return a + b\n", "    return a - b\n"
    assert code.run_tests(doc, right) == doc["outputs"]
    assert code.run_tests(doc, wrong) != doc["outputs"]
    assert code.run_tests(doc, "    return (\n") == ["error: SyntaxError"] * len(doc["outputs"])
    assert code.run_tests(doc, "```python\n    return b + a\n```") == doc["outputs"]  # fences removed, as MERA does
    # the code runs elsewhere: its files do not land in our folder, and a hanging program is stopped
    monkeypatch.chdir(tmp_path)
    code.run_tests(doc, "    open('escaped.txt', 'w').write('x')\n    return a + b\n")
    assert not (tmp_path / "escaped.txt").exists()
    monkeypatch.setattr(code, "TIMEOUT", 1.0)
    assert code.run_tests(doc, "    while True:\n        pass\n") == ["error: timeout"] * len(doc["outputs"])

    filtered = code.CodeScoring().apply([[right, wrong, right, wrong, wrong]], [doc])
    metrics = code.process_results(doc, filtered)
    assert metrics["pass@1"] == pytest.approx(2 / 5)  # 2 of 5 samples pass
    assert metrics["pass@5"] == 1.0
    assert code.pass_at_k(5, 0, 1) == 0.0 and code.pass_at_k(10, 3, 5) == pytest.approx(1 - 21 / 252)


def test_every_code_problem_is_solved_by_its_canonical_solution(demo_tasks: Path) -> None:
    code = _code_utils(demo_tasks)
    for doc in _records(demo_tasks, "ruhumaneval", "test"):
        body = doc["meta"]["canonical_solution"].split("\n", 1)[1]  # the body after the def line
        assert code.run_tests(doc, body) == doc["outputs"], doc["meta"]["entry_point"]


def test_dialogue_records_are_shaped_like_rutie(demo_tasks: Path) -> None:
    for split in ("train", "test"):
        records = _records(demo_tasks, "rutie", split)
        assert [(r["meta"]["dialog_id"], r["meta"]["question_id"]) for r in records] == sorted(
            (r["meta"]["dialog_id"], r["meta"]["question_id"]) for r in records)
        assert all("{context}" in r["instruction"] for r in records)
        assert any(r["meta"]["use_context"] for r in records)
    assert {r["outputs"] for r in _records(demo_tasks, "rutie", "test")} == {""}  # closed, as MERA's ruTiE


@pytest.mark.slow
def test_special_tasks_run_through_the_cli(cli_output: Any) -> None:
    output = cli_output(demo.SPECIAL_TASKS, "--log_samples", "--limit", "4", "--gen_kwargs",
                        "temperature=0.6,do_sample=True")
    results = _results(output)
    assert {"rutie", "ruhumaneval"} <= set(results["results"])
    assert {"pass@1,scoring", "pass@5,scoring"} <= set(results["results"]["ruhumaneval"])
    code = _samples(output, "ruhumaneval")
    assert all(len(s["resps"][0]) == 5 for s in code)  # repeats
    assert any(len(set(s["resps"][0])) > 1 for s in code)  # sampled: the generations differ
    assert all(len(s["filtered_resps"][0]) == 5 for s in code)  # one list of test outputs per generation
    dialogue = _samples(output, "rutie")
    assert "Твой ответ:" in dialogue[1]["arguments"]["gen_args_0"]["arg_0"]
