"""Benchmark: load a 100,000-sample results folder and render its first page; the notebook stays small.

    python bench/bench_results.py [--samples 100000] [--keep DIR]

1. Runs the real lm_eval CLI (``--model dummy``: random log-likelihoods, no weights) on demo tasks with
   ``--log_samples``, then builds a folder with ``--samples`` samples by repeating those real lines (new doc
   ids), half multiple-choice (``rummlu_localscore``), half generation (``simplear``).
2. Each measurement runs in a fresh Python process (time and peak RSS, ``ru_maxrss``; "+" is the growth over
   the process after its imports):
   * ``first page``: ``load(folder)`` + the outputs a notebook shows (summary, the samples browser with its
     first page, the charts), built without a kernel;
   * ``samples()``: the whole multiple-choice task as a DataFrame (``RunResult.samples``);
   * ``pandas``: ``pandas.read_json(lines=True)`` of the same JSONL file (raw columns, nothing normalised);
3. Executes a notebook that displays the result in a real kernel (nbclient, widget state stored), saves it and
   reports its size (plain outputs: summary, the samples page, the chart; plus the controls' widget state).

Targets: first page < 1 s; saved notebook < 1 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
MC_TASK, GEN_TASK = "rummlu_localscore", "simplear"


def offline_env(home: Path) -> dict[str, str]:
    return dict(
        os.environ,
        HF_HUB_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        HF_HOME=str(home / "hf_home"),
        TQDM_DISABLE="1",
        TOKENIZERS_PARALLELISM="false",
    )


def make_folder(work: Path, total: int) -> Path:
    """A results folder of ``total`` samples made of real lm_eval lines; returns the model folder."""
    from mera_magic import demo

    tasks = demo.write_tasks(work / "tasks")
    out = work / "dummy_run"
    lm_eval = Path(sys.executable).parent / "lm_eval"
    command = [
        str(lm_eval),
        "--model",
        "dummy",
        "--tasks",
        f"{MC_TASK},{GEN_TASK}",
        "--include_path",
        str(tasks),
    ]
    command += ["--output_path", str(out), "--log_samples", "--model_args", "pretrained=bench/dummy"]
    done = subprocess.run(command, env=offline_env(work), cwd=work, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"lm_eval failed:\n{done.stderr[-3000:]}")
    source = next(out.rglob("results_*.json"))
    stamp = source.name[len("results_") : -len(".json")]
    dest = work / "big" / source.parent.name
    dest.mkdir(parents=True)
    raw = json.loads(source.read_text(encoding="utf-8"))
    per_task = {MC_TASK: total // 2, GEN_TASK: total - total // 2}
    for task, count in per_task.items():
        lines = (source.parent / f"samples_{task}_{stamp}.jsonl").read_text(encoding="utf-8").splitlines()
        bodies = [line.split(", ", 1)[1] for line in lines]
        with (dest / f"samples_{task}_{stamp}.jsonl").open("w", encoding="utf-8") as handle:
            handle.writelines(f'{{"doc_id": {i}, {bodies[i % len(bodies)]}\n' for i in range(count))
        raw["n-samples"][task] = {"original": count, "effective": count}
    (dest / source.name).write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    return dest


MEASURE = {
    "first page": (
        "from mera_magic.results import load; from mera_magic.display.view import ResultView",
        "r = load(FOLDER); shown = ResultView(r); "
        "assert 'rows 1–10' in shown.browser.pager.output.bundle['text/html']",
    ),
    "samples()": (
        "from mera_magic.results import load",
        f"frame = load(FOLDER).samples({MC_TASK!r}); assert len(frame) > 0",
    ),
    "pandas": (
        "import pandas, glob",
        f"frame = pandas.read_json(glob.glob(FOLDER + '/samples_{MC_TASK}_*.jsonl')[0], lines=True)",
    ),
}

CHILD = """
import json, resource, sys, time
FOLDER = sys.argv[1]
{imports}
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
{work}
elapsed = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"s": elapsed, "peak_mb": peak / 1024, "growth_mb": (peak - base) / 1024}}))
"""


def measure(name: str, folder: Path, work: Path) -> dict[str, float]:
    imports, work_code = MEASURE[name]
    code = CHILD.format(imports=imports, work=work_code)
    done = subprocess.run(
        [sys.executable, "-c", code, str(folder)], env=offline_env(work), capture_output=True, text=True
    )
    if done.returncode:
        sys.exit(f"{name} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def saved_notebook_size(folder: Path, work: Path) -> tuple[int, int]:
    """Execute a notebook displaying the result in a real kernel; (saved .ipynb bytes, output bytes)."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.v4.new_notebook()
    notebook.cells.append(
        nbformat.v4.new_code_cell(f"from mera_magic.results import load\nload({str(folder)!r})")
    )
    NotebookClient(notebook, timeout=600, kernel_name="python3", store_widget_state=True).execute(
        cwd=str(work)
    )
    path = work / "saved.ipynb"
    nbformat.write(notebook, path)
    output = len(json.dumps(notebook.cells[0].outputs))
    return path.stat().st_size, output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="build the folder here and keep it")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-results-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        run(work, args.samples)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


def run(work: Path, samples: int) -> None:
    """Build the folder under ``work`` and print every figure."""
    t = time.perf_counter()
    folder = make_folder(work, samples)
    sizes = {p.name: p.stat().st_size for p in folder.glob("samples_*.jsonl")}
    print(f"built {samples:,} samples in {time.perf_counter() - t:.1f} s under {folder}")
    for name, size in sizes.items():
        print(f"  {name}: {size / 1e6:.1f} MB")
    print(f"\n{'measurement':<14}{'time s':>9}{'peak MB':>10}{'+MB':>8}")
    for name in MEASURE:
        result = measure(name, folder, work)
        print(f"{name:<14}{result['s']:>9.3f}{result['peak_mb']:>10.0f}{result['growth_mb']:>8.0f}")
    notebook, output = saved_notebook_size(folder, work)
    print(
        f"\nsaved notebook (widget state included): {notebook / 1e3:.0f} kB; the cell's output: {output / 1e3:.0f} kB"
    )
    print("targets: first page < 1 s; saved notebook < 1000 kB")


if __name__ == "__main__":
    main()
