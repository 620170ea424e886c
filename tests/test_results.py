"""RunResult, load and runs on real lm_eval output (0.4.13 and 0.4.4 CLIs, in-process runs)."""

from __future__ import annotations

import json
import math
import shutil
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from results_fixtures import LIMIT, copy_run

from mera_magic.display import to_html
from mera_magic.display.html import result_html
from mera_magic.errors import ResultsError
from mera_magic.results import ResultsWarning, RunResult, load, runs
from mera_magic.spec import MASK

pytestmark = pytest.mark.slow
# the shared fixtures (real lm_eval runs made once per session)


def results_file(folder: Path) -> Path:
    (path,) = sorted(folder.rglob("results_*.json")) or sorted(folder.rglob("run_*.json"))
    return path


def raw_of(folder: Path) -> dict[str, Any]:
    return json.loads(results_file(folder).read_text(encoding="utf-8"))


def check_metrics_match_file(result: RunResult, raw: dict[str, Any]) -> None:
    """Every number lm_eval wrote is in .metrics, with its stderr, direction and sample counts."""
    metrics = result.metrics.set_index(["task", "filter", "metric"])
    checked = 0
    for task, entry in raw["results"].items():
        for key, value in entry.items():
            if "," not in key or "_stderr" in key:
                continue
            metric, filt = key.split(",")
            row = metrics.loc[(task, filt, metric)]
            assert row["value"] == pytest.approx(float(value))
            stderr = entry.get(f"{metric}_stderr,{filt}")
            if stderr in (None, "N/A"):
                assert math.isnan(row["stderr"])
            else:
                assert row["stderr"] == pytest.approx(float(stderr))
            assert row["higher_is_better"] is raw["higher_is_better"][task][metric]
            assert row["n_samples"] == raw["n-samples"][task]["effective"]
            assert row["n_available"] == raw["n-samples"][task]["original"]
            assert row["n_shot"] == raw["n-shot"][task]
            assert bool(row["scored_locally"])
            checked += 1
    assert checked == len(result.metrics)


def check_samples_agree_with_metrics(result: RunResult) -> None:
    """The per-sample metric columns average to the reported metric (mean-aggregated ones)."""
    for row in result.metrics.itertuples(index=False):
        if row.metric not in ("acc", "exact_match") or row.is_group:
            continue
        frame = result.samples(row.task, row.filter)
        assert len(frame) == row.n_samples
        assert frame[row.metric].mean() == pytest.approx(row.value)
        # correct comes from the same 0/1 metric where the task has gold answers
        assert (frame["correct"].astype(float) == frame[row.metric]).all()


# ---------------------------------------------------------------------------------------------------------
# lm_eval 0.4.13 CLI output


def test_load_scored_run_from_cli_folder(out_scored: Path) -> None:
    result = load(out_scored)
    raw = raw_of(out_scored)
    check_metrics_match_file(result, raw)
    assert set(result.tasks) == set(raw["results"]) == set(result.sample_tasks)
    assert result.model_name and result.model_name.endswith(Path(raw["model_name"]).name)
    assert result.output_dir == results_file(out_scored).parent
    assert {p.name for p in result.files} >= {results_file(out_scored).name} | {
        f"samples_{t}_{result.run_id}.jsonl" for t in raw["configs"]
    }
    assert not result.predict_only
    assert result.notes == []
    env = result.env
    assert env.get("lm_eval_version") == raw.get("lm_eval_version")  # not recorded by 0.4.4
    assert env["transformers_version"] == raw["transformers_version"]
    assert env["chat_template"] is False
    assert env["total_time_s"] == pytest.approx(float(raw["total_evaluation_time_seconds"]))
    assert result.config["limit"] is None
    assert result.config["n_shot"]["rcb"] == 1 and result.config["n_shot"]["simplear"] == 2
    check_samples_agree_with_metrics(result)


