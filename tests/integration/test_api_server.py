"""API backends against a real OpenAI-compatible server on this machine: ``transformers serve`` with the demo model,
and against no server at all (a run that fails must leave nothing behind).

The run goes through lm_eval's local-chat-completions / local-completions clients in mera-magic's worker thread
(``num_concurrent > 1`` takes lm_eval's asyncio path, which fails on a notebook's own event loop), and the
answers must be the ones the same model gives in-process.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from mera_magic.runner import run

pytestmark = pytest.mark.slow


def _transformers_major() -> int:
    import transformers

    return int(transformers.__version__.split(".")[0])


#: CI's oldest-lm_eval run pins transformers < 5
needs_transformers_5 = pytest.mark.skipif(
    _transformers_major() < 5,
    reason="transformers < 5's `transformers serve` has no /v1/completions and answers lm_eval's chat requests with "
           "HTTP 500; those tests run in the newest-lm_eval run (vLLM's server is tested in both: test_vllm_server.py)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(demo_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``transformers serve`` on a free loopback port, stopped after the module."""
    cli = shutil.which("transformers", path=str(Path(sys.executable).parent))
    if cli is None:  # pragma: no cover - the test extras install transformers[serving]
        pytest.fail("`transformers serve` is not installed: pip install -e '.[test]' brings transformers[serving]")
    port = _free_port()
    log = tmp_path_factory.mktemp("server") / "serve.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([cli, "serve", str(demo_model), "--host", "127.0.0.1", "--port", str(port),
                                 "--device", "cpu", "--dtype", "float32"], stdout=out, stderr=subprocess.STDOUT,
                                env=os.environ)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/v1/models", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"transformers serve did not start:\n{log.read_text()[-2000:]}")
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        proc.wait(20)


def _answers(result, task: str) -> list[str]:  # noqa: ANN001 - a RunResult
    frame = result.samples(task)
    return [str(x) for x in frame.sort_values("doc_id")["filtered"]]


@needs_transformers_5
def test_chat_completions_server_gives_the_in_process_answers(server: str, demo_model: Path, demo_tasks: Path,
                                                              tmp_path: Path) -> None:
    common = f"--include_path {demo_tasks} --apply_chat_template --limit 6 --tasks simplear --gen_kwargs max_gen_toks=8"
    remote = run(f"lm_eval --model local-chat-completions --model_args model={demo_model},"
                 f"base_url={server}/v1/chat/completions,num_concurrent=2,max_retries=1 "
                 f"--output_path {tmp_path / 'api'} --log_samples {common}", display=False)
    local = run(f"lm_eval --model hf --model_args pretrained={demo_model},dtype=float32 --device cpu {common}",
                display=False)
    assert _answers(remote, "simplear") == _answers(local, "simplear")
    assert list((tmp_path / "api").rglob("samples_simplear_*.jsonl"))


@needs_transformers_5
def test_completions_server_with_a_local_tokenizer(server: str, demo_model: Path, demo_tasks: Path) -> None:
    common = f"--include_path {demo_tasks} --limit 6 --tasks simplear --gen_kwargs max_gen_toks=8"
    remote = run(f"lm_eval --model local-completions --model_args model={demo_model},"
                 f"base_url={server}/v1/completions,tokenized_requests=False,tokenizer_backend=huggingface,"
                 f"tokenizer={demo_model},num_concurrent=2,max_retries=1 {common}", display=False)
    local = run(f"lm_eval --model hf --model_args pretrained={demo_model},dtype=float32 --device cpu {common}",
                display=False)
    assert _answers(remote, "simplear") == _answers(local, "simplear")


@needs_transformers_5
def test_wrong_endpoint_gets_a_clear_message(server: str, demo_model: Path, demo_tasks: Path) -> None:
    from mera_magic.errors import CheckError, RunError

    text = (f"lm_eval --model local-completions --model_args model={demo_model},base_url={server}/v1/no-such-endpoint,"
            f"tokenized_requests=False,tokenizer_backend=huggingface,tokenizer={demo_model},max_retries=1 "
            f"--include_path {demo_tasks} --limit 2 --tasks simplear")
    with pytest.raises(CheckError) as checked:  # the pre-flight probe names it before anything loads
        run(text, display=False)
    assert "server-wrong-path" in {f.code for f in checked.value.findings}
    with pytest.raises(RunError, match="refused the requests"):  # and a run that goes ahead anyway says so too
        run(text, display=False, run_checks=False)


@needs_transformers_5
@pytest.mark.usefixtures("english")  # the message is compared in English
def test_a_server_without_echo_logprobs_is_refused_for_multiple_choice(server: str, demo_model: Path,
                                                                        demo_tasks: Path) -> None:
    from mera_magic import check

    base = (f"lm_eval --model local-completions --model_args model={demo_model},base_url={server}/v1/completions,"
            f"tokenized_requests=False --include_path {demo_tasks} --tasks ")
    hit = [f for f in check(base + "parus") if f.code == "server-no-echo"]
    assert hit and hit[0].level == "error" and "parus" in hit[0].message and "log-probs" in hit[0].message
    assert not [f for f in check(base + "simplear") if f.level == "error"]  # generation needs no log-probs


def _closed_port() -> int:
    return _free_port()


def test_a_failed_concurrent_run_leaves_nothing_for_the_next_cell(demo_model: Path, demo_tasks: Path) -> None:
    """Measured on main before the fix: ~200 lines of aiohttp/tenacity tracebacks in the next cell's log.

    They come from asyncio ("Task exception was never retrieved", one per failed request) whenever the failed
    requests are garbage-collected, i.e. during some later cell; a handler on asyncio's logger sees them wherever
    they would be printed.
    """
    import gc
    import logging
    import threading

    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    from mera_magic.errors import RunError
    from mera_magic.runner import model_cache

    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logging.getLogger("asyncio").addHandler(handler)
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "mera_magic")
    port = _closed_port()
    try:
        with pytest.raises(RunError, match=r"did not answer \(0 of \d+ requests answered"):
            run(f"lm_eval --model local-completions --model_args model={demo_model},"
                f"base_url=http://127.0.0.1:{port}/v1/completions,num_concurrent=8,max_retries=3 "
                f"--include_path {demo_tasks} --tasks parus", display=False, run_checks=False)
        assert not any(h.backend == "local-completions" for h in model_cache().held())
        assert not [t for t in threading.enumerate() if t.name == "mera-magic-run" and t.is_alive()]
        with capture_output() as out:
            gc.collect()  # what happens at some point during a later cell
            ip.run_cell_magic("mera", "", f"lm_eval --model hf --model_args pretrained={demo_model},dtype=float32 "
                                          f"--device cpu --include_path {demo_tasks} --tasks simplear --limit 2")
            gc.collect()
    finally:
        logging.getLogger("asyncio").removeHandler(handler)
    assert [r.getMessage() for r in records] == []
    html = "".join(o.data.get("text/html", "") for o in out.outputs)
    assert "mera-progress" in html
    for leak in ("Traceback", "Task exception was never retrieved", "ClientConnectorError", "RetryError"):
        assert leak not in html + out.stdout + out.stderr, leak
