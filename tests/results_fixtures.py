"""Shared fixtures of the results tests: REAL lm_eval output, written by the real CLI in this session.

Built on the project fixtures of ``conftest.py`` (``demo_model``, ``demo_tasks``, ``cli_output`` and the shared
``demo_scored_output`` / ``demo_predict_output`` runs); each run is made once per session:

* ``out_scored``       the shared scored run (0.4.13 CLI, ``--log_samples``, the tasks' own n-shot);
* ``out_zero``         the same tasks 0-shot (a second run to compare with);
* ``out_predict``      the shared ``--predict_only`` run (MERA's default) of every regular demo task;
* ``out_json_layout``  0.4.13 with ``--output_path <dir>/run.json`` (results as ``run_<stamp>.json``);
* ``out_two_filters``  0.4.13 on a generation task of our own with two filters;
* ``out_044``          the lm_eval 0.4.4 CLI (``.venv-0.4.4`` (scripts/env.sh with LM_EVAL_VERSION=0.4.4) or ``$MERA_LM_EVAL_044``): sample lines
                       with no ``filter`` key, ``model_args`` recorded as a string;
* ``memory_run``       an in-process ``simple_evaluate`` (``dummy`` model): the returned dict and samples, and
                       the same run saved by ``EvaluationTracker``.

tests/conftest.py loads these fixtures (``pytest_plugins``).
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import pytest

ROOT = Path(__file__).resolve().parents[1]
VENV044 = Path(os.environ.get("MERA_LM_EVAL_044", ROOT / ".venv-0.4.4"))
#: documents of the two-filter task (and the --limit of the small runs)
LIMIT = 6
#: the tasks of conftest's shared scored run
SCORED = ("parus", "rcb", "rummlu_localscore", "simplear", "parus_gen")

TWO_FILTER_TASK = """\
task: twofilter_gen
dataset_path: json
dataset_kwargs:
  data_files:
    test: "{data}"
test_split: test
output_type: generate_until
doc_to_text: "{{{{ instruction.format(inputs=inputs) }}}}"
doc_to_target: outputs
generation_kwargs: {{until: ["\\n"], max_gen_toks: 6, do_sample: false}}
metric_list:
  - {{metric: exact_match, aggregation: mean, higher_is_better: true}}
filter_list:
  - name: scoring
    filter: [{{function: remove_whitespace}}, {{function: take_first}}]
  - name: digits
    filter: [{{function: regex, regex_pattern: "(\\\\d+)", fallback: "-1"}}, {{function: take_first}}]
metadata: {{version: 1.0}}
"""


def offline_env() -> dict[str, str]:
    """The environment of an lm_eval run: conftest's offline settings, no progress bars, no process pool."""
    return dict(os.environ, TQDM_DISABLE="1", DISABLE_MULTIPROC="1", TOKENIZERS_PARALLELISM="false")


def run_cli(lm_eval: Path | str, args: list[str], tmp: Path) -> None:
    """Run an lm_eval executable; fail the test with its output when it fails."""
    done = subprocess.run(
        [str(lm_eval), *args], env=offline_env(), cwd=tmp, capture_output=True, text=True, timeout=600
    )
    if done.returncode != 0:
        raise AssertionError(
            f"lm_eval failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
        )


def lm_eval_0413() -> Path:
    """The lm_eval executable of the venv running the tests (0.4.13, or 0.4.4 in CI's oldest-version run)."""
    return Path(sys.executable).parent / "lm_eval"


def installed_version() -> tuple[int, ...]:
    """The lm_eval version the tests run under."""
    from mera_magic.lmeval.install import version_tuple

    return version_tuple()


@pytest.fixture(scope="session")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A session folder for the runs."""
    return tmp_path_factory.mktemp("results_runs")


@pytest.fixture(scope="session")
def two_filter_tasks(work: Path) -> Path:
    """The demo tasks plus a generation task of our own with two filters, in one include folder."""
    from mera_magic import demo

    folder = demo.write_tasks(work / "tasks")
    data = folder / "records" / "twofilter" / "test.jsonl"
    data.parent.mkdir(parents=True, exist_ok=True)
    rows = [
        {
            "instruction": "Сложите числа.\n{inputs}",
            "inputs": f"{i} + {i} =",
            "outputs": str(2 * i),
            "meta": {"id": i},
        }
        for i in range(LIMIT)
    ]
    data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    (folder / "twofilter_gen.yaml").write_text(TWO_FILTER_TASK.format(data=data.as_posix()), encoding="utf-8")
    return folder


def _hf_args(model: Path, tasks_dir: Path, tasks: str, out: Path, *extra: str) -> list[str]:
    return [
        "--model", "hf",
        "--model_args", f"pretrained={model},dtype=float32",
        "--device", "cpu",
        "--batch_size", "8",
        "--include_path", str(tasks_dir),
        "--tasks", tasks,
        "--output_path", str(out),
        *extra,
    ]  # fmt: skip


@pytest.fixture(scope="session")
def out_scored(demo_scored_output: Path) -> Path:
    """conftest's scored run (lm_eval 0.4.13 CLI, folder layout)."""
    return demo_scored_output


@pytest.fixture(scope="session")
def out_predict(demo_predict_output: Path) -> Path:
    """conftest's ``--predict_only`` run of every regular demo task."""
    return demo_predict_output


@pytest.fixture(scope="session")
def out_zero(cli_output: Callable[..., Path]) -> Path:
    """The shared scored run's tasks, 0-shot: a second run to compare with."""
    return cli_output(SCORED, "--log_samples", "--num_fewshot", "0")


