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
from mera_magic.display import to_html
from mera_magic.display.outputs import masked
from mera_magic.display.view import result_bundle
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
               "dtype", "batch_size", "model", "keyword", "monkey", "PWD", "OLDPWD"]


@pytest.mark.parametrize("name", SECRET_NAMES)
def test_secret_names(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize("name", PLAIN_NAMES)
def test_names_that_are_not_secrets(name: str) -> None:
    assert not is_secret_name(name)


#: fake credentials, assembled here so that no token-shaped literal is committed (scanners flag those)
FAKE_HF = "hf_" + "AbCdEfGhIjKlMnOpQrStUv"
FAKE_OPENAI = "sk-" + "proj-abcdefghijklmnop1234"
FAKE_AWS = "wJalrXUtn" + "FEMI/K7MDENG"


@pytest.mark.parametrize("text,secret", [
    ("pretrained=x,use_auth_token=tok-aaaa1111,dtype=float32", "tok-aaaa1111"),
    ("Initializing hf model, with arguments: {'pretrained': 'x', 'token': 'plainvalue77'}", "plainvalue77"),
    ('{"model_args": {"openai_api_key": "abc-def-123"}}', "abc-def-123"),
    ("header={'Authorization': 'Bearer eyJhbGciOiJIUzI1'}", "eyJhbGciOiJIUzI1"),
    ("Authorization: Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA=="),
    ("base_url=https://user:S3cretPass@host:8000/v1/completions", "S3cretPass"),
    (f"the key is {FAKE_HF} in a sentence", FAKE_HF),
    (f"OPENAI said {FAKE_OPENAI}", FAKE_OPENAI),
    (f"AWS_SECRET_ACCESS_KEY={FAKE_AWS}", FAKE_AWS),
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
            "--tasks", "parus", "--model_args",
            '{"base_url": "http://u:urlsecret-1@h/v1", "header": {"Authorization": "Bearer hdrsecret-1"}}']
    free, carried = secret_free(argv)
    for secret in ("hf_child00000000000000000000", "other-secret-1", "urlsecret-1", "hdrsecret-1"):
        assert secret not in " ".join(free)
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


# -- real runs: every byte a run writes or shows ---------------------------------------------------------------
#: one distinct token per route; each must appear nowhere the project writes or shows
ROUTE_TOKENS = {
    "literal": "hf_LITERALaaaaaaaaaaaaaaaaaaaa",
    "var": "VARTOKEN-bbbbbbbbbbbb",
    "mera_secret": "SESSIONTOKEN-cccccccccc",
    "USE_AUTH_TOKEN": "useauth-dddddddddd",
    "ACCESS_TOKEN": "access-eeeeeeeeee",
    "OPENAI_API_KEY": "openaikey-ffffffff",
    "API_TOKEN": "apitoken-gggggggg",
    "AWS_SECRET_ACCESS_KEY": "awssecret-hhhhhhhh",
    "MY_PASSWORD": "password-iiiiiiii",
}


def _route_command(model: Path, tasks: Path, out: Path) -> str:
    t = ROUTE_TOKENS
    variables = " ".join(f"{name}={t[name]}" for name in ("USE_AUTH_TOKEN", "ACCESS_TOKEN", "OPENAI_API_KEY",
                                                           "API_TOKEN", "AWS_SECRET_ACCESS_KEY", "MY_PASSWORD"))
    return (f"{variables} lm_eval --model hf --model_args pretrained={model},dtype=float32,token={t['literal']} "
            f"--device cpu --batch_size 4 --include_path {tasks} --output_path {out} --log_samples "
            "--tasks parus")


def _bytes_under(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


def _assert_no_token(blob: bytes | str, where: str) -> None:
    data = blob.encode("utf-8") if isinstance(blob, str) else blob
    leaked = [name for name, token in ROUTE_TOKENS.items() if token.encode() in data]
    assert not leaked, f"{where} shows the tokens of {leaked}"


@pytest.mark.slow
@pytest.mark.parametrize("child", [False, True], ids=["in_process", "child_process"])
def test_run_writes_and_shows_no_secret(demo_model: Path, demo_tasks: Path, tmp_path: Path, child: bool) -> None:
    from mera_magic.runner import run
    from mera_magic.submission import submission

    SESSION.secrets["MYKEY"] = ROUTE_TOKENS["mera_secret"]
    namespace = {"VARKEY": ROUTE_TOKENS["var"]}
    out = tmp_path / "out"
    text = _route_command(demo_model, demo_tasks, out)
    # the $VAR and %mera secret routes go through variables the run carries
    text = f"VAR_TOKEN=$VARKEY SESSION_TOKEN=$MYKEY {text}"
    result = run(text, namespace=namespace, display=False, subprocess=child)
    shown = [repr(result), repr(result.spec), str(result.config), json.dumps(result.raw, default=str),
             result.to_markdown(), to_html(result) or "", result.to_csv() or "",
             json.dumps(masked(result_bundle(result)), default=str)]  # what the notebook gets (display.outputs)
    _assert_no_token("\n".join(shown), "the RunResult")
    _assert_no_token(_bytes_under(out), "the results and samples files")
    written = json.loads(next(out.rglob("results_*.json")).read_text(encoding="utf-8"))
    assert written["config"]["model_args"]  # still lm_eval's record, with the values masked
    archive = submission(out, dst=tmp_path / "sub.zip", tasks="parus", allow_partial=True)
    _assert_no_token(Path(archive.path).read_bytes(), "the submission archive")
    import io
    import zipfile

    with zipfile.ZipFile(archive.path) as zf, zipfile.ZipFile(io.BytesIO(zf.read("logs_public.zip"))) as logs:
        _assert_no_token(b"".join(logs.read(name) for name in logs.namelist()), "logs_public.zip")


@pytest.mark.slow
def test_failed_run_error_shows_no_secret(demo_tasks: Path, tmp_path: Path) -> None:
    from mera_magic.runner import run

    text = ("lm_eval --model local-completions --model_args "
            f"base_url=http://user:{ROUTE_TOKENS['literal']}@127.0.0.1:9/v1/completions,"
            f"model=x,tokenizer_backend=None,api_key={ROUTE_TOKENS['OPENAI_API_KEY']},max_retries=1 "
            f"--include_path {demo_tasks} --tasks simplear --limit 1 --output_path {tmp_path / 'o'}")
    with pytest.raises(MeraError) as raised:
        run(text, display=False, run_checks=False)
    MeraError.short = False
    try:
        shown = "".join(raised.value._render_traceback_()) + str(raised.value)
    finally:
        MeraError.short = True
    _assert_no_token(shown, "the error")


@pytest.mark.slow
def test_child_command_line_has_no_secret(demo_model: Path, demo_tasks: Path, tmp_path: Path) -> None:
    """While the child runs, /proc/<pid>/cmdline (readable by every user) holds placeholders only."""
    import threading
    import time

    from mera_magic.runner import run

    seen: list[bytes] = []
    done = threading.Event()

    def watch() -> None:
        me = os.getpid()
        while not done.is_set():
            for proc in Path("/proc").iterdir():
                if not proc.name.isdigit() or int(proc.name) == me:
                    continue
                try:
                    cmdline = (proc / "cmdline").read_bytes()
                except OSError:
                    continue
                if b"child_main" in cmdline or b"lm_eval" in cmdline:
                    seen.append(cmdline)
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        run(_route_command(demo_model, demo_tasks, tmp_path / "o"), display=False, subprocess=True)
    finally:
        done.set()
        watcher.join(5)
    assert any(b"child_main" in c for c in seen), "the child process was never seen"
    _assert_no_token(b"\n".join(seen), "the child's command line")