def test_multiple_choice_samples(out_scored: Path) -> None:
    result = load(out_scored)
    frame = result.samples("rummlu_localscore")
    lines = (result.source("rummlu_localscore").path or Path()).read_text(encoding="utf-8").splitlines()
    assert len(frame) == len(lines) == raw_of(out_scored)["n-samples"]["rummlu_localscore"]["effective"]
    for row, line in zip(frame.to_dict("records"), lines):
        record = json.loads(line)
        assert row["doc_id"] == record["doc_id"]
        assert row["prompt"] == record["arguments"]["gen_args_0"]["arg_0"]
        assert row["choices"] == ["A", "B", "C", "D"]
        lls = [float(pair[0]) for pair in record["filtered_resps"]]
        assert row["loglikelihoods"] == pytest.approx(lls)
        assert row["pred_index"] == lls.index(max(lls))
        assert row["pred_choice"] == "ABCD"[row["pred_index"]]
        assert row["gold_index"] == "ABCD".index(record["doc"]["outputs"])
        assert row["correct"] == (row["pred_index"] == row["gold_index"]) == (record["acc"] == 1.0)
        domain = record["doc"]["meta"]["domain"]
        assert row[f"acc.{domain}"] == record[f"acc.{domain}"]
        assert row["line"] == lines.index(line) + 1
    # a domain column holds values only on the rows of its own domain
    domains = [c for c in frame.columns if c.startswith("acc.")]
    assert domains
    for column in domains:
        own = frame["doc"].map(lambda d, c=column: f"acc.{d['meta']['domain']}" == c)
        assert (frame[column].notna() == own).all()


def test_generation_samples_with_two_filters(out_two_filters: Path) -> None:
    result = load(out_two_filters)
    assert result.filters("twofilter_gen") == ["scoring", "digits"]
    frame = result.samples("twofilter_gen")
    assert sorted(frame["filter"].value_counts().to_dict().items()) == [("digits", LIMIT), ("scoring", LIMIT)]
    digits = result.samples("twofilter_gen", "digits")
    scoring = result.samples("twofilter_gen", "scoring")
    assert list(digits["doc_id"]) == list(scoring["doc_id"]) == list(range(LIMIT))
    # same raw generation, different filtered answers: the regex filter keeps digits (or its fallback)
    assert list(digits["response"]) == list(scoring["response"])
    assert all(str(v).isdigit() or v == "-1" for v in digits["filtered"])
    assert list(scoring["filtered"]) == [str(r).strip() for r in scoring["response"]]
    assert list(digits["target"]) == [str(2 * i) for i in range(LIMIT)]
    with pytest.raises(ResultsError, match="no filter 'nope'"):
        result.samples("twofilter_gen", "nope")
    with pytest.raises(ResultsError, match="No samples for task 'absent'"):
        result.samples("absent")


def test_load_single_results_file_and_model_subfolder(out_scored: Path) -> None:
    path = results_file(out_scored)
    from_file = load(path)
    from_sub = load(path.parent)
    assert from_file.run_id == from_sub.run_id == path.name[len("results_") : -len(".json")]
    assert set(from_file.sample_tasks) == set(from_sub.sample_tasks) == set(raw_of(out_scored)["configs"])
    pd.testing.assert_frame_equal(from_file.metrics, from_sub.metrics)


# ---------------------------------------------------------------------------------------------------------
# predict-only (MERA's default) and the .json output layout


def test_predict_only_is_not_scored_locally(out_predict: Path) -> None:
    from mera_magic.demo import REGULAR_TASKS

    result = load(out_predict)
    raw = raw_of(out_predict)
    assert result.predict_only
    metrics = result.metrics
    # generation tasks carry lm_eval's bypass placeholder (999), multiple-choice tasks no metric at all
    assert raw["results"]["simplear"]["bypass,scoring"] == 999
    assert not any("," in k for k in raw["results"]["rummlu"])
    assert set(metrics["task"]) == set(REGULAR_TASKS)
    assert (metrics["metric"] == "bypass").all()
    assert metrics["value"].isna().all() and metrics["stderr"].isna().all()
    assert not metrics["scored_locally"].any()
    assert 999 not in metrics["value"].tolist()
    # lm_eval 0.4.13 reports 0 documents for predict-only multiple choice: the logged ones are counted
    lines = len(result.source("rummlu").path.read_text(encoding="utf-8").splitlines())  # type: ignore[union-attr]
    assert metrics.set_index("task").loc["rummlu", "n_samples"] == lines > 0
    text = result.to_markdown()
    assert "not scored locally" in text and "999" not in text
    assert "999" not in repr(result)
    # closed test: no gold answer, so nothing is marked right or wrong, but the pick is shown
    frame = result.samples("rummlu")
    assert len(frame) == lines
    assert frame["correct"].isna().all()
    assert frame["pred_choice"].isin(["A", "B", "C", "D"]).all()
    assert (frame["target"] == "").all()
    assert "bypass" not in result.samples("simplear").columns