@pytest.fixture(scope="session")
def out_json_layout(work: Path, demo_model: Path, demo_tasks: Path) -> Path:
    """``--output_path <dir>/run.json``: 0.4.13 writes ``<dir>/run_<stamp>.json`` and the samples beside it."""
    out = work / "json_layout"
    run_cli(
        lm_eval_0413(),
        _hf_args(demo_model, demo_tasks, "rcb", out / "run.json", "--log_samples", "--limit", "3"),
        work,
    )
    return out


@pytest.fixture(scope="session")
def out_two_filters(work: Path, demo_model: Path, two_filter_tasks: Path) -> Path:
    """A 0.4.13 run of the two-filter generation task."""
    out = work / "two_filters"
    run_cli(
        lm_eval_0413(), _hf_args(demo_model, two_filter_tasks, "twofilter_gen", out, "--log_samples"), work
    )
    return out


@pytest.fixture(scope="session")
def out_044(work: Path, demo_model: Path, two_filter_tasks: Path) -> Path:
    """The shared scored run's tasks and the two-filter task, written by the lm_eval 0.4.4 CLI."""
    executable = VENV044 / "bin" / "lm_eval"
    if not executable.exists():
        pytest.skip(f"no lm_eval 0.4.4 venv at {VENV044} (set MERA_LM_EVAL_044 to one)")
    out = work / "v044"
    tasks = ",".join([*SCORED, "twofilter_gen"])
    run_cli(executable, _hf_args(demo_model, two_filter_tasks, tasks, out, "--log_samples"), work)
    return out


@pytest.fixture(scope="session")
def memory_run(work: Path, two_filter_tasks: Path) -> dict[str, Any]:
    """An in-process run: what ``simple_evaluate`` returned (samples popped, deep-copied before saving) and the
    folder ``EvaluationTracker`` wrote for it.  The ``dummy`` model takes any model_args: one is a secret."""
    if installed_version() < (0, 4, 9):
        pytest.skip("lm_eval < 0.4.9's DummyLM cannot generate (its generate_until unpacks Instances as tuples); "
                    "the in-memory layout of 0.4.4 is covered by tests/test_runner.py's in-process runs")
    patch = pytest.MonkeyPatch()
    try:
        import huggingface_hub.constants

        # the hub reads HF_HUB_OFFLINE at import, which may have happened before conftest set it
        patch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
        from lm_eval import simple_evaluate
        from lm_eval.loggers import EvaluationTracker
        from lm_eval.tasks import TaskManager

        out = work / "memory"
        tracker = EvaluationTracker(output_path=str(out))
        model_args = {"pretrained": "demo/memory-model", "auth_token": "hf_SECRET_value_123"}
        # as the CLI does, the model_args go into every task config's metadata (and so into the results file)
        manager = TaskManager(
            include_path=str(two_filter_tasks), include_defaults=False, metadata=dict(model_args)
        )
        results = simple_evaluate(
            model="dummy",
            model_args=model_args,
            tasks=["rcb", "bps", "twofilter_gen"],
            task_manager=manager,
            limit=LIMIT,
            log_samples=True,
            evaluation_tracker=tracker,
            bootstrap_iters=100,
        )
        assert results is not None
        samples = results.pop("samples")
        in_memory = copy.deepcopy(samples)
        tracker.save_results_aggregated(results=copy.deepcopy(results), samples=samples)
        for task, task_samples in samples.items():
            tracker.save_results_samples(task_name=task, samples=task_samples)
        return {"results": results, "samples": in_memory, "folder": out}
    finally:
        patch.undo()


def copy_run(source: Path, dest: Path) -> Path:
    """A copy of a run folder (to edit without touching the session's runs)."""
    shutil.copytree(source, dest)
    return dest


def replicate_run(source: Path, dest: Path, per_task: dict[str, int]) -> Path:
    """A run folder whose tasks hold ``per_task[task]`` samples each, made of the real lines of ``source``
    repeated with new doc ids (what a large run looks like to the reader).  Returns the results file."""
    results = next(source.rglob("results_*.json"))
    stamp = results.name[len("results_") : -len(".json")]
    raw = json.loads(results.read_text(encoding="utf-8"))
    dest.mkdir(parents=True, exist_ok=True)
    for key in ("results", "configs", "versions", "n-shot", "higher_is_better", "n-samples", "task_hashes"):
        if isinstance(raw.get(key), dict):
            raw[key] = {k: v for k, v in raw[key].items() if k in per_task}
    for task, total in per_task.items():
        lines = (results.parent / f"samples_{task}_{stamp}.jsonl").read_text(encoding="utf-8").splitlines()
        records = [json.loads(line) for line in lines]
        filters = list(dict.fromkeys(r.get("filter", "none") for r in records))
        docs = total // len(filters)
        raw["n-samples"][task] = {"original": docs, "effective": docs}
        bodies = {
            f: [line.split(", ", 1)[1] for line, r in zip(lines, records) if r.get("filter", "none") == f]
            for f in filters
        }
        with (dest / f"samples_{task}_{stamp}.jsonl").open("w", encoding="utf-8") as handle:
            for f in filters:  # lm_eval writes filter by filter
                body = bodies[f]
                handle.writelines(f'{{"doc_id": {i}, {body[i % len(body)]}\n' for i in range(docs))
    out = dest / results.name
    out.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    return out
