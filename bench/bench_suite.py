"""Benchmark: a MERA suite through ``%%mera --suite mera`` vs MERA's scripts' way (one ``lm_eval`` process per task).

Everything runs for real on the demo model and the demo tasks that are MERA tasks (simplear, bps, parus, rcb,
rummlu, rumultiar, ruhumaneval, rutie) with ``--limit 4`` and MERA's settings (``--predict_only --log_samples
--seed 1234 --verbosity ERROR``, per-task ``--num_fewshot`` and ``--gen_kwargs``):

* scripts' way: ``python -m lm_eval ...`` once per task, as ``run_benchmark.sh`` does (a small wrapper runs
  lm_eval's own CLI entry point with timers added);
* ``%%mera``: one cell ``%%mera --suite mera --force`` in a fresh Jupyter kernel (first suite: imports and model
  load included), then the same cell again in that kernel.

The model's own compute (time inside the model's ``loglikelihood`` / ``generate_until``) and the tasks' own
scoring (``apply_filters``: ruHumanEval runs the generated code) are timed in both ways with the same hooks;
per-task overhead = (wall - model compute - scoring) / tasks.  Target (issue 14): under 0.5 s per task through
``%%mera``.

    python bench/bench_suite.py [--mera-only]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

from jupyter_client.manager import start_new_kernel

from mera_magic import catalog, demo

TASKS = ("simplear", "bps", "parus", "rcb", "rummlu", "rumultiar", "ruhumaneval", "rutie")
COMMON = "--predict_only --log_samples --seed 1234 --verbosity ERROR --limit 4 --batch_size 8 --device cpu"

#: timers around the model's request methods and the tasks' filters; ``_BENCH`` holds the seconds
INSTRUMENT = textwrap.dedent("""
    import time as _time
    import lm_eval.api.task as _task_module
    from lm_eval.models.huggingface import HFLM as _HFLM
    _BENCH = {"model": 0.0, "scoring": 0.0}
    def _timed(cls, name, key):
        original = getattr(cls, name)
        def wrapper(self, *args, **kwargs):
            start = _time.perf_counter()
            try:
                return original(self, *args, **kwargs)
            finally:
                _BENCH[key] += _time.perf_counter() - start
        setattr(cls, name, wrapper)
    for _name in ("loglikelihood", "loglikelihood_rolling", "generate_until"):
        _timed(_HFLM, _name, "model")
    _timed(_task_module.ConfigurableTask, "apply_filters", "scoring")
""")

#: one task the scripts' way: lm_eval's own CLI entry point in this process, timers written at exit
WRAPPER = INSTRUMENT + textwrap.dedent("""
    import atexit, json, os, sys
    atexit.register(lambda: open(os.environ["BENCH_TIMES"], "w").write(json.dumps(_BENCH)))
    sys.argv = ["lm_eval", *sys.argv[1:]]
    from lm_eval.__main__ import cli_evaluate
    cli_evaluate()
""")


def _settings(task: str) -> tuple[int, str]:
    s = catalog.run_settings(task)
    return s.num_fewshot, s.gen_kwargs


def scripts_way(model: Path, tasks_dir: Path, out: Path, tmp: Path) -> dict[str, Any]:
    wrapper = tmp / "lm_eval_timed.py"
    wrapper.write_text(WRAPPER, encoding="utf-8")
    rows = []
    for task in TASKS:
        fewshot, gen = _settings(task)
        times = tmp / f"times_{task}.json"
        argv = [sys.executable, str(wrapper), "--model", "hf", "--model_args", f"pretrained={model},dtype=float32",
                "--tasks", task, f"--num_fewshot={fewshot}", f"--gen_kwargs={gen}", f"--output_path={out}",
                *COMMON.split(), f"--include_path={tasks_dir}"]
        env = dict(os.environ, BENCH_TIMES=str(times), TOKENIZERS_PARALLELISM="false")
        start = time.monotonic()
        done = subprocess.run(argv, env=env, capture_output=True, text=True)
        wall = time.monotonic() - start
        if done.returncode != 0:
            raise RuntimeError(f"{task}: lm_eval failed\n{done.stderr[-3000:]}")
        rows.append({"task": task, "wall": wall, **json.loads(times.read_text())})
    return _total(rows)


def _total(rows: list[dict[str, Any]]) -> dict[str, Any]:
    wall = sum(r["wall"] for r in rows)
    model = sum(r["model"] for r in rows)
    scoring = sum(r["scoring"] for r in rows)
    return {"wall": wall, "model": model, "scoring": scoring, "per_task": (wall - model - scoring) / len(TASKS),
            "rows": rows}


def _cell(client: Any, code: str) -> float:
    start = time.monotonic()
    reply = client.execute_interactive(code, timeout=1800, output_hook=lambda msg: None)
    if reply["content"]["status"] != "ok":
        raise RuntimeError(f"cell failed: {reply['content'].get('ename')}: {reply['content'].get('evalue')}")
    return time.monotonic() - start


def _bench_values(client: Any) -> dict[str, float]:
    reply = client.execute_interactive("", user_expressions={"b": "dict(_BENCH)"}, timeout=60,
                                       output_hook=lambda msg: None)
    return eval(reply["content"]["user_expressions"]["b"]["data"]["text/plain"])  # noqa: S307 - our own dict repr


def mera_way(model: Path, tasks_dir: Path, out: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    cell = (f"%%mera --suite mera --force --no-display\nlm_eval --model hf --model_args pretrained={model},dtype=float32 "
            f"--tasks {','.join(TASKS)} --output_path {out} {COMMON} --include_path {tasks_dir}")
    km, kc = start_new_kernel(kernel_name="python3")
    try:
        _cell(kc, "%load_ext mera_magic")
        _cell(kc, INSTRUMENT)
        results = []
        for _ in range(2):
            _cell(kc, "_BENCH.update(model=0.0, scoring=0.0)")
            wall = _cell(kc, cell)
            timed = _bench_values(kc)
            results.append({"wall": wall, "model": timed["model"], "scoring": timed["scoring"],
                            "per_task": (wall - timed["model"] - timed["scoring"]) / len(TASKS)})
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    return results[0], results[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mera-only", action="store_true", help="only the %%%%mera rows (the scripts' way takes long)")
    args = parser.parse_args()
    os.environ.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    model = demo.build_model()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        tasks_dir = demo.write_tasks(tmp / "tasks")
        scripts = None if args.mera_only else scripts_way(model, tasks_dir, tmp / "scripts_out", tmp)
        first, again = mera_way(model, tasks_dir, tmp / "mera_out")
    print(f"{len(TASKS)} tasks, --limit 4, demo model on CPU ({os.cpu_count()} CPUs)")
    print(f"{'':34} {'wall':>8} {'model':>8} {'scoring':>8} {'overhead/task':>14}")
    rows = [("%%mera --suite, fresh kernel", first), ("%%mera --suite, again", again)]
    if scripts is not None:
        rows.insert(0, ("scripts' way (1 process per task)", scripts))
    for name, r in rows:
        print(f"{name:34} {r['wall']:8.1f} {r['model']:8.1f} {r['scoring']:8.1f} {r['per_task']:12.2f} s")
    if scripts is not None:
        print("per task, scripts' way: " + ", ".join(f"{r['task']} {r['wall']:.1f} s" for r in scripts["rows"]))
    print(f"target: overhead per task through %%mera < 0.5 s: {'met' if again['per_task'] < 0.5 else 'NOT met'} "
          f"(again), {'met' if first['per_task'] < 0.5 else 'NOT met'} (fresh kernel)")


if __name__ == "__main__":
    main()