def test_json_output_path_layout(out_json_layout: Path) -> None:
    """``--output_path <dir>/run.json``: 0.4.13 writes ``<dir>/run_<stamp>.json`` with the samples beside it;
    0.4.4 makes a folder named ``run.json`` with the usual layout inside."""
    from results_fixtures import installed_version

    if installed_version() >= (0, 4, 10):
        (path,) = out_json_layout.glob("run_*.json")
        prefix = "run_"
    else:
        (path,) = out_json_layout.rglob("results_*.json")
        prefix = "results_"
    result = load(out_json_layout)
    assert result.files[0] == path and result.run_id == path.stem[len(prefix) :]
    assert result.sample_tasks == ["rcb"] and len(result.samples("rcb")) == 3
    assert load(path).run_id == result.run_id


# ---------------------------------------------------------------------------------------------------------
# lm_eval 0.4.4 (MERA v1.2): no filter key, no metrics list, model_args as a string


def test_load_0_4_4_cli_output(out_044: Path) -> None:
    result = load(out_044)
    raw = raw_of(out_044)
    assert "lm_eval_version" not in raw  # 0.4.4 records no version: read without a warning
    check_metrics_match_file(result, raw)
    check_samples_agree_with_metrics(result)
    source = result.source("twofilter_gen").path
    assert source is not None
    line = json.loads(source.read_text(encoding="utf-8").splitlines()[0])
    assert "filter" not in line and "metrics" not in line
    assert isinstance(line["arguments"], dict) and "gen_args_0" in line["arguments"]
    frame = result.samples("twofilter_gen")
    # the k-th line of a document belongs to the task's k-th filter
    assert list(frame["filter"]) == ["scoring"] * LIMIT + ["digits"] * LIMIT
    assert all(str(v).isdigit() or v == "-1" for v in result.samples("twofilter_gen", "digits")["filtered"])
    assert isinstance(raw["config"]["model_args"], str)
    assert result.model_name == raw["model_name"]


def test_0_4_4_and_0_4_13_read_alike(out_044: Path, out_scored: Path) -> None:
    old, new = load(out_044), load(out_scored)
    keys = ["task", "filter", "metric"]
    old_keys = old.metrics[old.metrics["task"] != "twofilter_gen"][keys]
    assert sorted(map(tuple, old_keys.values)) == sorted(map(tuple, new.metrics[keys].values))
    for task in new.sample_tasks:
        a, b = old.samples(task), new.samples(task)
        assert list(a.columns) == list(b.columns)
        for column in ("doc_id", "filter", "target", "doc_hash"):
            assert list(a[column]) == list(b[column]), (task, column)


# ---------------------------------------------------------------------------------------------------------
# in memory (the runner's path) versus the same run's files


COMPARED = ["doc_id", "filter", "prompt", "response", "filtered", "correct", "doc_hash"]


def test_from_memory_matches_the_saved_files(memory_run: dict[str, Any]) -> None:
    in_memory = memory_run["samples"]["rcb"][0]
    assert isinstance(in_memory["arguments"], list) and isinstance(in_memory["arguments"][0], tuple)
    memory = RunResult.from_memory(memory_run["results"], memory_run["samples"], elapsed=1.5)
    files = load(memory_run["folder"])
    assert memory.env["total_time_s"] == 1.5
    pd.testing.assert_frame_equal(memory.metrics, files.metrics)
    for task in ["rcb", "bps", "twofilter_gen"]:
        a, b = memory.samples(task), files.samples(task)
        assert list(a.columns) == list(b.columns)
        optional = ("choices", "loglikelihoods", "pred_index", "gold_index", "acc", "exact_match")
        for column in COMPARED + [c for c in optional if c in a]:
            assert a[column].tolist() == b[column].tolist(), (task, column)
        assert [str(t) for t in a["target"]] == list(b["target"])
        assert a["line"].isna().all() and b["line"].notna().all()


def test_secrets_are_masked_everywhere(memory_run: dict[str, Any]) -> None:
    secret = "hf_SECRET_value_123"
    for result in (
        RunResult.from_memory(memory_run["results"], memory_run["samples"]),
        load(memory_run["folder"]),
    ):
        assert result.config["model_args"]["auth_token"] == MASK
        assert result.config["model_args"]["pretrained"] == "demo/memory-model"
        assert result.task_configs["rcb"]["metadata"]["auth_token"] == MASK
        shown = [
            repr(result),
            result.to_markdown(),
            to_html(result) or "",
            result_html(result),
            json.dumps(result.raw, default=str),
        ]
        shown.append(json.dumps(result.config, default=str))
        assert not any(secret in text for text in shown)
    # lm_eval itself wrote the secret to disk: only our views mask it
    assert secret in results_file(memory_run["folder"]).read_text(encoding="utf-8")


