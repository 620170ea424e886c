"""Benchmark: the lm_eval CLI vs the first and a repeated ``%%mera`` run of the same command, in one run.

Everything runs for real: the demo model and tasks, ``python -m lm_eval`` as a child process, and ``%%mera``
cells executed in a fresh Jupyter kernel (jupyter_client).  Prints wall times and ratios.
Targets (issue "Run %%mera cells in-process"): first run no slower than the CLI; a repeat at least 5x faster.

    python bench/bench_runner.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jupyter_client.manager import start_new_kernel

from mera_magic import demo


def command(model: Path, tasks: Path, out: Path) -> str:
    return (f"lm_eval --model hf --model_args pretrained={model},dtype=float32 --device cpu --batch_size 8 "
            f"--include_path {tasks} --output_path {out} --log_samples --seed 1234 --tasks parus,rcb,simplear")


def run_cli(cmd: str) -> float:
    start = time.monotonic()
    subprocess.run([sys.executable, "-m", "lm_eval", *cmd.split()[1:]], check=True, capture_output=True)
    return time.monotonic() - start


def run_cell(client, code: str) -> float:  # noqa: ANN001 - a BlockingKernelClient
    start = time.monotonic()
    reply = client.execute_interactive(code, timeout=900, output_hook=lambda msg: None)
    if reply["content"]["status"] != "ok":
        raise RuntimeError(f"cell failed: {reply['content'].get('ename')}: {reply['content'].get('evalue')}")
    return time.monotonic() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3, help="CLI runs and repeated %%mera runs to take the median of")
    args = parser.parse_args()
    os.environ.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    model = demo.build_model()
    with tempfile.TemporaryDirectory() as tmp:
        tasks = demo.write_tasks(Path(tmp) / "tasks")
        cli = [run_cli(command(model, tasks, Path(tmp) / f"cli{i}")) for i in range(args.repeats)]
        km, kc = start_new_kernel(kernel_name="python3")
        try:
            run_cell(kc, "%load_ext mera_magic")
            first = run_cell(kc, "%%mera --no-display\n" + command(model, tasks, Path(tmp) / "nb0"))
            again = [run_cell(kc, "%%mera --no-display\n" + command(model, tasks, Path(tmp) / f"nb{i + 1}"))
                     for i in range(args.repeats)]
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
    cli_s, again_s = statistics.median(cli), statistics.median(again)
    print(f"lm_eval CLI (median of {args.repeats}):   {cli_s:6.2f} s   {[round(x, 2) for x in cli]}")
    print(f"%%mera first run (fresh kernel):  {first:6.2f} s   CLI / first  = {cli_s / first:5.2f}x  (target >= 1)")
    print(f"%%mera repeat (median of {args.repeats}):     {again_s:6.2f} s   CLI / repeat = {cli_s / again_s:5.2f}x  (target >= 5)")


if __name__ == "__main__":
    main()
