"""Real Jupyter kernels: the quickstart notebook end to end, and the kernel's stop button during a run."""

from __future__ import annotations

import json
import queue
import shutil
import time
from pathlib import Path

import nbformat
import pytest
from jupyter_client.manager import start_new_kernel
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def test_quickstart_notebook_executes(tmp_path: Path) -> None:
    shutil.copy(ROOT / "examples" / "quickstart.ipynb", tmp_path / "quickstart.ipynb")
    nb = nbformat.read(tmp_path / "quickstart.ipynb", as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors == []
    text = json.dumps(nb)
    assert "Reusing the loaded model" in text  # the second run did not load the model again
    assert "not scored locally" in text  # the closed test set
    assert (tmp_path / "mera_results").is_dir()
    assert (tmp_path / "mera_results_submission.zip").is_file()


def _run(kc, code: str, timeout: float = 300) -> dict:  # noqa: ANN001 - a BlockingKernelClient
    return kc.execute_interactive(code, timeout=timeout, output_hook=lambda msg: None)["content"]


def test_stop_button_ends_a_run_and_the_kernel_stays_usable(demo_model: Path, demo_tasks: Path, tmp_path: Path) -> None:
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(tmp_path))
    try:
        assert _run(kc, "%load_ext mera_magic")["status"] == "ok"
        cell = ("%%mera\nMERA_TEST_VAR=1 lm_eval --model hf --model_args pretrained={m},dtype=float32 --device cpu "
                "--batch_size 1 --include_path {t} --use_cache {c} --tasks simplear,rumultiar,parus_gen,rummlu_gen "
                "--gen_kwargs max_gen_toks=64").format(m=demo_model, t=demo_tasks, c=tmp_path / "cache" / "demo")
        msg_id = kc.execute(cell)
        # wait until the run is answering requests, as a person would before pressing stop
        deadline = time.monotonic() + 240
        started = False
        while time.monotonic() < deadline and not started:
            try:
                msg = kc.get_iopub_msg(timeout=1)
            except queue.Empty:
                continue
            if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] in ("display_data", "update_display_data"):
                started = "generate_until" in json.dumps(msg["content"]) and "progress" in json.dumps(msg["content"])
        assert started, "the run never started answering requests"
        stopped_at = time.monotonic()
        km.interrupt_kernel()
        reply = kc.get_shell_msg(timeout=60)
        assert reply["parent_header"]["msg_id"] == msg_id
        assert reply["content"]["status"] == "error"
        assert reply["content"]["ename"] == "RunInterrupted"
        assert time.monotonic() - stopped_at < 30
        out: list[str] = []
        kc.execute_interactive("import os; print(os.environ.get('MERA_TEST_VAR'), 1 + 1)", timeout=30,
                               output_hook=lambda m: out.append(m["content"].get("text", "")))
        assert "None 2" in "".join(out)
        assert (tmp_path / "cache" / "demo_rank0.db").exists()  # what --use_cache stored is kept
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_multimodal_notebook_executes(tmp_path: Path) -> None:
    from mera_magic.lmeval.backends import backend_names

    if "hf-multimodal" not in backend_names():
        pytest.skip("this lm_eval has no hf-multimodal backend (it came with 0.4.5)")
    shutil.copy(ROOT / "examples" / "multimodal.ipynb", tmp_path / "multimodal.ipynb")
    nb = nbformat.read(tmp_path / "multimodal.ipynb", as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors == []
    text = json.dumps(nb)
    for code in ("auto-batch-unsupported", "mm-max-images", "mm-chat-template", "flash-attn", "media-env"):
        assert code in text, code  # the dry run names each mistake
    assert "data:image/png;base64," in text  # the Samples tab shows the documents' pictures
    assert (tmp_path / "mera_mm_results_multimodal_submission.zip").is_file()