def test_mask_in_model_args_string() -> None:
    from mera_magic.results.meta import mask

    masked = mask({"model_args": "pretrained=x,auth_token=abc,api_key='k k',dtype=float32", "HF_TOKEN": "t"})
    assert masked == {
        "model_args": f"pretrained=x,auth_token={MASK},api_key='{MASK}',dtype=float32",
        "HF_TOKEN": MASK,
    }


# ---------------------------------------------------------------------------------------------------------
# several runs in a folder, runs(), merge


def test_newest_run_is_loaded_and_the_choice_reported(
    out_scored: Path, out_zero: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "both"
    for source in (out_scored, out_zero):
        for path in source.rglob("*.json*"):
            target = folder / path.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, target)
    shots = {load(out_scored).run_id: "1, 2", load(out_zero).run_id: 0}
    oldest, newest = sorted(shots)  # type: ignore[type-var]
    result = load(folder)
    assert result.run_id == newest
    assert len(result.notes) == 1 and newest in result.notes[0] and "2 runs" in result.notes[0]
    assert "2 runs" in repr(result) and "2 runs" in result_html(result)
    assert load(folder, run=oldest).run_id == oldest
    assert load(folder, run=0).run_id == oldest
    assert load(folder, run=-1).run_id == newest
    with pytest.raises(ResultsError, match="no run matches"):
        load(folder, run="1999-01-01")

    table = runs(folder)
    assert list(table["run"]) == [newest, oldest]
    assert list(table["n_shot"]) == [shots[newest], shots[oldest]]
    assert table["limit"].isna().all()
    assert not table["predict_only"].any() and not table["chat_template"].any()
    assert table["model"].nunique() == 1
    assert table["tasks"].str.contains("rummlu_localscore").all()
    assert all(Path(p).exists() for p in table["path"])
    assert (table["date"].dt.strftime("%Y-%m-%dT%H-%M-%S") == [r[:19] for r in table["run"]]).all()
    # shown whole in a notebook: pandas would cut a long path at 50 characters, losing its end
    assert all(path in table._repr_html_() for path in table["path"]), table._repr_html_()
    assert isinstance(table[table["readable"]], type(table))  # still the table after a selection


def test_merge_takes_the_newest_run_of_each_task(out_scored: Path, out_predict: Path, tmp_path: Path) -> None:
    """MERA's scripts run one task per lm_eval process into one folder; run="merge" combines them."""
    model_folder = tmp_path / "mera" / "model"
    model_folder.mkdir(parents=True)
    for source in (out_scored, out_predict):
        for path in results_file(source).parent.glob("*.json*"):
            shutil.copy(path, model_folder / path.name)
    scored, predict = load(out_scored), load(out_predict)
    newer, older = (predict, scored) if predict.run_id > scored.run_id else (scored, predict)  # type: ignore[operator]
    merged = load(tmp_path / "mera", run="merge")
    assert set(load(tmp_path / "mera").tasks) == set(newer.tasks)
    assert set(merged.tasks) == set(newer.tasks) | set(older.tasks)
    scored_locally = merged.metrics.groupby("task")["scored_locally"].all()
    for task in merged.tasks:
        source = newer if task in newer.tasks else older
        assert scored_locally[task] == (source is scored), task
        assert len(merged.samples(task)) == len(source.samples(task))
    assert "Merged 2 runs" in merged.notes[0]


# ---------------------------------------------------------------------------------------------------------
# bad input


