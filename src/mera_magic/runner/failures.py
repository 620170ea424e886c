"""Turn what a failed run raised into one clear message (naming what failed and how to fix it)."""

from __future__ import annotations

import re

from ..errors import MeraError, RunError
from ..secrets import mask_text as mask_secrets
from ..spec import RunSpec


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    while exc is not None and exc not in seen:
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return seen


def explain_failure(exc: BaseException, spec: RunSpec) -> MeraError:
    """A :class:`RunError` for ``exc`` (the original stays attached as ``__cause__``)."""
    if isinstance(exc, MeraError):
        return exc
    texts = " | ".join(f"{type(e).__name__}: {e}" for e in _chain(exc))
    low = texts.lower()
    name = spec.model_name or spec.model
    base_url = spec.model_args.get("base_url")
    message: str
    hint: str | None = None
    if "out of memory" in low or "outofmemoryerror" in low:
        message = f"out of memory while evaluating `{name}`"
        hint = ("Lower --batch_size (or set --max_batch_size with auto), a shorter max_length in --model_args, "
                "a smaller dtype, or more GPUs (CUDA_VISIBLE_DEVICES + parallelize=True / tensor_parallel_size).")
    elif base_url and any(k in low for k in ("connect", "connection refused", "cannot connect", "timeout",
                                                "max retries", "name or service not known")):
        message = f"the server at {base_url} did not answer"
        hint = "Start the server first (e.g. `vllm serve MODEL`), check host/port, or raise timeout/max_retries."
    elif base_url and ("clientresponseerror" in low or "httperror" in low or "status code" in low):
        message = f"the server at {base_url} refused the requests: {exc}"
        hint = ("Check that base_url names an endpoint the server has (/v1/completions for *-completions, "
                "/v1/chat/completions for *-chat-completions), the model name, and the server's own log.")
    elif "tasks not found" in low or ("task" in low and "not found" in low):
        message = f"lm_eval could not load the task(s): {exc}"
        explained = _explain_tasks(exc, spec)
        hint = explained or "Check --tasks and --include_path (`%mera tasks --include_path DIR` lists what is there)."
    elif isinstance(exc, (OSError, ValueError)) and (
            (spec.model_name and spec.model_name.lower() in low)
            or any(k in low for k in ("does not appear to have", "repository not found", "repo id must be",
                                      "can't load", "is not a local folder"))):
        message = f"the model `{name}` could not be loaded: {exc}"
        hint = ("Check the path or the hub name in --model_args pretrained=...; offline, only local folders and "
                "models already in HF_HOME's cache can be loaded.")
    elif isinstance(exc, TypeError) and ("unexpected keyword" in low or "got an unexpected" in low):
        message = f"lm_eval rejected an argument: {exc}"
        hint = _explain_tasks(exc, spec) or "Check --model_args against `%mera check` (it names what the backend accepts)."
    elif isinstance(exc, (ImportError, ModuleNotFoundError)):
        message = f"a module is missing: {exc}"
        hint = _explain_tasks(exc, spec) or _install_hint(exc)
    else:
        message = f"the evaluation failed: {type(exc).__name__}: {exc}"
        hint = "`%config MeraMagic.short_errors = False` shows the full traceback."
    error = RunError(mask_secrets(message, spec.env, spec.model_args), hint=hint)
    error.__cause__ = exc
    return error


def _missing_module(exc: BaseException) -> str | None:
    """The top-level package an ImportError is about (``exc.name``, or named in lm_eval's own message)."""
    name = getattr(exc, "name", None)
    if name:
        return str(name).split(".")[0]
    text = str(exc)
    for pattern in (r"No module named '([\w.]+)'", r"package `([\w.\-]+)`", r"packages \[([^\]]+)\]",
                    r"install ([\w\-]+) (?:via|using)"):
        m = re.search(pattern, text)
        if m:
            return m.group(1).split(",")[0].strip(" '\"").split(".")[0]
    return None


def _install_hint(exc: BaseException) -> str:
    module = _missing_module(exc)
    if module is None:
        return "Install the missing package in the kernel's environment, then restart the kernel."
    from ..lmeval.requirements import install_for

    return f"Install it in the kernel's environment: `{install_for(module)}`, then restart the kernel."


def _explain_tasks(exc: BaseException, spec: RunSpec) -> str | None:
    include = spec.options.get("include_path")
    if not include:
        return None
    try:
        from ..lmeval.compat import explain_task_error
    except ImportError:  # pragma: no cover - compat is part of the package
        return None
    return explain_task_error(exc, str(include))
