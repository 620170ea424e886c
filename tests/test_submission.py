"""mera_magic.submission: archives built from samples that the real lm_eval CLI writes in the test.

The tasks are MERA-shaped: every one of the 23 MERA tasks (and the 14 ``_gen`` twins) exists as a small task
in MERA's record format (``instruction`` / ``inputs`` / ``outputs`` / ``meta``), with MERA's output types,
choices, few-shot counts, ``_gen`` filters, ruTiE's dialogue ids, USE's meta, ruEthics' outputs and, for
ruDetox and the code tasks, scoring filters that write the shapes MERA's filters write (``[sta, sim, fl, j,
text]``; per generation, the outputs of each test) without MERA's classifiers or code execution.  The model is
mera_magic's demo model (a tiny Llama built offline), copied under two names to play two models.
"""

from __future__ import annotations

import ast
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from mera_magic import catalog, demo
from mera_magic.errors import SubmissionError
from mera_magic.spec import MASK
from mera_magic.submission import samples_files, submission, validate_archive

pytestmark = pytest.mark.slow

N_TEST = 4
FILTERS_PY = '''
"""Scoring filters shaped like MERA's: they write what MERA's filters write, without models or code runs."""
import ast

from lm_eval.api.filter import Filter
from lm_eval.api.registry import register_filter


def identity(dataset):
    return dataset


@register_filter("shaped_detox")
class ShapedDetox(Filter):
    def apply(self, resps, docs):
        return [[0.5, 0.25, 0.75, 0.1, r[0]] for r in resps]


@register_filter("shaped_code")
class ShapedCode(Filter):
    def apply(self, resps, docs):
        out = []
        for gens, doc in zip(resps, docs):
            tests = ast.literal_eval(doc["inputs"]["tests"])
            out.append([[f"{g}:{i}" for i in range(len(tests))] for g in gens])
        return out
'''


def _meta(task: catalog.MeraTask, i: int) -> dict[str, Any]:
    if task.name == "rutie":
        return {"dialog_id": 0, "question_id": i, "category": ["memory"], "use_context": i > 0}
    meta: dict[str, Any] = {"id": 100 + 7 * i}  # ids unlike doc_id: they must come from doc.meta
    if task.name == "use":
        meta.update({"id_task": str(1 + i % 3), "variant": 1 + i % 2, "score": 1, "type": "text"})
    if task.name == "ruethics":
        meta["question"] = "correct"
    return meta


def _record(task: catalog.MeraTask, i: int) -> dict[str, Any]:
    inputs: Any = {"text": f"Вопрос номер {i} для {task.name}", "option_a": "а", "option_b": "б"}
    outputs: Any = ""
    if task.name in ("ruhumaneval", "rucodeeval"):
        inputs = {"function": f"def f{i}(a):\n    '''Верните a.'''\n", "tests": str([{"a": k} for k in range(2 + i)])}
        outputs = [""] * (2 + i)
    if task.name == "ruethics":
        outputs = {c: "" for c in catalog.ETHICS_CRITERIA}
    return {"instruction": "Задание: {text}\nОтвет:" if "text" in inputs else "Задание: {function}",
            "inputs": inputs, "outputs": outputs, "meta": _meta(task, i)}


def _yaml(task: catalog.MeraTask, name: str, data: Path, *, gen_twin: bool) -> str:
    lines = [
        f"task: {name}",
        "dataset_path: json",
        f"dataset_kwargs: {{data_files: {{train: {data / 'train.jsonl'}, test: {data / 'test.jsonl'}}}}}",
        "training_split: train",
        "fewshot_split: train",
        "test_split: test",
        'doc_to_text: "{{instruction.format(**inputs)}}"',
        f"num_fewshot: {task.fewshot}",
        "process_docs: !function utils.identity",
        "metadata: {version: 1.0}",
    ]
    if task.is_multiple_choice and not gen_twin:
        lines += ["output_type: multiple_choice", f"doc_to_choice: {json.dumps(list(task.choices or ()))}",
                  "doc_to_target: 0", "metric_list: [{metric: acc}]"]
        return "\n".join(lines) + "\n"
    lines += ["output_type: generate_until", 'doc_to_target: "{{outputs}}"', "metric_list: [{metric: exact_match}]",
              "generation_kwargs: {until: [\"\\n\"], do_sample: false}"]
    if gen_twin:
        pattern = "([ABCD])" if task.choices == ("A", "B", "C", "D") else "([0-9])"
        lines.append("filter_list: [{name: scoring, filter: [{function: regex, regex_pattern: '" + pattern
                     + "', fallback: '-1'}, {function: take_first}]}]")
    elif task.name == "rudetox":
        lines.append("filter_list: [{name: scoring, filter: [{function: shaped_detox}]}]")
    elif task.outputs == "list":
        lines += ["repeats: 2", "filter_list: [{name: scoring, filter: [{function: shaped_code}]}]"]
    return "\n".join(lines) + "\n"


