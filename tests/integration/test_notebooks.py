"""Real Jupyter kernels: the example notebooks end to end (quickstart, multimodal, OpenAI-like server with a real
vLLM server, comparing two models), and the kernel's stop button during a run."""

from __future__ import annotations

import json
import re
import shutil
import socket
import time
from pathlib import Path

import nbformat
import pytest
from jupyter_client.manager import start_new_kernel
from nbclient import NotebookClient

from .kernel_outputs import wait_for_display

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _executed(name: str, folder: Path) -> nbformat.NotebookNode:
    """examples/``name`` executed top to bottom in a real kernel working in ``folder``; no cell failed."""
    shutil.copy(ROOT / "examples" / name, folder / name)
    nb = nbformat.read(folder / name, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors == []
    return nb


def test_quickstart_notebook_executes(tmp_path: Path) -> None:
    nb = _executed("quickstart.ipynb", tmp_path)
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
        started = wait_for_display(
            kc, msg_id, lambda content: "generate_until" in json.dumps(content) and "progress" in json.dumps(content),
            timeout=240)
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
    nb = _executed("multimodal.ipynb", tmp_path)
    text = json.dumps(nb)
    for code in ("auto-batch-unsupported", "mm-max-images", "mm-chat-template", "flash-attn", "media-env"):
        assert code in text, code  # the dry run names each mistake
    assert "data:image/png;base64," in text  # the Samples tab shows the documents' pictures
    assert (tmp_path / "mera_mm_results_multimodal_submission.zip").is_file()


def _cell_text(nb: nbformat.NotebookNode, source_start: str) -> str:
    """Everything the code cell whose source starts with ``source_start`` showed: streams, text and HTML."""
    cells = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith(source_start)]
    assert len(cells) == 1, f"{len(cells)} cells start with {source_start!r}"
    parts = []
    for output in cells[0].outputs:
        parts.append(output.get("text", ""))
        data = output.get("data", {})
        parts += [data.get("text/plain", ""), data.get("text/html", "")]
    return "\n".join(parts)


def _vllm_processes(port: int) -> list[int]:
    """Process ids of vLLM servers listening on ``port`` (read from /proc: what is really running)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"vllm.entrypoints.openai.api_server" in argv and b"--port" in argv \
                and argv[argv.index(b"--port") + 1] == str(port).encode():
            found.append(int(proc.name))
    return found


def _port_answers(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_openai_server_notebook_executes(tmp_path: Path, vllm_python: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The guide's local-completions scenario against a real vLLM server the notebook starts and stops."""
    monkeypatch.setenv("MERA_VLLM_PYTHON", vllm_python)  # the kernel inherits it: `%mera serve` finds vLLM there
    shutil.copy(ROOT / "examples" / "openai_server.ipynb", tmp_path / "openai_server.ipynb")
    nb = nbformat.read(tmp_path / "openai_server.ipynb", as_version=4)
    client = NotebookClient(nb, timeout=1200, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    port = None
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            if cell.source.startswith("%mera serve --stop"):
                assert port is not None and _vllm_processes(port) and _port_answers(port)  # running until now
            client.execute_cell(cell, index)
            if cell.source.startswith("%mera serve $MODEL"):
                served = re.search(r"vLLM serves `[^`]+` at http://127\.0\.0\.1:(\d+)/v1", _cell_text(nb, "%mera serve $MODEL"))
                assert served, _cell_text(nb, "%mera serve $MODEL")
                port = int(served[1])
        # the kernel is still running: the server is gone because of `%mera serve --stop`, not the kernel's exit
        assert port is not None and _vllm_processes(port) == [] and not _port_answers(port)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors == []
    assert "stopped " in _cell_text(nb, "%mera serve --stop") and f":{port}/v1" in _cell_text(nb, "%mera serve --stop")
    # pre-flight asked the real server: the guide's model name is not what it serves
    dry = _cell_text(nb, "mera_magic.dry_run(")
    assert "server-model-not-served" in dry and "meta-llama/Llama-3.2-3B-Instruct" in dry
    # the guide's command: metrics of both tasks, answers kept in --use_cache, lm_eval's files written
    metrics = _cell_text(nb, "api.metrics")
    assert re.search(r"simplear\s+exact_match", metrics) and re.search(r"bps\s+acc", metrics), metrics
    assert (tmp_path / "cache" / "demo-server_rank0.db").is_file()
    for folder, tasks in (("demo-server", ("simplear", "bps")), ("demo-server-chat", ("simplear",)),
                          ("demo-hf", ("simplear", "bps"))):
        for task in tasks:
            assert list((tmp_path / "results" / folder).rglob(f"samples_{task}_*.jsonl")), (folder, task)
    assert "Requesting API" in _cell_text(nb, "%%mera -o chat")  # the chat run went to the server
    # the server's answers are the in-process model's
    same = _cell_text(nb, "for task in ['simplear', 'bps']")
    assert "simplear: 0 of 16 documents answered differently" in same
    assert "bps: 0 of 16 documents answered differently" in same
    largest = re.search(r"largest log-likelihood difference on bps: (\S+)", same)
    assert largest and float(largest[1]) < 1e-3, same
    table = _cell_text(nb, "cmp = mera_magic.compare(api, local")
    assert "vLLM server" in table and "hf in-process" in table


def test_compare_models_notebook_executes(tmp_path: Path) -> None:
    """Two demo models, the same command, the comparison, and the comparison rebuilt from disk."""
    nb = _executed("compare_models.ipynb", tmp_path)
    tasks = ("parus", "rcb", "bps", "simplear", "rumultiar")
    folders = sorted((tmp_path / "compare_results").iterdir())
    assert [f.name.rsplit("__", 1)[-1] for f in folders] == ["a", "b"]  # one results folder per model
    for folder in folders:
        assert {p.name.split("_")[1] for p in folder.glob("samples_*.jsonl")} == set(tasks)
    listed = re.findall(r"<td>((?:[a-z]+, )+[a-z]+)</td>", _cell_text(nb, "%mera runs"))  # the tasks column, per run
    assert [set(t.split(", ")) for t in listed] == [set(tasks)] * 2
    markdown = _cell_text(nb, "print(cmp.to_markdown())")
    header = markdown.splitlines()[0]
    assert "a (300 steps)" in header and "Δ b (40 steps)" in header
    rows = {line.split("|")[1].strip() for line in markdown.splitlines()[2:] if line.startswith("|")}
    assert rows == set(tasks)
    differently = re.findall(r"(\w+): +(\d+) of (\d+) documents answered differently",
                             _cell_text(nb, "for task in ['parus'"))
    assert [t for t, _, _ in differently] == list(tasks)
    assert sum(int(n) for _, n, _ in differently) > 0  # the less trained model answers some documents otherwise
    assert "the same comparison from disk: True" in _cell_text(nb, "b_again, a_again")