def test_folder_without_results(tmp_path: Path) -> None:
    (tmp_path / "notes.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ResultsError, match=str(tmp_path)) as info:
        load(tmp_path)
    assert "no lm_eval results" in str(info.value)
    with pytest.raises(ResultsError, match="no such file"):
        load(tmp_path / "missing")


def test_truncated_and_edited_jsonl_lines(out_scored: Path, tmp_path: Path) -> None:
    folder = copy_run(out_scored, tmp_path / "run")
    result = load(folder)
    path = result.source("rcb").path
    assert path is not None
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2][: len(lines[2]) // 2]  # cut mid-line, as a killed run leaves it
    lines[4] = '{"doc_id": 4, "resps": [[["-1.0", "False"]]], oops}'  # edited by hand
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = load(folder)
    with pytest.warns(ResultsWarning, match=rf"{path.name}:3: not a JSON line"):
        frame = result.samples("rcb")
    assert list(frame["doc_id"]) == [0, 1, 3] + list(range(5, len(lines)))
    assert [(p.path, p.line) for p in result.problems] == [(path, 3), (path, 5)]
    assert "not a JSON line" in str(result.problems[1])

    assert f"{path}:5" in result_html(result)


def test_truncated_results_file(out_scored: Path, tmp_path: Path) -> None:
    folder = copy_run(out_scored, tmp_path / "run")
    path = results_file(folder)
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: len(text) // 3], encoding="utf-8")
    with pytest.raises(ResultsError, match=rf"{path.name}:\d+: not valid JSON"):
        load(path)
    with pytest.raises(ResultsError, match="no readable results file"):
        load(folder)


def test_unknown_lm_eval_version_warns_and_reads(out_scored: Path, tmp_path: Path) -> None:
    folder = copy_run(out_scored, tmp_path / "run")
    path = results_file(folder)
    raw = json.loads(path.read_text(encoding="utf-8"))
    raw["lm_eval_version"] = "0.7.0"
    path.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.warns(ResultsWarning, match=r"lm_eval 0\.7\.0.*0\.4\.4 to 0\.4\.13"):
        result = load(path)
    assert len(result.metrics) == len(load(out_scored).metrics)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load(out_scored)  # a known version: no warning


def test_not_a_results_file(tmp_path: Path) -> None:
    path = tmp_path / "results_2026-01-01T00-00-00.000001.json"
    path.write_text(json.dumps({"hello": 1}), encoding="utf-8")
    with pytest.raises(ResultsError, match="not an lm_eval results file"):
        load(path)


def test_mera_summary_is_local_and_skips_unscored(demo_scored_output: Path, demo_predict_output: Path) -> None:
    from mera_magic.results import load
    from mera_magic.results.mera_summary import LABEL

    scored = load(demo_scored_output).mera_summary()
    rows = scored.set_index("task")
    assert rows.loc["parus", "mera_task"] == "PARus" and rows.loc["parus", "score"] > 0
    # rcb's score is the mean of its headline metrics (acc and f1), as MERA averages multi-metric tasks
    rcb = load(demo_scored_output).metrics.query("task == 'rcb'").set_index("metric")["value"]
    assert rows.loc["rcb", "score"] == pytest.approx((rcb["acc"] + rcb["f1"]) / 2)
    assert rows.loc["rummlu_localscore", "local"]
    assert "TOTAL (local)" in rows.index and scored.attrs["label"] == LABEL
    predicted = load(demo_predict_output).mera_summary().set_index("task")
    assert predicted.loc["rummlu", "closed_test"] and math.isnan(predicted.loc["rummlu", "score"])


def test_a_chat_api_prompt_is_its_messages() -> None:
    """local-chat-completions logs its prompt as lm_eval's JsonChatStr (a one-field tuple; a one-item list in the
    samples file): the prompt column holds the messages' JSON, not the tuple's repr."""
    from lm_eval.models.api_models import JsonChatStr

    from mera_magic.results.samples import normalize

    messages = '[{"role": "user", "content": "2 + 2 ="}]'
    in_memory = {"doc_id": 0, "target": "4", "arguments": [(JsonChatStr(messages), {"until": ["\\n"]})],
                 "resps": [["4"]], "filtered_resps": ["4"]}
    in_file = {"doc_id": 0, "target": "4", "arguments": {"gen_args_0": {"arg_0": [messages], "arg_1": {"until": ["\\n"]}}},
               "resps": [["4"]], "filtered_resps": ["4"]}
    assert normalize(in_memory, "scoring")["prompt"] == messages
    assert normalize(in_file, "scoring")["prompt"] == messages
    escaped = json.dumps([{"role": "user", "content": "Сколько будет 2 + 2?"}])  # lm_eval 0.4.4 writes \\uXXXX
    in_file["arguments"]["gen_args_0"]["arg_0"] = [escaped]
    assert normalize(in_file, "scoring")["prompt"] == '[{"role": "user", "content": "Сколько будет 2 + 2?"}]'
