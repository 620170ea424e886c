"""Benchmark: the lm_eval CLI vs the first ``%%mera`` run in a fresh kernel vs a repeat in a warm one.

Everything runs for real: the demo model and tasks, ``python -m lm_eval`` as a child process, and ``%%mera``
cells executed in fresh Jupyter kernels (jupyter_client).  To be fair to each contender:

- every CLI run and every kernel gets its own ``HF_HOME`` (so no one warms the datasets cache for another);
- the rounds alternate which contender goes first;
- each figure is the median of ``--repeats`` rounds (at least 3).

``--profile`` also profiles one warm repeat inside the kernel and prints where its time goes (cumulative
time of the heaviest calls), against the model's own compute (the request phases of the run's progress).

    python bench/bench_runner.py [--repeats 3] [--profile]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from jupyter_client.manager import start_new_kernel

from mera_magic import demo

TASKS = "parus,rcb,simplear"


def command(model: Path, tasks: Path, out: Path) -> str:
    return (f"lm_eval --model hf --model_args pretrained={model},dtype=float32 --device cpu --batch_size 8 "
            f"--include_path {tasks} --output_path {out} --log_samples --seed 1234 --tasks {TASKS}")


def run_cli(cmd: str, hf_home: Path) -> float:
    start = time.monotonic()
    subprocess.run([sys.executable, "-m", "lm_eval", *cmd.split()[1:]], check=True, capture_output=True,
                   env={**os.environ, "HF_HOME": str(hf_home)})
    return time.monotonic() - start


def run_cell(client: Any, code: str) -> tuple[float, str]:
    out: list[str] = []

    def hook(msg: dict[str, Any]) -> None:
        if msg["msg_type"] == "stream":
            out.append(msg["content"]["text"])

    start = time.monotonic()
    reply = client.execute_interactive(code, timeout=900, output_hook=hook)
    if reply["content"]["status"] != "ok":
        raise RuntimeError(f"cell failed: {reply['content'].get('ename')}: {reply['content'].get('evalue')}")
    return time.monotonic() - start, "".join(out)


PROFILE = """
import cProfile, pstats, io, json
from mera_magic import run
_prof = cProfile.Profile()
_prof.enable()
_r = run({cmd!r}, display=False)
_prof.disable()
_s = io.StringIO()
pstats.Stats(_prof, stream=_s).sort_stats("cumulative").print_stats(r"mera_magic|lm_eval|datasets", 25)
print(_s.getvalue())
"""


def kernel_round(model: Path, tasks: Path, tmp: Path, profile: bool) -> tuple[float, float, str]:
    """A fresh kernel with its own HF_HOME: the first run (cold) and a repeat (warm)."""
    km, kc = start_new_kernel(kernel_name="python3", env={**os.environ, "HF_HOME": str(tmp / "hf")})
    try:
        run_cell(kc, "%load_ext mera_magic")
        first, _ = run_cell(kc, "%%mera --no-display\n" + command(model, tasks, tmp / "nb0"))
        again, _ = run_cell(kc, "%%mera --no-display\n" + command(model, tasks, tmp / "nb1"))
        report = ""
        if profile:
            _, report = run_cell(kc, PROFILE.format(cmd=command(model, tasks, tmp / "nb2")))
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    return first, again, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3, help="rounds to take the median of (at least 3)")
    parser.add_argument("--profile", action="store_true", help="profile one warm repeat and print where time goes")
    args = parser.parse_args()
    repeats = max(args.repeats, 3)
    os.environ.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    model = demo.build_model()
    cli: list[float] = []
    first: list[float] = []
    again: list[float] = []
    report = ""
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        tasks = demo.write_tasks(tmp / "tasks")
        for i in range(repeats):
            def cli_turn(i: int = i) -> None:
                cli.append(run_cli(command(model, tasks, tmp / f"cli{i}"), tmp / f"cli-hf{i}"))

            def kernel_turn(i: int = i) -> None:
                nonlocal report
                f, a, r = kernel_round(model, tasks, tmp / f"k{i}", args.profile and i == repeats - 1)
                first.append(f)
                again.append(a)
                report = r or report

            turns = [cli_turn, kernel_turn] if i % 2 == 0 else [kernel_turn, cli_turn]
            for turn in turns:
                turn()
    cli_s, first_s, again_s = statistics.median(cli), statistics.median(first), statistics.median(again)
    print(json.dumps({"cli": cli, "first": first, "repeat": again}))
    print(f"lm_eval CLI (median of {repeats}):        {cli_s:6.2f} s")
    print(f"%%mera first run, fresh kernel:     {first_s:6.2f} s   CLI / first  = {cli_s / first_s:5.2f}x  (target >= 1)")
    print(f"%%mera repeat, warm kernel:         {again_s:6.2f} s   CLI / repeat = {cli_s / again_s:5.2f}x  (target >= 5)")
    if report:
        print("\nWhere a warm repeat spends its time (cumulative seconds):\n" + report)


if __name__ == "__main__":
    main()
