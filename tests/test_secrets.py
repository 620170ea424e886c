"""mera_magic.secrets: secrets are values; the one masker; every output and file of a run goes through it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mera_magic import parse
from mera_magic.errors import MeraError, RunError
from mera_magic.lmeval.child_main import restore
from mera_magic.runner.child import secret_free
from mera_magic.secrets import MASK, is_secret_name, known_values, mask_data, mask_text, register
from mera_magic.session import SESSION


@pytest.fixture(autouse=True)
def _fresh_registry() -> Any:
    saved = (set(SESSION.secret_values), dict(SESSION.secrets))
    SESSION.secret_values.clear()
    SESSION.secrets.clear()
    yield
    SESSION.secret_values.clear()
    SESSION.secret_values.update(saved[0])
    SESSION.secrets.clear()
    SESSION.secrets.update(saved[1])


SECRET_NAMES = ["HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "use_auth_token", "auth_token", "access_token", "api_token",
                "token", "hf_token", "openai_api_key", "OPENAI_API_KEY", "api_key", "apiKey", "AWS_SECRET_ACCESS_KEY",
                "secret", "client_secret", "password", "DB_PASSWD", "Authorization", "X-Api-Key", "credentials"]
PLAIN_NAMES = ["max_tokens", "max_new_tokens", "max_gen_toks", "add_bos_token", "tokenizer", "tokenizer_backend",
               "tokenized_requests", "TOKENIZERS_PARALLELISM", "pad_token_id", "bos_token", "pretrained", "base_url",
               "dtype", "batch_size", "model", "keyword", "monkey"]


@pytest.mark.parametrize("name", SECRET_NAMES)
def test_secret_names(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize("name", PLAIN_NAMES)
def test_names_that_are_not_secrets(name: str) -> None:
    assert not is_secret_name(name)


@pytest.mark.parametrize("text,secret", [
    ("pretrained=x,use_auth_token=tok-aaaa1111,dtype=float32", "tok-aaaa1111"),
    ("Initializing hf model, with arguments: {'pretrained': 'x', 'token': 'plainvalue77'}", "plainvalue77"),
    ('{"model_args": {"openai_api_key": "abc-def-123"}}', "abc-def-123"),
    ("header={'Authorization': 'Bearer eyJhbGciOiJIUzI1'}", "eyJhbGciOiJIUzI1"),
    ("Authorization: Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA=="),
    ("base_url=https://user:S3cretPass@host:8000/v1/completions", "S3cretPass"),
    ("the key is hf_AbCdEfGhIjKlMnOpQrStUv in a sentence", "hf_AbCdEfGhIjKlMnOpQrStUv"),
    ("OPENAI said sk-proj-abcdefghijklmnop1234", "sk-proj-abcdefghijklmnop1234"),
    ("AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG", "wJalrXUtnFEMI/K7MDENG"),
])
def test_masked_by_name_or_shape(text: str, secret: str) -> None:
    masked = mask_text(text)
    assert secret not in masked
    assert MASK in masked
    assert secret in known_values() or secret not in masked  # shaped values need no registry


def test_registered_values_are_masked_anywhere() -> None:
    register("correct-horse-battery")
    SESSION.secrets["MYKEY"] = "from-mera-secret-9"
    text = "x correct-horse-battery y from-mera-secret-9 z"
    assert mask_text(text) == f"x {MASK} y {MASK} z"


def test_secret_named_environment_is_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOME_SERVICE_TOKEN", "envvalue-12345")
    assert "envvalue-12345" not in mask_text("got envvalue-12345 back")


def test_not_secrets_are_left_alone() -> None:
    text = "max_tokens=5,add_bos_token=True,token=$HF_TOKEN,use_auth_token=True,pretrained=hf_model"
    assert mask_text(text) == text


def test_mask_data_by_key_and_value() -> None:
    data = {"model_args": "pretrained=x,token=abc12345", "header": {"Authorization": "Bearer zzzzzzzz"},
            "api_key": "k-12345678", "add_bos_token": True, "n": [1, "sk-abcdefghijklmnopqrst"]}
    masked = mask_data(data)
    dumped = json.dumps(masked)
    for secret in ("abc12345", "zzzzzzzz", "k-12345678", "sk-abcdefghijklmnopqrst"):
        assert secret not in dumped
    assert masked["add_bos_token"] is True
    # a key-named value seen once is masked wherever it appears later
    assert "k-12345678" not in mask_text("echo k-12345678")


def test_runspec_repr_and_masked_copy() -> None:
    spec = parse("HF_TOKEN=hf_spec0000000000000000000 MY_PASSWORD=pw-123456 lm_eval --model local-completions "
                 "--model_args base_url=https://u:urlpass99@h/v1/completions,api_key=apikey-777 --tasks parus")
    spec.model_args["header"] = {"Authorization": "Bearer hdr-token-1"}  # lm_eval 0.4.13 takes a dict here
    shown = repr(spec) + str(spec) + repr(spec.masked())
    for secret in ("hf_spec0000000000000000000", "pw-123456", "urlpass99", "apikey-777", "hdr-token-1"):
        assert secret not in shown, secret
    assert spec.model_args["api_key"] == "apikey-777"  # the spec itself keeps the values for the run


def test_errors_are_masked_short_and_long() -> None:
    register("err-secret-123")
    error = RunError("could not connect with token=err-secret-123", hint="Bearer err-secret-123")
    assert "err-secret-123" not in str(error)
    MeraError.short = False
    try:
        try:
            raise error
        except RunError as raised:
            lines = raised._render_traceback_()
    finally:
        MeraError.short = True
    assert "err-secret-123" not in "".join(lines)


def test_child_argv_carries_placeholders_only() -> None:
    register("hf_child00000000000000000000")
    argv = ["--model", "hf", "--model_args", "pretrained=x,token=hf_child00000000000000000000,api_key=other-secret-1",
            "--tasks", "parus"]
    free, carried = secret_free(argv)
    assert "hf_child00000000000000000000" not in " ".join(free) and "other-secret-1" not in " ".join(free)
    assert restore(free, carried) == argv


def test_markdown_export_escapes_html() -> None:
    from mera_magic.results.export import markdown_table

    table = markdown_table(["Task"], [["<script>alert(1)</script>"], ["<img src=x onerror=alert(1)>"]])
    assert "<script>" not in table and "<img" not in table
    assert "&lt;script&gt;" in table


def test_facade_names_stay_functions() -> None:
    code = ("import mera_magic, types\n"
            "first = mera_magic.submission\n"
            "import mera_magic.submission\n"
            "assert callable(mera_magic.submission) and not isinstance(mera_magic.submission, types.ModuleType)\n"
            "assert mera_magic.submission is first\n"
            "for name in ('run', 'load', 'runs', 'compare', 'validate_archive', 'run_suite'):\n"
            "    assert callable(getattr(mera_magic, name)), name\n"
            "from mera_magic.submission import samples_files\n"
            "print('ok')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")})
    assert done.stdout.strip() == "ok", done.stderr


def test_facade_submodule_imported_first() -> None:
    code = ("import mera_magic.submission\nimport mera_magic\nimport types\n"
            "assert not isinstance(mera_magic.submission, types.ModuleType)\nprint('ok')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")})
    assert done.stdout.strip() == "ok", done.stderr
