"""Benchmark: requests/s through ``local-completions`` against a local vLLM server, ``%%mera`` vs the lm_eval CLI.

Everything is real: vLLM's OpenAI-compatible server (started with :func:`mera_magic.serve.start`, i.e. what
``%mera serve`` does; the time until it answers is reported), the demo model and tasks, ``python -m lm_eval`` as a
child process, and ``%%mera`` cells in a fresh Jupyter kernel per concurrency (first run, then a repeat in the
same kernel).  Requests are counted in the server's log (``POST /v1/completions`` answered 200), so the figure is
what the server really served; ``%%mera`` also sends the one echo probe of its checks.
Targets (issue 15): ``%%mera`` at least as fast as the CLI at every concurrency; a repeat >= 5x faster than the CLI.

    python bench/bench_api.py [--vllm-python .venv-vllm/bin/python] [--concurrency 1 4 16]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jupyter_client.manager import start_new_kernel

from mera_magic import demo, serve

TASKS = "parus,rcb,bps,simplear"


def command(model: Path, tasks: Path, url: str, concurrency: int) -> str:
    return (f"lm_eval --model local-completions --model_args model={model},base_url={url}/completions,"
            f"num_concurrent={concurrency},max_retries=3,add_bos_token=True --include_path {tasks} --tasks {TASKS}")


def posts(server: serve.Server) -> int:
    return len(re.findall(r'"POST /v1/completions HTTP/1.1" 200', server.log(None)))


def timed(server: serve.Server, fn) -> tuple[float, int]:  # noqa: ANN001 - a callable
    before = posts(server)
    start = time.monotonic()
    fn()
    elapsed = time.monotonic() - start
    time.sleep(0.5)  # the server writes its access log line after answering
    return elapsed, posts(server) - before


def run_cli(cmd: str) -> None:
    done = subprocess.run([sys.executable, "-m", "lm_eval", *cmd.split()[1:]], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"lm_eval failed:\n{done.stderr[-3000:]}")


def run_cell(client, code: str) -> None:  # noqa: ANN001 - a BlockingKernelClient
    reply = client.execute_interactive(code, timeout=1800, output_hook=lambda msg: None)
    if reply["content"]["status"] != "ok":
        raise RuntimeError(f"cell failed: {reply['content'].get('ename')}: {reply['content'].get('evalue')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--vllm-python", default=os.environ.get("MERA_VLLM_PYTHON", ".venv-vllm/bin/python"))
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16])
    args = parser.parse_args()
    os.environ.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    model = demo.build_model()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tasks = demo.write_tasks(Path(tmp) / "tasks")
        server = serve.start(str(model), ["--dtype", "float32", "--max-model-len", "1024", "--enforce-eager"],
                             python=args.vllm_python, log_dir=tmp)
        print(f"vLLM server ready in {server.ready_seconds:.1f} s (serve.start, as `%mera serve`: --enforce-eager)",
              flush=True)
        try:
            for n in args.concurrency:
                cmd = command(model, tasks, server.base_url, n)
                cli_s, cli_n = timed(server, lambda cmd=cmd: run_cli(cmd))
                km, kc = start_new_kernel(kernel_name="python3")
                try:
                    run_cell(kc, "%load_ext mera_magic")
                    first_s, first_n = timed(server, lambda cmd=cmd, kc=kc: run_cell(kc, "%%mera --no-display\n" + cmd))
                    again_s, again_n = timed(server, lambda cmd=cmd, kc=kc: run_cell(kc, "%%mera --no-display\n" + cmd))
                finally:
                    kc.stop_channels()
                    km.shutdown_kernel(now=True)
                rows.append((n, cli_s, cli_n, first_s, first_n, again_s, again_n))
                print(f"num_concurrent={n:<3} CLI {cli_s:6.2f} s ({cli_n / cli_s:5.1f} req/s) | %%mera first "
                      f"{first_s:6.2f} s ({first_n / first_s:5.1f} req/s, CLI/first {cli_s / first_s:4.2f}x) | repeat "
                      f"{again_s:6.2f} s ({again_n / again_s:5.1f} req/s, CLI/repeat {cli_s / again_s:4.2f}x)  "
                      f"[{cli_n} requests]", flush=True)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