def write_mera_shaped_tasks(root: Path) -> Path:
    """The 23 MERA tasks and 14 ``_gen`` twins as small local tasks; returns the --include_path folder."""
    tasks_dir = root / "tasks"
    tasks_dir.mkdir(parents=True)
    (tasks_dir / "utils.py").write_text(FILTERS_PY, encoding="utf-8")
    for task in catalog.TASKS:
        data = root / "data" / task.name
        data.mkdir(parents=True)
        for split, n in (("train", 2), ("test", N_TEST)):
            rows = [_record(task, i) for i in range(n)]
            (data / f"{split}.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                                 encoding="utf-8")
        (tasks_dir / f"{task.name}.yaml").write_text(_yaml(task, task.name, data, gen_twin=False), encoding="utf-8")
        if task.gen_twin:
            (tasks_dir / f"{task.gen_twin}.yaml").write_text(_yaml(task, task.gen_twin, data, gen_twin=True),
                                                             encoding="utf-8")
    return tasks_dir


def run_lm_eval(root: Path, out: str, tasks: list[str], model: str, *extra: str) -> Path:
    """The real lm_eval CLI, the way MERA's scripts call it (--predict_only --log_samples), run in ``root``."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "HF_HOME": str(root / "hf_home"), "TOKENIZERS_PARALLELISM": "false"}
    cmd = [sys.executable, "-m", "lm_eval", "--model", "hf", "--model_args", f"pretrained={model},dtype=float32",
           "--device", "cpu", "--batch_size", "8", "--gen_kwargs", "max_gen_toks=6",
           "--tasks", ",".join(tasks), "--include_path", "tasks", "--output_path", out,
           "--predict_only", "--log_samples", "--seed", "1234", *extra]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return root / out


@pytest.fixture(scope="module")
def mera_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One real run of all 37 tasks by model-a, then: a rerun of parus and rutie by model-a (0-shot), a run of
    bps by model-b, a run of lcs by model-a with --limit 2 -- each in its own output folder."""
    root = tmp_path_factory.mktemp("mera_runs")
    tasks_dir = write_mera_shaped_tasks(root)
    built = demo.build_model()  # cached between sessions
    for name in ("model-a", "model-b"):
        shutil.copytree(built, root / "org" / name)
    runs = {"full": run_lm_eval(root, "full", [n for n, _ in catalog.suite("mera_all")], "org/model-a")}
    for name, tasks, model, args in (("rerun", ["parus", "rutie"], "org/model-a", ["--num_fewshot", "0"]),
                                     ("other_model", ["bps"], "org/model-b", []),
                                     ("limited", ["lcs"], "org/model-a", ["--limit", "2"])):
        runs[name] = run_lm_eval(root, name, tasks, model, *args)
    return {"root": root, "tasks": tasks_dir, **runs}


def _copy_full(mera_runs: dict[str, Path], tmp_path: Path, *add: str) -> Path:
    """A copy of the complete output folder, merged with the extra runs named in ``add``."""
    out = tmp_path / "out"
    shutil.copytree(mera_runs["full"], out)
    for name in add:
        shutil.copytree(mera_runs[name], out, dirs_exist_ok=True)
    return out


def _samples(folder: Path, task: str) -> list[dict[str, Any]]:
    files = [f for f in samples_files(folder)[0] if f.task == task]
    newest = max(files, key=lambda f: f.when)
    return [json.loads(line) for line in newest.path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _archive(path: Path) -> dict[str, Any]:
    with zipfile.ZipFile(path) as zf:
        return {n: (zf.read(n) if n.endswith(".zip") else json.loads(zf.read(n))) for n in zf.namelist()}


def _expected_ids(task: catalog.MeraTask) -> list[Any]:
    return [tuple(_meta(task, i)[k] for k in task.meta_keys) for i in range(N_TEST)]


def test_regular_archive_file_by_file(mera_runs: dict[str, Path], tmp_path: Path) -> None:
    out = _copy_full(mera_runs, tmp_path)
    sub = submission(out)
    assert sub.ok and not sub.errors and not sub.partial
    assert sub.path == tmp_path / "out_submission.zip"
    assert sub.model == "org/model-a"
    files = _archive(sub.path)
    # the zip's root: the 23 task files and logs_public.zip, no folder
    assert sorted(files) == sorted([t.submission_file for t in catalog.TASKS] + ["logs_public.zip"])
    for task in catalog.TASKS:
        docs = files[task.submission_file]["data"]["test"]
        rows = {tuple(r["doc"]["meta"][k] for k in task.meta_keys): r for r in _samples(out, task.name)}
        assert sorted(tuple(d["meta"][k] for k in task.meta_keys) for d in docs) == sorted(_expected_ids(task))
        for doc in docs:
            key = tuple(doc["meta"][k] for k in task.meta_keys)
            assert set(doc["meta"]) == set(task.meta_keys), task.name
            row = rows[key]
            fr = row["filtered_resps"]
            if task.is_multiple_choice:
                scores = [float(pair[0]) for pair in fr]
                best = task.choices[scores.index(max(scores))]
                expected: Any = {c: best for c in catalog.ETHICS_CRITERIA} if task.name == "ruethics" else best
            elif task.name == "rudetox":
                assert len(fr[0]) == 5
                expected = fr[0][-1]
            elif task.outputs == "list":
                expected = fr
                n_tests = len(ast.literal_eval(row["doc"]["inputs"]["tests"]))
                assert len(doc["outputs"][0]) == 2 and all(len(g) == n_tests for g in doc["outputs"][0])
            else:
                expected = fr[0]
            assert doc["outputs"] == expected, task.name
        if task.name == "use":
            assert {d["meta"]["id_task"] for d in docs} == {"1", "2", "3"}
        if task.name == "rutie":
            assert [d["meta"]["question_id"] for d in docs] == list(range(N_TEST))
    assert validate_archive(sub.path) == []


def test_logs_public_holds_the_samples_used_and_hashes_rutie_prompts(mera_runs: dict[str, Path],
                                                                     tmp_path: Path) -> None:
    out = _copy_full(mera_runs, tmp_path)
    # a token given in --model_args is recorded in the results file; the demo model takes none, so the file is
    # edited the way lm_eval would have written it
    results = next(out.rglob("results_*.json"))
    raw = json.loads(results.read_text(encoding="utf-8"))
    raw["config"]["model_args"] = "pretrained=org/model-a,auth_token=s3cr3t-value"
    results.write_text(json.dumps(raw), encoding="utf-8")
    sub = submission(out)
    with zipfile.ZipFile(sub.path) as zf, zipfile.ZipFile(io.BytesIO(zf.read("logs_public.zip"))) as logs:
        packed = json.loads(logs.read(results.name))
        assert packed["config"]["model_args"] == f"pretrained=org/model-a,auth_token={MASK}"
        assert all(b"s3cr3t" not in logs.read(n) for n in logs.namelist())
        names = logs.namelist()
        assert sorted(n for n in names if n.startswith("samples_")) == sorted(e.file.name for e in sub.entries)
        stamp = sub.entries[0].file.name[len("samples_simplear_"):-len(".jsonl")]
        assert [n for n in names if n.startswith("results_")] == [f"results_{stamp}.json"]
        rutie_name = next(n for n in names if n.startswith("samples_rutie_"))
        logged = [json.loads(x) for x in logs.read(rutie_name).decode().splitlines()]
        original = _samples(out, "rutie")
        for got, row in zip(logged, original):
            for key, req in row["arguments"].items():
                assert got["arguments"][key]["arg_0"] == hashlib.sha256(req["arg_0"].encode()).hexdigest()
        parus_name = next(n for n in names if n.startswith("samples_parus_"))
        assert "Задание" in logs.read(parus_name).decode()


def test_generative_archive(mera_runs: dict[str, Path], tmp_path: Path) -> None:
    out = _copy_full(mera_runs, tmp_path)
    sub = submission(out, gen=True, dst=tmp_path / "gen.zip")
    assert sub.ok and sub.path == tmp_path / "gen.zip"
    files = _archive(sub.path)
    for task in catalog.TASKS:
        entry = next(e for e in sub.entries if e.task is task)
        assert entry.source == task.task_name(gen=True)
        docs = files[task.submission_file]["data"]["test"]
        rows = {tuple(r["doc"]["meta"][k] for k in task.meta_keys): r for r in _samples(out, entry.source)}
        assert len(docs) == N_TEST
        for doc in docs:
            fr = rows[tuple(doc["meta"][k] for k in task.meta_keys)]["filtered_resps"]
            if task.gen_twin:  # MERA's regex filter keeps one digit or letter, else "-1"
                assert re.fullmatch(r"-1|[0-9]|[ABCD]", fr[0])
                expected = {c: fr[0] for c in catalog.ETHICS_CRITERIA} if task.name == "ruethics" else fr[0]
            else:
                expected = fr[0][-1] if task.name == "rudetox" else fr if task.outputs == "list" else fr[0]
            assert doc["outputs"] == expected, task.name
    assert validate_archive(sub.path) == []


def test_missing_task_is_an_error_naming_task_and_folder(mera_runs: dict[str, Path], tmp_path: Path) -> None:
    out = _copy_full(mera_runs, tmp_path)
    for f in samples_files(out)[0]:
        if f.task == "rwsd":
            f.path.unlink()
    with pytest.raises(SubmissionError) as err:
        submission(out)
    text = str(err.value)
    assert "no samples" in text and "task rwsd in folder" in text and str(out.resolve()) in text
    assert "rwsd_gen" in text and "gen=True" in text  # the generative twin is there
    assert not (tmp_path / "out_submission.zip").exists()
    report = err.value.submission  # type: ignore[attr-defined]
    assert [e.status for e in report.entries if e.task.name == "rwsd"] == ["missing"]

    partial = submission(out, allow_partial=True)
    assert partial.partial and not partial.ok and partial.path is not None
    assert "RWSD.json" not in _archive(partial.path)
    assert any(f.code == "partial" and "RWSD" in f.message for f in partial.findings)
    assert [f.code for f in validate_archive(partial.path) if f.level == "error"] == ["no_task"]


def test_other_model_in_the_folder_is_reported(mera_runs: dict[str, Path], tmp_path: Path) -> None:
    out = _copy_full(mera_runs, tmp_path, "other_model")
    with pytest.raises(SubmissionError) as err:
        submission(out)
    assert "the newest samples file for bps" in str(err.value) and "org/model-b" in str(err.value)
    assert "org/model-a" in str(err.value) and "model='org/model-a'" in str(err.value)
    sub = submission(out, model="org/model-a")
    bps = next(e for e in sub.entries if e.task.name == "bps")
    assert bps.model == "org/model-a" and "org__model-a" in bps.file.parts
    with pytest.raises(SubmissionError, match="No samples of model 'org/model-c'"):
        submission(out, model="org/model-c")


def test_duplicate_runs_newest_wins_and_is_shown(mera_runs: dict[str, Path], tmp_path: Path) -> None:
    out = _copy_full(mera_runs, tmp_path, "rerun")
    sub = submission(out)
    parus = next(e for e in sub.entries if e.task.name == "parus")
    newest = max((f for f in samples_files(out)[0] if f.task == "parus"), key=lambda f: f.when)
    assert parus.file == newest.path and len(parus.older) == 1
    notes = [f.message for f in sub.findings if f.code == "duplicate_runs"]
    assert any("duplicate runs of parus" in m and newest.path.name in m for m in notes)
    # the rerun used --num_fewshot 0; MERA runs parus 1-shot
    assert any(f.code == "fewshot" and "parus ran 0-shot" in f.message for f in sub.warnings)
    rows = {r["doc"]["meta"]["id"]: r for r in _samples(out, "parus")}
    for doc in _archive(sub.path)["PARus.json"]["data"]["test"]:
        scores = [float(p[0]) for p in rows[doc["meta"]["id"]]["filtered_resps"]]
        assert doc["outputs"] == ("1", "2")[scores.index(max(scores))]
    assert "samples_parus" in repr(sub) and "duplicate runs of parus" in sub._repr_html_()


def test_limited_run_is_an_error(mera_runs: dict[str, Path], tmp_path: Path) -> None:
    out = _copy_full(mera_runs, tmp_path, "limited")
    with pytest.raises(SubmissionError) as err:
        submission(out)
    assert "lcs ran with --limit 2" in str(err.value) and "2 of 4 test documents" in str(err.value)


def test_corrupted_jsonl_line_is_named(mera_runs: dict[str, Path], tmp_path: Path) -> None:
    out = _copy_full(mera_runs, tmp_path)
    target = next(f for f in samples_files(out)[0] if f.task == "rcb").path
    lines = target.read_text(encoding="utf-8").splitlines(keepends=True)
    # a run killed while writing leaves a cut last line; lm_eval cannot be made to do that on demand here
    target.write_text("".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2], encoding="utf-8")
    with pytest.raises(SubmissionError) as err:
        submission(out)
    assert f"corrupted JSONL line {len(lines)} of" in str(err.value) and target.name in str(err.value)


def test_tasks_subset_needs_allow_partial(mera_runs: dict[str, Path], tmp_path: Path) -> None:
    out = _copy_full(mera_runs, tmp_path)
    with pytest.raises(SubmissionError, match="partial"):
        submission(out, tasks=["parus", "rcb"])
    sub = submission(out, tasks="parus,rcb", allow_partial=True, dst=tmp_path / "two")
    assert sub.path == tmp_path / "two" / "out_submission.zip"
    assert sorted(_archive(sub.path)) == ["PARus.json", "RCB.json", "logs_public.zip"]
    with pytest.raises(SubmissionError, match="gen=True"):
        submission(out, tasks=["parus_gen"], allow_partial=True)
    with pytest.raises(SubmissionError, match="public split"):
        submission(out, tasks=["rummlu_localscore"], allow_partial=True)


def _rewrite(src: Path, dst: Path, edit: Any) -> Path:
    """A copy of archive ``src`` with ``edit(files)`` applied to its {name: bytes} members."""
    with zipfile.ZipFile(src) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    edit(files)
    with zipfile.ZipFile(dst, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return dst


def _edit_json(files: dict[str, bytes], name: str, edit: Any) -> None:
    payload = json.loads(files[name])
    edit(payload)
    files[name] = json.dumps(payload).encode()


def test_validate_archive_applies_the_website_checks(mera_runs: dict[str, Path], tmp_path: Path) -> None:
    good = submission(_copy_full(mera_runs, tmp_path)).path
    assert good is not None and validate_archive(good) == []
    cases = {
        "no_task": lambda f: f.pop("RCB.json"),
        "extension": lambda f: f.update({"RCB.jsonl": f.pop("RCB.json")}),
        "unreadable_file": lambda f: f.update({"RCB.json": b"{not json"}),
        "no_data_field": lambda f: f.update({"RCB.json": b"{\"test\": []}"}),
        "no_split": lambda f: f.update({"RCB.json": b"{\"data\": {\"train\": []}}"}),
        "no_outputs_field_for_doc": lambda f: _edit_json(f, "RCB.json", lambda p: p["data"]["test"][1].pop("outputs")),
        "no_meta_field_for_doc": lambda f: _edit_json(f, "RCB.json", lambda p: p["data"]["test"][2].pop("meta")),
        "no_id_field_for_doc": lambda f: _edit_json(f, "ruTiE.json",
                                                    lambda p: p["data"]["test"][0]["meta"].pop("question_id")),
        "doc_output_type_error": lambda f: _edit_json(f, "ruEthics.json",
                                                      lambda p: p["data"]["test"][0].update(outputs="1")),
        "duplicate_id": lambda f: _edit_json(f, "RCB.json", lambda p: p["data"]["test"].append(p["data"]["test"][0])),
        "doc_parse_output_error": lambda f: _edit_json(f, "ruHumanEval.json",
                                                       lambda p: p["data"]["test"][0].update(outputs=[])),
    }
    for code, edit in cases.items():
        problems = validate_archive(_rewrite(good, tmp_path / f"{code}.zip", edit))
        assert [p.code for p in problems if p.level == "error"] == [code], (code, problems)
    nested = _rewrite(good, tmp_path / "nested.zip", lambda f: f.update({f"sub/{k}": f.pop(k) for k in list(f)}))
    codes = {p.code for p in validate_archive(nested)}
    assert {"not_at_root", "no_logs"} <= codes and not any(p.level == "error" for p in validate_archive(nested))
    wrong_case = _rewrite(good, tmp_path / "case.zip", lambda f: f.update({"rcb.json": f.pop("RCB.json")}))
    assert any(p.code == "no_task" and "rcb.json" in p.message for p in validate_archive(wrong_case))
    (tmp_path / "broken.zip").write_bytes(b"not a zip")
    assert [p.code for p in validate_archive(tmp_path / "broken.zip")] == ["unreadable_zip"]


def test_not_a_folder_or_no_samples(tmp_path: Path) -> None:
    with pytest.raises(SubmissionError, match="is not a folder"):
        submission(tmp_path / "nowhere")
    (tmp_path / "empty" / "some-model").mkdir(parents=True)
    with pytest.raises(SubmissionError, match="No lm_eval samples files"):
        submission(tmp_path / "empty")


# -- MERA_MULTIMODAL's archive ---------------------------------------------------------------------------------------------
#: six per-domain tasks of UniScienceVQA (merged into one file) and ruTiE-Vision (ids from dialogue and question),
#: each on the demo's rucommonvqa pictures; ruclevr is the demo's own
MM_EXTRA_TASK = """task: {task}
dataset_path: json
dataset_kwargs:
  data_files:
    test: "{data}"
test_split: test
output_type: generate_until
doc_to_image: !function mm_utils.doc_to_image
doc_to_text: !function mm_utils.doc_to_text
doc_to_target: "{{{{outputs}}}}"
generation_kwargs:
  until: ["\\n"]
  do_sample: false
  max_gen_toks: 4
metric_list:
  - metric: exact_match
"""
UNI_DOMAINS = ("applied_sciences", "business", "cultural_studies", "fundamental_sciences", "social_sciences",
               "health_and_medicine")


def _has_hf_multimodal() -> bool:
    from mera_magic.lmeval.backends import backend_names

    return "hf-multimodal" in backend_names()


needs_hf_multimodal = pytest.mark.skipif(not _has_hf_multimodal(),
                                         reason="this lm_eval has no hf-multimodal backend (it came with 0.4.5)")


@pytest.fixture(scope="module")
def mm_output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real in-process hf-multimodal run of ruclevr, the six UniScienceVQA domains and rutie_vision."""
    from mera_magic import run

    root = tmp_path_factory.mktemp("mm_submission")
    tasks = demo.write_vlm_tasks(root / "tasks")
    records = demo.vlm_tasks.read_test_records("rucommonvqa", tasks)
    names = []
    for number, domain in enumerate(UNI_DOMAINS):
        record = dict(records[number], meta={"id": 100 + number})
        (tasks / f"uni_{domain}.jsonl").write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
        names.append(f"unisciencevqa_{domain}")
        (tasks / f"{names[-1]}.yaml").write_text(
            MM_EXTRA_TASK.format(task=names[-1], data=tasks / f"uni_{domain}.jsonl"), encoding="utf-8")
    dialog = [dict(records[i], meta={"dialog_id": 2, "question_id": i}) for i in range(2)]
    (tasks / "rutie.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in dialog),
                                       encoding="utf-8")
    (tasks / "rutie_vision.yaml").write_text(MM_EXTRA_TASK.format(task="rutie_vision", data=tasks / "rutie.jsonl"),
                                             encoding="utf-8")
    out = root / "out"
    run(f"lm_eval --model hf-multimodal --model_args pretrained={demo.build_vlm()},max_images=1,dtype=float32 "
        f"--device cpu --batch_size 4 --include_path {tasks} --tasks ruclevr,rutie_vision,{','.join(names)} "
        f"--apply_chat_template --output_path {out} --log_samples", display=False)
    return out


@needs_hf_multimodal
def test_multimodal_archive_from_a_real_run(mm_output: Path, tmp_path: Path) -> None:
    with pytest.raises(SubmissionError, match="multimodal archive was not written") as err:
        submission(mm_output)  # chosen automatically: the folder holds multimodal runs only
    assert not list(mm_output.parent.glob("*.zip"))
    report = err.value.submission  # type: ignore[attr-defined]
    assert report.set_name == "multimodal" and any("aquaria" in f.message for f in report.errors)
    sub = submission(mm_output, allow_partial=True, dst=tmp_path)
    assert sub.path == tmp_path / "out_multimodal_submission.zip"
    assert {e.task.submission_name for e in sub.entries if e.included} == {"ruCLEVR", "UniScienceVQA", "ruTiE_Vision"}
    with zipfile.ZipFile(sub.path) as zf:
        assert sorted(zf.namelist()) == ["UniScienceVQA.json", "logs_public.zip", "ruCLEVR.json", "ruTiE_Vision.json"]
        files = {n: json.loads(zf.read(n)) for n in zf.namelist() if n.endswith(".json")}
        with zipfile.ZipFile(io.BytesIO(zf.read("logs_public.zip"))) as logs:
            logged = logs.namelist()
    samples = sorted(p.name for p in mm_output.rglob("samples_*.jsonl"))
    assert sorted(n for n in logged if n.startswith("samples_")) == samples and len(samples) == 8
    assert any(n.startswith("results_") for n in logged)
    uni = files["UniScienceVQA.json"]["data"]["test"]  # six domains merged into one file
    assert sorted(d["meta"]["id"] for d in uni) == list(range(100, 106))
    rutie = files["ruTiE_Vision.json"]["data"]["test"]
    assert sorted(d["meta"]["id"] for d in rutie) == [0 + 500 * 2 + 11, 1 + 500 * 2 + 11]  # MERA's packer's rule
    clevr = files["ruCLEVR.json"]["data"]["test"]
    lines = [json.loads(x) for p in mm_output.rglob("samples_ruclevr_*.jsonl") for x in p.read_text().splitlines()]
    assert [d["outputs"] for d in clevr] == [line["filtered_resps"][0] for line in lines]
    assert all(isinstance(d["outputs"], str) for docs in (uni, rutie, clevr) for d in docs)
    problems = validate_archive(sub.path, tasks="ruclevr,unisciencevqa,rutie_vision")
    assert not [p for p in problems if p.level == "error"], problems
    assert {p.code for p in validate_archive(sub.path) if p.level == "error"} == {"no_task"}


@needs_hf_multimodal
def test_multimodal_archive_missing_domain_and_mixed_folder(mm_output: Path, tmp_path: Path) -> None:
    copy = tmp_path / "out"
    shutil.copytree(mm_output, copy)
    next(copy.rglob("samples_unisciencevqa_business_*.jsonl")).unlink()
    with pytest.raises(SubmissionError) as err:
        submission(copy, allow_partial=False, tasks="ruclevr,unisciencevqa")
    message = str(err.value)
    assert "UniScienceVQA: no samples for unisciencevqa_business" in message and "all domains go into one file" in message
    partial = submission(copy, tasks="ruclevr,unisciencevqa", allow_partial=True, dst=tmp_path / "p.zip")
    assert [e.task.submission_name for e in partial.entries if e.included] == ["ruCLEVR"]
    # a folder with text runs too: the text set by default, the multimodal one when asked for
    text_sample = copy / "samples_parus_2024-09-18T01-16-57.123456.jsonl"
    text_sample.write_text(json.dumps({"doc_id": 0, "doc": {"meta": {"id": 0}}, "filtered_resps": [["-1", "False"]],
                                       "arguments": {}}) + "\n", encoding="utf-8")
    with pytest.raises(SubmissionError, match="regular archive was not written"):
        submission(copy)
    assert submission(copy, multimodal=True, tasks="ruclevr", allow_partial=True, dst=tmp_path / "m.zip").ok is False
    with zipfile.ZipFile(tmp_path / "m.zip") as zf:
        assert "ruCLEVR.json" in zf.namelist()
