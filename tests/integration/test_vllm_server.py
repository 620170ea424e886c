"""API backends through ``%%mera`` against a real vLLM OpenAI-compatible server (vLLM's CPU build) on 127.0.0.1.

The server runs in its own environment (``scripts/vllm-env.sh``), so these tests run with every lm_eval the
kernel has (CI: 0.4.13 and 0.4.4).  They drive a real IPython shell: ``local-completions`` on a multiple-choice
and a generative demo task, ``local-chat-completions`` on a generative one, each with ``num_concurrent > 1``
(lm_eval's ``asyncio.run`` path), and compare every answer with the in-process ``hf`` run of the same model;
then ``%mera serve`` itself, a server killed in the middle of a run, and the run after it.
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from mera_magic import check
from mera_magic.runner import model_cache, run
from mera_magic.serve import Server

from .conftest import VLLM_FLAGS

pytestmark = pytest.mark.slow

#: log-likelihoods from vLLM's float32 CPU kernels vs torch's: measured within 1e-5
LL_TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def ip() -> InteractiveShell:
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "mera_magic")
    return shell


def _cell(ip: InteractiveShell, line: str, body: str) -> tuple[Any, Any]:
    with capture_output() as out:
        result = ip.run_cell_magic("mera", line, body)
    return result, out


def _hf(demo_model: Path, demo_tasks: Path, tasks: str, extra: str = "") -> Any:
    return run(f"lm_eval --model hf --model_args pretrained={demo_model},dtype=float32,add_bos_token=True --device cpu "
               f"--batch_size 8 "
               f"--include_path {demo_tasks} --tasks {tasks} {extra}", display=False)


def _by_doc(result: Any, task: str) -> Any:
    return result.samples(task).sort_values("doc_id").reset_index(drop=True)


def _last_html(out: Any) -> str:
    htmls = [o.data.get("text/html", "") for o in out.outputs]
    return next((h for h in reversed(htmls) if "mera-progress" in h), "")


def test_local_completions_multiple_choice_and_generation_equal_hf(ip: InteractiveShell, vllm_server: Server,
                                                                   demo_model: Path, demo_tasks: Path,
                                                                   tmp_path: Path) -> None:
    remote, out = _cell(ip, "", f"""
lm_eval --model local-completions \\
  --model_args model={demo_model},base_url={vllm_server.base_url}/completions,num_concurrent=4,max_retries=1,add_bos_token=True \\
  --include_path {demo_tasks} --tasks parus,simplear --output_path {tmp_path / 'out'} --log_samples""")
    local = _hf(demo_model, demo_tasks, "parus,simplear")
    api, hf = _by_doc(remote, "parus"), _by_doc(local, "parus")
    assert len(api) == len(hf) == 16
    for a, b in zip(api["loglikelihoods"], hf["loglikelihoods"]):
        assert len(a) == len(b) == 2
        assert max(abs(x - y) for x, y in zip(a, b)) < LL_TOLERANCE, (a, b)
    assert list(api["pred_index"]) == list(hf["pred_index"])
    assert list(_by_doc(remote, "simplear")["filtered"]) == list(_by_doc(local, "simplear")["filtered"])
    values = {(r.task, r.metric): r.value for r in remote.metrics.itertuples()}
    assert values == pytest.approx({(r.task, r.metric): r.value for r in local.metrics.itertuples()})
    assert list((tmp_path / "out").rglob("samples_parus_*.jsonl"))
    # the progress counted the requests as they were answered: 32 choices, then 16 generations
    progress = _last_html(out)
    assert re.search(r"Requesting API.*?32/32", progress, re.S) and re.search(r"Requesting API.*?16/16", progress, re.S)


def test_local_chat_completions_generation_equals_hf(ip: InteractiveShell, vllm_server: Server, demo_model: Path,
                                                     demo_tasks: Path) -> None:
    remote, _ = _cell(ip, "", f"""
