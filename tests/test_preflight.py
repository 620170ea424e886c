"""mera_magic.preflight (models, servers, devices, packages) and the shell language, through a real IPython shell.

No network: the conftest switches the hub off and gives an empty HF_HOME.  The hub cache is populated by the test
itself (save_pretrained of the demo model into huggingface_hub's cache layout); the servers are real local HTTP
servers started by the test.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from guide_commands import FULL
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from mera_magic import check
from mera_magic.dryrun import DryRun
from mera_magic.errors import CheckError, ParseError
from mera_magic.findings import Finding
from mera_magic.lmeval.backends import get_backend
from mera_magic.preflight import devices, servers
from mera_magic.preflight.packages import installed
from mera_magic.session import SESSION
from mera_magic.texts import text as say


@pytest.fixture(scope="module")
def ip() -> Iterator[InteractiveShell]:
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "mera_magic")
    shell.run_line_magic("config", "MeraMagic.language = 'en'")
    yield shell
    shell.run_line_magic("config", "MeraMagic.language = 'ru'")


@pytest.fixture(autouse=True)
def fresh_probes() -> Iterator[None]:
    SESSION.probes.clear()
    yield
    SESSION.probes.clear()


@pytest.fixture()
def in_tmp(tmp_path: Path) -> Iterator[Path]:
    """A working folder outside any git repository and without MERA's task folders."""
    before = os.getcwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(before)


@pytest.fixture(scope="module", autouse=True)
def tasks_here(ip: InteractiveShell, demo_tasks: Path) -> None:
    """``$TASKS``: the demo task folder (MERA-format tasks), so commands name real tasks without lm_eval's index."""
    ip.user_ns["TASKS"] = str(demo_tasks)


def dry(ip: InteractiveShell, text: str) -> tuple[Any, list[Finding]]:
    """Run ``%%mera --dry-run`` in the shell; return (the cell's error or None, the findings shown).

    ``--tasks parus`` at the end of ``text`` gets ``--include_path $TASKS`` (the demo tasks) added."""
    if text.endswith("--tasks parus"):
        text = text.replace("--tasks parus", "--include_path $TASKS --tasks parus")
    with capture_output() as out:
        result = ip.run_cell("%%mera --dry-run\n" + text)
    error = result.error_in_exec
    if isinstance(error, CheckError):
        shown = [o for o in out.outputs if "text/html" in o.data]
        assert shown and say("dryrun.would-not-run") in shown[0].data["text/html"]  # all shown, then the cell fails
        return error, list(error.findings or [])
    assert error is None, error
    assert isinstance(result.result, DryRun)
    return None, result.result.findings


def errors(findings: list[Finding]) -> dict[str, Finding]:
    return {f.code: f for f in findings if f.level == "error"}


# -- a real hub cache, made by the test ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def hub_home(demo_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """HF_HOME whose hub cache holds the demo model as ``mera-test/tiny`` (save_pretrained into the layout)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    home = tmp_path_factory.mktemp("hf_home")
    repo = home / "hub" / "models--mera-test--tiny"
    commit = "0123456789abcdef0123456789abcdef01234567"
    snapshot = repo / "snapshots" / commit
    AutoModelForCausalLM.from_pretrained(demo_model).save_pretrained(snapshot)
    AutoTokenizer.from_pretrained(demo_model).save_pretrained(snapshot)
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit, encoding="utf-8")
    return home


def test_model_in_the_cells_hub_cache_is_found_and_runs(ip: InteractiveShell, hub_home: Path, demo_tasks: Path,
                                                         in_tmp: Path, capfd: pytest.CaptureFixture[str]) -> None:
    cell = (f"HF_HOME={hub_home} lm_eval --model hf --model_args pretrained=mera-test/tiny,dtype=float32 "
            f"--device cpu --include_path {demo_tasks} --limit 2 --tasks parus")
    error, findings = dry(ip, cell)
    assert error is None and not errors(findings)
    # the kernel's own HF_HOME (the conftest's, empty) does not have it: the cell's HF_HOME is what counts
    error, findings = dry(ip, cell.split(" ", 1)[1])
    assert "model-not-cached-offline" in errors(findings)
    assert str(Path(os.environ["HF_HOME"]) / "hub") in errors(findings)["model-not-cached-offline"].message
    # and the run really loads it from there, outside any git repository, with nothing on the kernel's fd 2
    capfd.readouterr()
    result = ip.run_cell("%%mera --no-display\n" + cell)
    assert result.error_in_exec is None, result.error_in_exec
    assert "parus" in result.result.tasks
    assert "not a git repository" not in "".join(capfd.readouterr())


