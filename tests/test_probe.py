"""mera_magic.probe: API-backend checks that ask the server (here: nothing listening, and non-API backends).

Against a real vLLM server (answers, served name, echo log-probs): tests/integration/test_vllm_server.py;
against `transformers serve`, which returns no echo log-probs: tests/integration/test_api_server.py.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from mera_magic import check, parse
from mera_magic.probe import api_findings, is_api_backend, models_url, parallel_findings

#: these tests compare English texts (the session's default language is Russian)
pytestmark = pytest.mark.usefixtures("english")


@pytest.mark.parametrize("base_url,expected", [
    ("http://h:1/v1/completions", "http://h:1/v1/models"),
    ("http://h:1/v1/chat/completions", "http://h:1/v1/models"),
    ("http://h:1/v1", "http://h:1/v1/models"),
    ("http://h:1/v1/", "http://h:1/v1/models"),
    ("http://h:1", "http://h:1/v1/models"),
])
def test_models_url(base_url: str, expected: str) -> None:
    assert models_url(base_url) == expected


def test_api_backends_are_those_with_a_base_url() -> None:
    assert is_api_backend("local-completions") and is_api_backend("local-chat-completions")
    assert not is_api_backend("hf") and not is_api_backend("no-such-backend")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_nothing_listening_is_an_error_before_any_model_loads(demo_tasks: Path) -> None:
    port = _closed_port()
    text = (f"lm_eval --model local-completions --model_args model=m,base_url=http://127.0.0.1:{port}/v1/completions "
            f"--include_path {demo_tasks} --tasks parus")
    hit = [f for f in check(text) if f.code == "server-down"]  # one finding (pre-flight's), not one per probe
    assert hit and hit[0].level == "error" and hit[0].where == "model_args.base_url"
    assert f"127.0.0.1:{port}" in hit[0].message and "%mera serve" in hit[0].message


def test_other_backends_and_default_urls_are_not_probed() -> None:
    assert api_findings(parse("lm_eval --model hf --model_args pretrained=x,base_url=http://127.0.0.1:1 --tasks a"),
                        {}) == []
    assert api_findings(parse("lm_eval --model local-completions --model_args model=m --tasks a"), {}) == []


def test_parallel_sizes_need_the_gpus_this_machine_has() -> None:
    from mera_magic.probe import visible_gpus

    gpus = visible_gpus()
    one = parse("lm_eval --model vllm --model_args pretrained=x,tensor_parallel_size=1 --tasks a")
    assert parallel_findings(one) == []
    too_many = parse(f"lm_eval --model vllm --model_args pretrained=x,tensor_parallel_size={gpus + 2},"
                     "data_parallel_size=1 --tasks a")
    found = parallel_findings(too_many)
    assert found and found[0].where == "model_args.tensor_parallel_size"
    assert found[0].level == ("info" if _cpu_build() and gpus == 0 else "error")
    assert f"needs {gpus + 2} GPU" in found[0].message or "CPU worker processes" in found[0].message
    narrowed = parse("CUDA_VISIBLE_DEVICES= lm_eval --model vllm --model_args pretrained=x,data_parallel_size=2 --tasks a")
    assert [f.where for f in parallel_findings(narrowed)] == ["model_args.data_parallel_size"]
    bad = parse("lm_eval --model vllm --model_args pretrained=x,tensor_parallel_size=two --tasks a")
    assert "must be a whole number" in parallel_findings(bad)[0].message


def _cpu_build() -> bool:
    from mera_magic.probe import _vllm_cpu_build

    return _vllm_cpu_build()
