"""API backends against a real OpenAI-compatible server on this machine: ``transformers serve`` with the demo model.

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


if _transformers_major() < 5:  # CI's oldest-lm_eval run pins transformers < 5
    pytest.skip("transformers < 5's `transformers serve` has no /v1/completions and answers lm_eval's chat requests "
                "with HTTP 500; the API backends are tested against transformers 5's server in the newest-lm_eval run",
                allow_module_level=True)


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


def test_completions_server_with_a_local_tokenizer(server: str, demo_model: Path, demo_tasks: Path) -> None:
    common = f"--include_path {demo_tasks} --limit 6 --tasks simplear --gen_kwargs max_gen_toks=8"
    remote = run(f"lm_eval --model local-completions --model_args model={demo_model},"
                 f"base_url={server}/v1/completions,tokenized_requests=False,tokenizer_backend=huggingface,"
                 f"tokenizer={demo_model},num_concurrent=2,max_retries=1 {common}", display=False)
    local = run(f"lm_eval --model hf --model_args pretrained={demo_model},dtype=float32 --device cpu {common}",
                display=False)
    assert _answers(remote, "simplear") == _answers(local, "simplear")


def test_wrong_endpoint_gets_a_clear_message(server: str, demo_model: Path, demo_tasks: Path) -> None:
    from mera_magic.errors import RunError

    with pytest.raises(RunError, match="refused the requests"):
        run(f"lm_eval --model local-completions --model_args model={demo_model},base_url={server}/v1/no-such-endpoint,"
            f"tokenized_requests=False,tokenizer_backend=huggingface,tokenizer={demo_model},max_retries=1 "
            f"--include_path {demo_tasks} --limit 2 --tasks simplear", display=False)
