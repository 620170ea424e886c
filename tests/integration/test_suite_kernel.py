"""A MERA suite in a real Jupyter kernel: the board shown once, lm_eval's log kept out of the cell, a small saved
notebook, `--dry-run` and `--help` of the cell magic, and the stop button stopping the whole suite."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import nbformat
import pytest
from jupyter_client.manager import start_new_kernel
from nbclient import NotebookClient

from .kernel_outputs import wait_for_display

pytestmark = pytest.mark.slow

#: the demo tasks that are MERA tasks: multiple choice, generation, closed test, dialogue loop, code sampling
DEMO_SUITE = "simplear,bps,parus,rcb,rummlu,rumultiar,ruhumaneval,rutie"


def _command(model: Path, tasks: Path, out: Path, names: str = DEMO_SUITE, limit: int = 4) -> str:
    return (f"lm_eval --model hf --model_args pretrained={model},dtype=float32 --device cpu --batch_size 8 "
            f"--include_path {tasks} --output_path {out} --predict_only --log_samples --limit {limit} --tasks {names}")


def test_suite_cell_output_is_one_board_and_small(demo_model: Path, demo_tasks: Path, tmp_path: Path) -> None:
    command = _command(demo_model, demo_tasks, tmp_path / "out")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in (
        "%load_ext mera_magic",
        "%%mera --help",
        f"%%mera --suite mera --dry-run\n{command}",
        f"%%mera --suite mera\n{command}",
        f"%%mera --suite mera --dry-run\n{command}",
    )]
    NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [o for c in nb.cells for o in c.outputs if o.output_type == "error"]
    assert errors == []
    help_text = "".join(o.get("text", "") for o in nb.cells[1].outputs)
    assert "--suite SUITE" in help_text and "--set TASK:SETTING=V" in help_text  # empty body: no UsageError

    plan = json.dumps(nb.cells[2].outputs)
    assert "No `--tasks` given" not in plan
    assert "would run" in plan and "temperature=0.6,do_sample=True" in plan and "2-shot" in plan

    suite = nb.cells[3]
    boards = [o for o in suite.outputs if "text/html" in o.get("data", {}) and "mera-suite" in o["data"]["text/html"]]
    assert len(boards) == 1  # shown once, updated in place
    html = boards[0]["data"]["text/html"]
    assert html.count(">done<") == 8, html
    streams = [o for o in suite.outputs if o.output_type == "stream"]
    assert not [s for s in streams if "Label index" in s["text"] or "WARNING" in s["text"]], streams
    size = len(json.dumps(suite.outputs))
    assert size < 100_000 / 23 * 8, size  # under 100 KB for MERA's 23 tasks at this rate

    again = nb.cells[4].outputs[0]["data"]["text/html"]  # after the run, resume would skip every task
    assert again.count(">would skip<") == 8 and "already done" in again


def test_stop_button_stops_the_whole_suite(demo_model: Path, demo_tasks: Path, tmp_path: Path) -> None:
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(tmp_path))
    try:
        reply = kc.execute_interactive("%load_ext mera_magic", timeout=120, output_hook=lambda msg: None)
        assert reply["content"]["status"] == "ok"
        cell = "%%mera --suite mera\n" + _command(demo_model, demo_tasks, tmp_path / "out", "simplear,parus,rcb,rutie",
                                                  limit=12)
        msg_id = kc.execute(cell)
        running = re.compile(r"<code>parus</code>(?:(?!</tr>).)*>running<", re.S)
        started = wait_for_display(kc, msg_id, lambda content: bool(running.search(content["data"].get("text/html", ""))),
                                   timeout=400)
        assert started, "the suite never reached its second task"
        stopped_at = time.monotonic()
        km.interrupt_kernel()
        reply = kc.get_shell_msg(timeout=120)
        assert reply["parent_header"]["msg_id"] == msg_id
        assert reply["content"]["status"] == "error"
        assert reply["content"]["ename"] == "RunInterrupted"
        assert "suite mera stopped" in reply["content"]["evalue"]
        assert time.monotonic() - stopped_at < 60
        # one press stopped the suite: rcb and rutie never started, simplear's files are kept for resume
        assert not list((tmp_path / "out").rglob("samples_rcb_*"))
        assert not list((tmp_path / "out").rglob("samples_rutie_*"))
        assert list((tmp_path / "out").rglob("samples_simplear_*"))
        # the kernel stays usable: its stdout is its own again and no run is left behind
        for _ in range(5):  # ipykernel aborts requests that arrive right after an error reply: ask again
            check = kc.execute_interactive(
                "import sys, threading", timeout=60, output_hook=lambda m: None,
                user_expressions={"out": "type(sys.stdout).__name__", "err": "type(sys.stderr).__name__",
                                  "runs": "[t.name for t in threading.enumerate() if t.name == 'mera-magic-run']"})
            if check["content"]["status"] != "aborted":
                break
            time.sleep(1)
        assert check["content"]["status"] == "ok", check["content"]
        values = {k: v["data"]["text/plain"] for k, v in check["content"]["user_expressions"].items()}
        assert values == {"out": "'OutStream'", "err": "'OutStream'", "runs": "[]"}, values
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