def test_in_process_run_outside_git_writes_nothing_to_fd2(ip: InteractiveShell, demo_model: Path, demo_tasks: Path,
                                                          in_tmp: Path, capfd: pytest.CaptureFixture[str]) -> None:
    # in-process (no import-time variable differs): lm_eval's `git describe` inherits the kernel's fd 2
    capfd.readouterr()
    result = ip.run_cell(f"%%mera --no-display\nlm_eval --model hf --model_args pretrained={demo_model},dtype=float32 "
                         f"--device cpu --include_path {demo_tasks} --limit 1 --tasks parus")
    assert result.error_in_exec is None, result.error_in_exec
    assert "not a git repository" not in "".join(capfd.readouterr())


def test_model_not_cached_offline_names_model_cache_and_download(ip: InteractiveShell, tmp_path: Path) -> None:
    error, findings = dry(ip, f"HF_HOME={tmp_path} lm_eval --model hf --model_args pretrained=org/absent-model "
                              "--tasks parus")
    found = errors(findings)["model-not-cached-offline"]
    assert isinstance(error, CheckError)
    assert "org/absent-model" in found.message and str(tmp_path / "hub") in found.message
    assert "download org/absent-model" in found.message and "HF_HUB_OFFLINE=1" in found.message


def test_local_folder_checks(ip: InteractiveShell, demo_model: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    _, findings = dry(ip, f"lm_eval --model hf --model_args pretrained={empty} --tasks parus")
    assert "model-folder-empty" in errors(findings)
    _, findings = dry(ip, f"lm_eval --model hf --model_args pretrained={tmp_path}/nope --tasks parus")
    assert "model-path-missing" in errors(findings)
    _, findings = dry(ip, f"lm_eval --model hf --model_args pretrained={demo_model},peft={demo_model} --tasks parus")
    assert "model-folder-empty" in errors(findings)  # a model folder is not an adapter (no adapter_config.json)
    _, findings = dry(ip, f"lm_eval --model hf --model_args pretrained={demo_model},gguf_file=x.gguf --tasks parus")
    assert "gguf-file-missing" in errors(findings)


# -- the hub itself: a real local HTTP server standing in for huggingface.co ----------------------------------
class _Hub(BaseHTTPRequestHandler):
    """Answers like the hub does for config.json (the gated and missing answers cannot be had offline for real)."""

    def do_HEAD(self) -> None:  # noqa: N802
        if "/gated/" in self.path:
            self.send_response(401)
            self.send_header("X-Error-Code", "GatedRepo")
        elif "/missing/" in self.path:
            self.send_response(401)
            self.send_header("X-Error-Code", "RepoNotFound")
        elif "/slow/" in self.path:
            time.sleep(4)
            self.send_response(200)
        else:
            self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture()
def serve() -> Iterator[Any]:
    started: list[ThreadingHTTPServer] = []

    def start(handler: type[BaseHTTPRequestHandler]) -> str:
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        started.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in started:
        server.shutdown()
        server.server_close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_hub_answers(ip: InteractiveShell, serve: Any, tmp_path: Path) -> None:
    url = serve(_Hub)
    base = f"HF_HOME={tmp_path} HF_HUB_OFFLINE=0 TRANSFORMERS_OFFLINE=0 HF_ENDPOINT={url} lm_eval --model hf --model_args"
    _, findings = dry(ip, f"{base} pretrained=org/fine --tasks parus")
    assert not errors(findings)
    _, findings = dry(ip, f"{base} pretrained=gated/model --tasks parus")
    assert "HF_TOKEN" in errors(findings)["model-gated"].message
    _, findings = dry(ip, f"{base} pretrained=missing/model --tasks parus")
    assert "model-not-on-hub" in errors(findings)
    SESSION.probes.clear()
    _, findings = dry(ip, f"{base} pretrained=slow/model --tasks parus")
    assert "no answer within 2 s" in errors(findings)["model-hub-unreachable"].message
    down = f"http://127.0.0.1:{_closed_port()}"
    SESSION.probes.clear()
    _, findings = dry(ip, f"{base.replace(url, down)} pretrained=org/fine --tasks parus")
    found = errors(findings)["model-hub-unreachable"]
    assert down in found.message and str(tmp_path / "hub") in found.message and "download org/fine" in found.message


# -- servers: a real local OpenAI-compatible server --------------------------------------------------------------
class _OpenAI(BaseHTTPRequestHandler):
    """Serves the model list and the completion endpoints (POST only, as OpenAI-compatible servers do)."""

    def do_GET(self) -> None:  # noqa: N802
        if self.path == "/v1/models":
            body = json.dumps({"object": "list", "data": [{"id": "tiny", "object": "model"}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif self.path in ("/v1/completions", "/v1/chat/completions"):
            self.send_response(405)
            self.end_headers()
        else:
            self.send_response(404)
            self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_probe_diagnoses_the_real_cause(serve: Any) -> None:
    url = serve(_OpenAI)
    assert servers.probe(f"{url}/v1/completions", "tiny").status == "ok"
    wrong_model = servers.probe(f"{url}/v1/completions", "other")
    assert wrong_model.status == "model-not-served" and wrong_model.served == ["tiny"]
    assert servers.probe(f"{url}/v1/complete", "tiny").status == "wrong-path"
    assert servers.probe(f"http://127.0.0.1:{_closed_port()}/v1/completions", "tiny").status == "down"


def test_api_backend_findings(ip: InteractiveShell, serve: Any, demo_model: Path) -> None:
    url = serve(_OpenAI)  # every command below differs, so each is probed afresh
    args = f"tokenizer_backend=huggingface,tokenizer={demo_model},tokenized_requests=False"
    base = "lm_eval --model local-completions --model_args model={model},base_url={base_url}," + args + " --tasks parus"
    _, findings = dry(ip, base.format(model="tiny", base_url=f"{url}/v1/completions"))
    # the stand-in server answers and serves `tiny`, but returns no echo log-probs, which parus (multiple choice)
    # needs on a completions backend: that is the one error left (mera_magic.probe asks it once the server is well)
    assert set(errors(findings)) == {"server-no-echo"}
    _, findings = dry(ip, base.format(model="other", base_url=f"{url}/v1/completions"))
    assert "`tiny`" in errors(findings)["server-model-not-served"].message
    _, findings = dry(ip, base.format(model="tiny", base_url=f"{url}/v1/complete"))
    assert "/v1/completions" in errors(findings)["server-wrong-path"].message
    _, findings = dry(ip, base.format(model="tiny", base_url=f"http://127.0.0.1:{_closed_port()}/v1/completions"))
    assert "server-down" in errors(findings)
    # the tokenizer that cannot be loaded is named as such, not blamed on the server
    _, findings = dry(ip, "lm_eval --model local-completions --model_args model=tiny,base_url="
                          f"{url}/v1/completions,tokenizer_backend=huggingface,tokenizer=org/absent-tokenizer --tasks parus")
    assert set(errors(findings)) == {"model-not-cached-offline", "server-no-echo"}  # the server is not blamed
    assert "org/absent-tokenizer" in errors(findings)["model-not-cached-offline"].message


# -- devices ----------------------------------------------------------------------------------------------------
def test_devices_against_this_machine(ip: InteractiveShell, demo_model: Path) -> None:
    gpus = devices.inventory()
    cmd = f"lm_eval --model hf --model_args pretrained={demo_model} --device cuda --tasks parus"
    _, findings = dry(ip, f"CUDA_VISIBLE_DEVICES={gpus.count} {cmd}")
    if gpus.count == 0:
        assert "no-gpu" in errors(findings) and "--device cpu" in errors(findings)["no-gpu"].message
    else:  # one index past the last GPU
        assert f"names GPU(s) {gpus.count}" in errors(findings)["cuda-device-missing"].message
        _, findings = dry(ip, cmd)
        assert not {"no-gpu", "cuda-device-missing"} & set(errors(findings))
    _, findings = dry(ip, f"lm_eval --model hf --model_args pretrained={demo_model},parallelize=True --device cpu "
                          "--tasks parus")
    expected = "parallelize-on-cpu" if gpus.count == 0 else "parallelize-one-gpu" if gpus.count == 1 else None
    assert expected is None or expected in {f.code for f in findings}


def test_devices_with_two_gpus(ip: InteractiveShell, demo_model: Path) -> None:
    # a stand-in inventory: a machine with two GPUs cannot be had here (the checks read the session's answer)
    SESSION.probes[("gpus",)] = devices.Gpus(2, "test inventory")
    _, findings = dry(ip, f"CUDA_VISIBLE_DEVICES=2,3 lm_eval --model hf --model_args pretrained={demo_model} "
                          "--device cuda --tasks parus")
    assert "2,3" in errors(findings)["cuda-device-missing"].message
    _, findings = dry(ip, f"CUDA_VISIBLE_DEVICES=1 lm_eval --model hf --model_args pretrained={demo_model} "
                          "--device cuda:1 --tasks parus")
    assert "device-index-missing" in errors(findings)
    _, findings = dry(ip, f"CUDA_VISIBLE_DEVICES=0,1 lm_eval --model hf --model_args pretrained={demo_model} "
                          "--device cuda --tasks parus")
    assert not errors(findings)


def test_device_inventory_reads_the_driver_folder(tmp_path: Path) -> None:
    for bus in ("0000:01:00.0", "0000:02:00.0", "0000:03:00.0"):
        (tmp_path / bus).mkdir()
    assert devices.inventory(tmp_path).count == 3


def test_checks_start_no_cuda_and_import_no_torch(demo_model: Path) -> None:
    text = FULL["hf_text"]
    code = (f"import sys, mera_magic as m; m.check({text!r}, tasks=False); "
            "print(sorted(k for k in ('torch', 'transformers', 'vllm', 'huggingface_hub') if k in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


# -- packages ---------------------------------------------------------------------------------------------------
@pytest.mark.skipif(installed("vllm"), reason="needs an environment without vllm")
def test_missing_packages_name_the_install_that_provides_them(ip: InteractiveShell) -> None:
    _, findings = dry(ip, "lm_eval --model vllm --model_args pretrained=org/m --tasks parus")
    found = [f for f in findings if f.code == "package-missing"]
    assert found and 'pip install "lm-eval[vllm]"' in found[0].message
    if not installed("ray") and get_backend("vllm-vlm") is not None:
        _, findings = dry(ip, "lm_eval --model vllm-vlm --model_args pretrained=org/m --tasks parus")
        assert any("`pip install ray`" in f.message for f in findings if f.code == "package-missing")


@pytest.mark.skipif(installed("flash_attn"), reason="needs an environment without flash-attn")
def test_flash_attention_needs_flash_attn(ip: InteractiveShell, demo_model: Path) -> None:
    _, findings = dry(ip, f"lm_eval --model hf --model_args pretrained={demo_model},"
                          "attn_implementation=flash_attention_2 --tasks parus")
    assert "`pip install flash-attn`" in errors(findings)["package-missing"].message


def test_run_failure_names_the_real_install() -> None:
    from mera_magic.runner.failures import explain_failure
    from mera_magic.spec import RunSpec

    hint = explain_failure(ModuleNotFoundError("No module named 'vllm'", name="vllm"), RunSpec(model="vllm")).hint
    assert hint is not None and 'pip install "lm-eval[vllm]"' in hint and "hf,api" not in hint
    lm_eval_says = ModuleNotFoundError("ray is required for data parallelism. Please install ray using `pip install ray`.")
    assert "`pip install ray`" in str(explain_failure(lm_eval_says, RunSpec(model="vllm")).hint)


# -- model_args: required, typos, what the guide documents --------------------------------------------------------
def test_required_model_arg_with_did_you_mean(ip: InteractiveShell) -> None:
    _, findings = dry(ip, "lm_eval --model hf --model_args pretraned=org/m --tasks parus")
    found = errors(findings)["no-model-name"]  # the code the panel shows next to the pretrained field
    assert "`pretraned`" in found.message and "`pretrained`" in found.message and "requires" in found.message
    assert not [f for f in findings if f.where == "model_args.pretraned"]  # one finding for one typo
    _, findings = dry(ip, "lm_eval --model hf --tasks parus")
    assert "pretrained" in errors(findings)["no-model-name"].message


def test_guide_documented_model_args_get_no_finding() -> None:
    for name in ("hf_multimodal", "vllm_text", "vllm_multimodal"):
        keys = {f.where for f in check(FULL[name], tasks=False) if f.code.startswith("model-arg")}
        assert keys == set(), (name, keys)


# -- the shell language -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", [
    "lm_eval --output_path $(pwd)/res --tasks parus",
    'lm_eval --output_path "$(pwd)/res" --tasks parus',
    "lm_eval --output_path `pwd`/res --tasks parus",
    'lm_eval --output_path "`pwd`/res" --tasks parus',
])
def test_command_substitution_is_refused(ip: InteractiveShell, text: str) -> None:
    with capture_output():
        result = ip.run_cell("%%mera --dry-run\n" + text)
    assert isinstance(result.error_in_exec, ParseError)
    assert "command substitution" in str(result.error_in_exec)


def test_undefined_variable_is_an_error_and_defaults_work(ip: InteractiveShell, demo_model: Path) -> None:
    ip.user_ns.pop("MODLE", None)
    error, findings = dry(ip, "lm_eval --model hf --model_args pretrained=$MODLE --tasks parus")
    assert isinstance(error, CheckError) and "$MODLE" in errors(findings)["undefined-variable"].message
    _, findings = dry(ip, f"lm_eval --model hf --model_args pretrained=${{MODLE:-{demo_model}}} --tasks parus")
    assert "undefined-variable" not in errors(findings) and "model-path-missing" not in errors(findings)


def test_line_subcommands_expand_variables(ip: InteractiveShell, demo_tasks: Path, tmp_path: Path) -> None:
    ip.user_ns.update(TASKS=str(demo_tasks), OUT=str(tmp_path))
    frame = ip.run_line_magic("mera", "tasks --include_path $TASKS parus*")
    assert "parus" in list(frame["name"])
    assert len(ip.run_line_magic("mera", "runs $OUT")) == 0
    ip.user_ns.pop("NOT_DEFINED_HERE", None)
    with pytest.raises(ParseError, match="NOT_DEFINED_HERE"):
        ip.run_line_magic("mera", "runs $NOT_DEFINED_HERE")


def test_backslash_in_an_unquoted_word_gets_a_hint(ip: InteractiveShell) -> None:
    _, findings = dry(ip, r"lm_eval --model hf --model_args pretrained=C:\models\qwen --tasks parus")
    hint = [f for f in findings if f.code == "shell-backslash"]
    assert hint and "C:modelsqwen" in hint[0].message and "/" in hint[0].message


# -- the dry run fails the cell; %mera check too ------------------------------------------------------------------
def test_dry_run_with_errors_fails_the_cell(ip: InteractiveShell, demo_model: Path) -> None:
    error, _ = dry(ip, f"lm_eval --model hf --model_args pretrained={demo_model} --log_samples --tasks parus")
    assert isinstance(error, CheckError)
    with capture_output(), pytest.raises(CheckError):
        ip.run_line_magic("mera", f"check lm_eval --model hf --model_args pretrained={demo_model} --log_samples --tasks parus")
    assert ip.run_cell("1 + 1").result == 2


# -- MERA's task folders ----------------------------------------------------------------------------------------
def test_mera_task_folder_is_explained(ip: InteractiveShell, demo_model: Path, in_tmp: Path) -> None:
    _, findings = dry(ip, f"lm_eval --model hf --model_args pretrained={demo_model} "
                          "--include_path ./benchmark_tasks --tasks rummlu")
    found = errors(findings)["include-path-missing"]
    assert "git clone --depth 1 https://github.com/MERA-Evaluation/MERA.git" in found.message
    assert "--include_path ./MERA/benchmark_tasks" in found.message
    _, findings = dry(ip, f"lm_eval --model hf --model_args pretrained={demo_model} --tasks rummlu,bps")
    found = errors(findings)["unknown-task"]
    assert "`rummlu`" in found.message and "MERA-Evaluation/MERA" in found.message


def test_findings_speak_the_panel_language(ip: InteractiveShell, tmp_path: Path) -> None:
    text = f"HF_HOME={tmp_path} lm_eval --model hf --model_args pretrained=org/absent-model --tasks parus"
    ip.run_line_magic("config", "MeraMagic.language = 'ru'")
    try:
        _, findings = dry(ip, text)
        assert "нет в кэше хаба" in errors(findings)["model-not-cached-offline"].message
    finally:
        ip.run_line_magic("config", "MeraMagic.language = 'en'")
    _, findings = dry(ip, text)
    assert "is not in the hub cache" in errors(findings)["model-not-cached-offline"].message


# -- the guide's five examples, verbatim ------------------------------------------------------------------------
def _device_error(cvd: str) -> set[str]:
    count = devices.inventory().count
    if count == 0:
        return {"no-gpu"}
    return {"cuda-device-missing"} if any(int(i) >= count for i in cvd.split(",")) else set()


def _parallel_error(size: int) -> set[str]:
    """vLLM's tensor_parallel_size against the GPUs this run sees (mera_magic.probe.parallel_findings)."""
    from mera_magic.probe import _vllm_cpu_build, visible_gpus

    gpus = visible_gpus()
    return {"parallel-size"} if size > max(gpus, 1) and not (gpus == 0 and _vllm_cpu_build()) else set()


def _packages(*modules: str) -> set[str]:
    return {"package-missing"} if any(not installed(m) for m in modules) else set()


@pytest.mark.parametrize("name", sorted(FULL))
def test_guide_examples_verbatim(ip: InteractiveShell, in_tmp: Path, name: str) -> None:
    """On a machine without network, without those models cached, outside a MERA checkout."""
    ip.user_ns.pop("PWD", None)
    expected = {
        "hf_text": {"model-not-cached-offline", "include-path-missing"} | _device_error("2,3"),
        "hf_multimodal": ({"model-not-cached-offline", "include-path-missing"} | _device_error("0")
                          | _packages("flash_attn")),
        "local_completions": {"model-not-cached-offline", "include-path-missing", "server-down"},
        "vllm_text": ({"model-path-missing", "include-path-missing"} | _device_error("0,1") | _packages("vllm")
                      | _parallel_error(2)),
        "vllm_multimodal": ({"model-not-cached-offline", "include-path-missing"} | _device_error("7")
                            | _packages("vllm", "ray")),
    }[name]
    backend = FULL[name].split("--model ", 1)[1].split()[0]
    if get_backend(backend) is None:  # lm_eval 0.4.4 has no hf-multimodal / vllm-vlm: that is the error then,
        # with the multimodal check's own word on which lm-eval brought the backend (0.4.5)
        expected = (expected - {"package-missing"}) | {"unknown-backend", "mm-backend-missing"}
    error, findings = dry(ip, FULL[name])
    assert isinstance(error, CheckError)
    assert set(errors(findings)) == expected
    # the guide's own model_args pass (lm_eval 0.4.4's API backends lack `timeout`: a note says so, no more)
    assert not [f for f in findings if f.code.startswith("model-arg") and f.level != "info"]