lm_eval --model local-chat-completions \\
  --model_args model={demo_model},base_url={vllm_server.base_url}/chat/completions,num_concurrent=4,max_retries=1 \\
  --apply_chat_template --include_path {demo_tasks} --tasks simplear""")
    local = _hf(demo_model, demo_tasks, "simplear", "--apply_chat_template")
    api, hf = _by_doc(remote, "simplear"), _by_doc(local, "simplear")
    assert len(api) == 16
    assert list(api["response"]) == list(hf["response"])


def test_checks_ask_the_server_before_the_first_request(vllm_server: Server, demo_model: Path,
                                                        demo_tasks: Path) -> None:
    url = vllm_server.base_url
    base = f"--include_path {demo_tasks} --tasks parus"
    ok = check(f"lm_eval --model local-completions --model_args model={demo_model},base_url={url}/completions {base}")
    assert not [f for f in ok if f.level == "error"], ok  # answers, serves the name, returns echo log-probs
    wrong = check(f"lm_eval --model local-completions --model_args model=demo-typo,base_url={url}/completions {base}")
    hit = [f for f in wrong if f.code == "server-model-not-served"]
    assert hit and hit[0].level == "error" and str(demo_model) in hit[0].message
    chat = check(f"lm_eval --model local-chat-completions --model_args model={demo_model},base_url={url}/chat/completions "
                 f"--include_path {demo_tasks} --tasks simplear")
    assert [f.level for f in chat if f.code == "chat-backend-without-template"] == ["error"]


def _posts(server: Server) -> int:
    return len(re.findall(r'"POST /v1/completions HTTP/1.1" 200', server.log(None)))


def test_serve_magic_a_server_killed_mid_run_and_the_rerun(ip: InteractiveShell, vllm_python: str,
                                                           vllm_server: Server, demo_model: Path,
                                                           demo_tasks: Path, tmp_path: Path) -> None:
    started = time.monotonic()
    server = ip.run_line_magic("mera", f"serve --python {vllm_python} {demo_model} {' '.join(VLLM_FLAGS)}")
    try:
        assert isinstance(server, Server) and server.alive() and server.answers()
        assert os.environ["MERA_SERVE_URL"] == server.base_url and os.environ["MERA_SERVE_MODEL"] == str(demo_model)
        with capture_output() as listed:
            ip.run_line_magic("mera", "serve")
            ip.run_line_magic("mera", "serve --log --lines 5")
        assert server.base_url in listed.stdout and "running" in listed.stdout
        print(f"%mera serve ready in {server.ready_seconds:.0f} s ({time.monotonic() - started:.0f} s with the call)")

        # kill the server once it has answered a few requests; the run must say how far it got
        def kill_after(count: int) -> None:
            deadline = time.monotonic() + 600
            while _posts(server) < count and time.monotonic() < deadline and server.alive():
                time.sleep(0.05)
            assert server.process is not None
            os.killpg(server.process.pid, signal.SIGKILL)

        cache = tmp_path / "lm_cache" / "demo"
        killer = threading.Thread(target=kill_after, args=(6,), daemon=True)
        killer.start()
        failed = ip.run_cell(f"""%%mera
lm_eval --model local-completions \\
  --model_args model=$MERA_SERVE_MODEL,base_url=$MERA_SERVE_URL/completions,num_concurrent=2,max_retries=2 \\
  --include_path {demo_tasks} --tasks parus --use_cache {cache}""")
        killer.join(30)
        error = failed.error_in_exec
        assert error is not None and "did not answer" in str(error), error
        done = re.search(r"\((\d+) of (\d+) requests answered; the answered ones are stored in --use_cache", str(error))
        assert done, str(error)
        answered, total = int(done[1]), int(done[2])
        assert total == 32 and 1 <= answered < total
        with sqlite3.connect(f"{cache}_rank0.db") as db:
            stored = db.execute("select count(*) from unnamed").fetchone()[0]
        assert stored == answered
        # nothing of the failed run is kept or left running
        assert not any(h.backend == "local-completions" for h in model_cache().held())
        assert not [t for t in threading.enumerate() if t.name == "mera-magic-run" and t.is_alive()]

        # the rerun (same model name, another server) asks only what the cache lacks; its log is clean
        before = _posts(vllm_server)
        with capture_output() as out:
            rerun = ip.run_cell(f"""%%mera
lm_eval --model local-completions \\
  --model_args model={demo_model},base_url={vllm_server.base_url}/completions,num_concurrent=2,max_retries=1 \\
  --include_path {demo_tasks} --tasks parus --use_cache {cache}""")
        assert rerun.error_in_exec is None, rerun.error_in_exec
        assert _posts(vllm_server) - before == total - answered + 1  # + the one echo probe of the checks
        shown = _last_html(out) + out.stdout + out.stderr
        for leak in ("Traceback", "Task exception was never retrieved", "CancelledError", "ClientConnectorError"):
            assert leak not in shown
        assert len(rerun.result.samples("parus")) == 16
    finally:
        with capture_output() as stopped:
            ip.run_line_magic("mera", "serve --stop")
    assert "stopped" in stopped.stdout and not server.alive()
    assert "MERA_SERVE_URL" not in os.environ


def test_serve_needs_a_python_with_vllm(ip: InteractiveShell, tmp_path: Path) -> None:
    from mera_magic.serve import ServeError

    with pytest.raises(ServeError, match="no Python at"):
        ip.run_line_magic("mera", f"serve --python {tmp_path}/nowhere/python some-model")
