"""Benchmark: how long until a pasted guide example tells you what is wrong.

For each of the MERA guide's five launch examples, verbatim (tests/guide_commands.py), on a machine that cannot
reach the hub and has none of those models cached (every contender gets an empty ``HF_HOME``, the working folder
is an empty temporary one: no ``benchmark_tasks``, no git repository):

- ``cli``: the ``lm_eval`` CLI run through bash on the same text, until it exits (it fails);
- ``fresh``: the first ``%%mera`` cell in a fresh Jupyter kernel (``%load_ext mera_magic`` done before, timed
  apart), until the cell fails;
- ``warm``: the same cell again in that kernel.

The hub is not switched off (no ``HF_HUB_OFFLINE``): like a user's machine without network, the tools find out
by trying.  Figures are the median of ``--repeats`` rounds.

    python bench/bench_preflight.py [--repeats 1] [--no-cli]
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
from typing import Any

from jupyter_client.manager import start_new_kernel

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from guide_commands import FULL  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE", "HF_HUB_CACHE")}
    env["HF_HOME"] = str(home)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = f"{ROOT / 'src'}{os.pathsep}{env.get('PYTHONPATH', '')}".rstrip(os.pathsep)
    return env


def run_cli(text: str, folder: Path) -> tuple[float, str]:
    start = time.monotonic()
    try:
        done = subprocess.run(["bash", "-c", text], cwd=folder, env=_env(folder / "hf_home"), capture_output=True,
                              text=True, timeout=300)
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
    except subprocess.TimeoutExpired:
        last = "timed out after 300 s"
    return time.monotonic() - start, last[:100]


def run_cell(client: Any, code: str) -> tuple[float, str]:
    start = time.monotonic()
    reply = client.execute_interactive(code, timeout=300)
    elapsed = time.monotonic() - start
    content = reply["content"]
    return elapsed, content.get("ename", "") if content["status"] != "ok" else "ok"


def kernel_round(text: str, folder: Path) -> tuple[float, float, float, str]:
    """(load_ext, fresh cell, warm cell, what the cell raised)."""
    manager, client = start_new_kernel(kernel_name="python3", cwd=str(folder), env=_env(folder / "hf_home"))
    try:
        load, _ = run_cell(client, "%load_ext mera_magic")
        fresh, raised = run_cell(client, "%%mera\n" + text)
        warm, _ = run_cell(client, "%%mera\n" + text)
        return load, fresh, warm, raised
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--no-cli", action="store_true", help="skip the lm_eval CLI runs")
    args = parser.parse_args()
    rows = []
    for name, text in FULL.items():
        figures: dict[str, list[float]] = {"load_ext": [], "fresh": [], "warm": [], "cli": []}
        raised = cli_said = ""
        for _ in range(args.repeats):
            with tempfile.TemporaryDirectory(prefix="bench-preflight-") as tmp:
                load, fresh, warm, raised = kernel_round(text, Path(tmp))
                figures["load_ext"].append(load)
                figures["fresh"].append(fresh)
                figures["warm"].append(warm)
            if not args.no_cli:
                with tempfile.TemporaryDirectory(prefix="bench-preflight-cli-") as tmp:
                    seconds, cli_said = run_cli(text, Path(tmp))
                    figures["cli"].append(seconds)
        med = {k: statistics.median(v) if v else float("nan") for k, v in figures.items()}
        rows.append((name, med, raised, cli_said))
        print(f"{name:<18} load_ext {med['load_ext']:5.2f} s  fresh cell {med['fresh']:5.2f} s  "
              f"warm cell {med['warm']:5.2f} s  cli {med['cli']:6.1f} s   cell: {raised}; cli: {cli_said}",
              flush=True)
    print()
    print("| example | %load_ext | fresh kernel | warm kernel | lm_eval CLI |")
    print("|---|---|---|---|---|")
    for name, med, _, _ in rows:
        print(f"| {name} | {med['load_ext']:.2f} s | {med['fresh']:.2f} s | {med['warm']:.2f} s | {med['cli']:.1f} s |")


if __name__ == "__main__":
    main()
