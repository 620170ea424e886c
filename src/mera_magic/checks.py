"""RunSpec -> findings: what would go wrong, said before anything heavy is loaded.

Each check is a small function ``(ctx) -> Iterable[Finding]``; :func:`check` runs them all.  A finding names
the flag (``where``) and the fix.  Errors stop ``%%mera`` before it runs; warnings and notes are shown.
Checks import nothing heavy: flags come from lm_eval's parser, backends from its source, task names from its
task index (built once per include path).  What a run needs from outside the command (packages, models, servers,
GPUs) is checked by :mod:`mera_magic.preflight`.  Every finding is worded from the texts table
(:mod:`mera_magic.texts_findings`) in the session's language, through :func:`mera_magic.preflight.say.finding`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .command import Parsed, parse_command
from .findings import Finding
from .lmeval.backends import backend_names, get_backend
from .lmeval.install import version_tuple
from .lmeval.parser import lm_eval_options
from .preflight.say import finding, maybe
from .spec import RunSpec, is_secret_name, sanitize_model_name

#: file kept next to a --use_cache database, naming the model whose answers it holds
CACHE_OWNER_SUFFIX = ".mera-model.json"


@dataclass
class _Context:
    spec: RunSpec
    parsed: Parsed | None
    check_tasks: bool
    task_types: dict[str, frozenset[str]] = field(default_factory=dict)
    include_defaults: bool | None = None
    #: the YAML file of each task name the index resolved (when task names were checked)
    task_yamls: dict[str, Any] = field(default_factory=dict)


# -- flags and backend ---------------------------------------------------------------------------------------
def _unknown_options(ctx: _Context) -> Iterable[Finding]:
    known = {o.dest: o for o in lm_eval_options()}
    for dest in ctx.spec.options:
        if dest not in known:
            yield finding("error", "unknown-option", f"options.{dest}", dest=dest, hint=maybe(dest, list(known)))


def _backend(ctx: _Context) -> Iterable[Finding]:
    names = backend_names()
    if names and ctx.spec.model not in names:
        yield finding("error", "unknown-backend", "model", backend=ctx.spec.model, hint=maybe(ctx.spec.model, names),
                      names=", ".join(names))


def _model_args(ctx: _Context) -> Iterable[Finding]:
    backend = get_backend(ctx.spec.model)
    if backend is None:
        return
    from .preflight.args import forwarded_keys, ignored_but_documented, required_missing

    review = required_missing(ctx.spec, backend)
    yield from review.findings
    accepted = backend.arg_names
    if backend.extra_keys == "forwarded":
        yield from forwarded_keys(ctx.spec, backend, review.explained)
    for key in ctx.spec.model_args:
        if key in accepted or key == "trust_remote_code" or key in review.explained or backend.extra_keys == "forwarded":
            continue
        hint = maybe(key, accepted)
        where = f"model_args.{key}"
        if backend.extra_keys == "ignored" and (note := ignored_but_documented(ctx.spec, backend, key)):
            yield note
        elif backend.extra_keys == "ignored":
            yield finding("error", "model-arg-ignored", where, arg=key, backend=ctx.spec.model,
                          cls=backend.class_name, hint=hint)
        else:
            yield finding("error", "model-arg-unknown", where, arg=key, backend=ctx.spec.model,
                          cls=backend.class_name, hint=hint)
    default = backend.arg("pretrained")
    if ctx.spec.model_name is None and default is not None and not default.required and backend.arg("model") is None:
        from .texts import text

        shown = text("finding.no-model-name-default", default=default.default_text) if default.default_text else ""
        yield finding("warning", "no-model-name", "model_args.pretrained", default=shown)
    pretrained = ctx.spec.model_args.get("pretrained")
    if isinstance(pretrained, str) and pretrained.startswith("."):
        yield finding("warning", "hidden-output-folder", "model_args.pretrained", value=pretrained,
                      folder=sanitize_model_name(pretrained), relative=pretrained.lstrip("./"))


def _batch_size(ctx: _Context) -> Iterable[Finding]:
    value = str(ctx.spec.options.get("batch_size", ctx.spec.model_args.get("batch_size", "")))
    if not value.startswith("auto"):
        return
    backend = get_backend(ctx.spec.model)
    support = backend.auto_batch if backend else "supported"
    if support == "unsupported":
        yield finding("error", "auto-batch-unsupported", "options.batch_size", value=value, backend=ctx.spec.model)
    elif support == "becomes-1":
        yield finding("warning", "auto-batch-ignored", "options.batch_size", value=value, backend=ctx.spec.model)


# -- combinations of flags -------------------------------------------------------------------------------------
def _combinations(ctx: _Context) -> Iterable[Finding]:
    o = ctx.spec.options
    multiturn = o.get("fewshot_as_multiturn")
    if multiturn and not o.get("apply_chat_template"):
        yield finding("error", "multiturn-without-chat-template", "options.fewshot_as_multiturn")
    for dest in ("log_samples", "predict_only"):
        if o.get(dest) and not o.get("output_path"):
            yield finding("error", "no-output-path", f"options.{dest}", dest=dest)
    if o.get("samples") is not None and o.get("limit") is not None:
        yield finding("error", "samples-with-limit", "options.samples")
    device = str(o.get("device", ""))
    if re.fullmatch(r"cuda:\d+", device):
        yield finding("warning", "device-index", "options.device", device=device, index=device.split(":")[1])
    if ctx.spec.model.startswith("vllm") and device and device != "cuda":
        yield finding("warning", "vllm-device", "options.device", device=device)
    if not o.get("output_path") and not o.get("predict_only"):
        yield finding("info", "results-not-saved", "options.output_path")
    verbosity = o.get("verbosity")
    if verbosity and version_tuple() >= (0, 4, 10):
        yield finding("info", "verbosity-late", "options.verbosity", version=".".join(map(str, version_tuple())),
                      verbosity=verbosity)
    include = o.get("include_path")
    if include and not Path(str(include)).exists():
        from .preflight.mera import missing_folder

        yield missing_folder(str(include)) or finding("error", "include-path-missing", "options.include_path",
                                                      path=include, cwd=os.getcwd())


def _chat_backend(ctx: _Context) -> Iterable[Finding]:
    backend = get_backend(ctx.spec.model)
    if backend is None or not backend.chat_only:
        return
    if not ctx.spec.options.get("apply_chat_template"):
        yield finding("error", "chat-backend-without-template", "options.apply_chat_template", backend=ctx.spec.model)
    for task, types in ctx.task_types.items():
        bad = types & {"multiple_choice", "loglikelihood", "loglikelihood_rolling"}
        if bad:
            yield finding("error", "chat-backend-loglikelihood", "tasks", backend=ctx.spec.model, task=task,
                          types="/".join(sorted(bad)), completions=ctx.spec.model.replace("chat-", ""))


# -- environment -------------------------------------------------------------------------------------------------
def _environment(ctx: _Context) -> Iterable[Finding]:
    env = ctx.spec.env
    cvd = env.get("CUDA_VISIBLE_DEVICES")
    if cvd is not None:
        items = cvd.split(",")
        ok = cvd == "" or all(re.fullmatch(r"\d+|GPU-[0-9a-fA-F-]+|MIG-[0-9a-zA-Z/-]+", i) for i in items)
        if not ok:
            yield finding("error", "cuda-visible-devices", "env.CUDA_VISIBLE_DEVICES", cvd=cvd)
        elif len(set(items)) != len(items):
            yield finding("error", "cuda-visible-devices", "env.CUDA_VISIBLE_DEVICES",
                          text_code="cuda-visible-devices-twice", cvd=cvd)
    size = env.get("HF_DATASETS_IN_MEMORY_MAX_SIZE")
    if size is not None and not size.isdigit():
        yield finding("error", "in-memory-size", "env.HF_DATASETS_IN_MEMORY_MAX_SIZE", size=size)
    tp = env.get("TOKENIZERS_PARALLELISM")
    if tp is not None and tp.lower() not in ("true", "false", "1", "0"):
        yield finding("warning", "tokenizers-parallelism", "env.TOKENIZERS_PARALLELISM", value=tp)
    if ctx.parsed is not None:
        from .preflight.shell import check_shell

        yield from check_shell(ctx.parsed)
        for name in ctx.parsed.literal_env:
            if is_secret_name(name) and env.get(name):
                yield finding("warning", "literal-secret", f"env.{name}", name=name)
    for key, value in ctx.spec.model_args.items():
        if is_secret_name(key) and value and ctx.parsed is not None and f"{key}={value}" in ctx.parsed.text:
            yield finding("warning", "literal-secret", f"model_args.{key}", text_code="literal-secret-model-arg", arg=key)


def _use_cache(ctx: _Context) -> Iterable[Finding]:
    prefix = ctx.spec.options.get("use_cache")
    if not prefix:
        return
    owner = Path(f"{prefix}{CACHE_OWNER_SUFFIX}")
    if not owner.exists():
        return
    try:
        before = json.loads(owner.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    now = cache_owner(ctx.spec)
    if before != now:
        yield finding("warning", "cache-other-model", "options.use_cache", path=prefix,
                      cached=f"{before.get('model')} {before.get('name')}", now=f"{now['model']} {now['name']}",
                      folder=sanitize_model_name(str(now["name"])))


def cache_owner(spec: RunSpec) -> dict[str, Any]:
    """What a --use_cache database is recorded as holding answers of."""
    return {"model": spec.model, "name": spec.model_name}


# -- tasks -----------------------------------------------------------------------------------------------------------
def _tasks(ctx: _Context) -> Iterable[Finding]:
    if not ctx.spec.tasks:
        yield finding("error", "no-tasks", "tasks")
        return
    if not ctx.check_tasks:
        return
    from .lmeval.tasks import resolve_tasks

    include = ctx.spec.options.get("include_path")
    if include and not Path(str(include)).exists():
        return
    found, missing, index = resolve_tasks(ctx.spec.tasks, str(include) if include else None)
    ctx.task_types = {name: info.output_types for name, info in found.items()}
    ctx.task_yamls = {name: info.yaml_path for name, info in found.items()}
    ctx.include_defaults = not include or bool(missing) or index.include_defaults
    from .preflight.mera import mera_tasks_without_folder

    explained, missing = mera_tasks_without_folder(ctx.spec, list(missing))
    yield from explained
    for name in missing:
        hint = maybe(name, index.names)
        if include:
            yield finding("error", "unknown-task", "tasks", text_code="unknown-task-in-folder", name=name,
                          include=include, hint=hint)
        else:
            yield finding("error", "unknown-task", "tasks", name=name, hint=hint)


def _mera_tasks(ctx: _Context) -> Iterable[Finding]:
    """MERA's closed test sets give no local metrics: suggest --predict_only (or the _localscore variant)."""
    from . import catalog

    if ctx.spec.options.get("predict_only"):
        return
    closed = []
    for name in ctx.spec.tasks:
        parsed = catalog.parse_name(name)
        if parsed is not None and parsed.task.closed_test and not parsed.local:
            if catalog.has_test_answers(ctx.task_yamls.get(name)) is not True:  # a local copy with answers is open
                closed.append(name)
    if closed:
        yield finding("warning", "closed-test-without-predict-only", "options.predict_only",
                      tasks=", ".join(f"`{n}`" for n in closed))


def _task_folder(ctx: _Context) -> Iterable[Finding]:
    """What the installed lm_eval cannot load in a MERA task folder (fork-only keys, ...)."""
    include = ctx.spec.options.get("include_path")
    if not include or not Path(str(include)).is_dir():
        return
    from .lmeval.compat import diagnose_task_folder

    yield from diagnose_task_folder(str(include), tasks=ctx.spec.tasks or None)  # only what concerns these tasks


def _multimodal(ctx: _Context) -> Iterable[Finding]:
    """hf-multimodal / vllm-vlm and MERA's multimodal tasks (see :mod:`.checks_multimodal`)."""
    from .checks_multimodal import multimodal_checks

    return multimodal_checks(ctx.spec, check_tasks=ctx.check_tasks)


def _preflight(ctx: _Context) -> Iterable[Finding]:
    """Packages, models, servers and GPUs (:mod:`mera_magic.preflight`)."""
    from .preflight import preflight

    yield from preflight(ctx.spec)


def _api_server(ctx: _Context) -> Iterable[Finding]:
    """What lies outside the command (mera_magic.probe): the server behind an API backend (answers, serves `model=`,
    returns echo log-probs where needed); the GPUs behind vLLM's parallel sizes and `accelerate launch`."""
    from .probe import api_findings, launcher_findings, parallel_findings

    return api_findings(ctx.spec, ctx.task_types) + parallel_findings(ctx.spec) + launcher_findings(ctx.spec)


def _values(ctx: _Context) -> Iterable[Finding]:
    """Every option and model_args value has a type lm_eval can convert (see :mod:`.checks_values`)."""
    from .checks_values import value_findings

    return value_findings(ctx.spec)


_CHECKS: list[Callable[[_Context], Iterable[Finding]]] = [
    _unknown_options, _backend, _model_args, _values, _preflight, _batch_size, _combinations, _tasks, _chat_backend,
    _environment, _use_cache, _mera_tasks, _task_folder, _multimodal, _api_server,
]


def check(spec: RunSpec | Parsed | str, *, namespace: Mapping[str, Any] | None = None,
          tasks: bool = True) -> list[Finding]:
    """Check a run before it starts; return the findings (errors first).

    ``spec`` is a :class:`RunSpec`, command text, or a command :func:`~mera_magic.command.parse_command` already
    parsed (text enables the checks that need the text itself: secrets written literally, undefined
    ``$VARIABLES``).  ``tasks=False`` skips the task-index lookups.  Nothing heavy is imported: no model, no
    torch.  The run's variables are in effect while checking (the task index is built with them), and nothing
    the checks change outlives them.
    """
    from .environ import scoped_environment

    target = _as_parsed(spec, namespace) or spec
    assert not isinstance(target, str)
    with scoped_environment(_spec_of(target).env):
        return check_in_scope(target, tasks=tasks).findings


@dataclass
class CheckReport:
    """What :func:`check_in_scope` found, and what it learnt on the way that a run can reuse."""

    findings: list[Finding]
    #: output types of each task found (empty when tasks were not checked)
    task_types: dict[str, frozenset[str]]
    #: whether lm_eval's built-in tasks had to be indexed to find every task (None: tasks not checked)
    include_defaults: bool | None


def _as_parsed(spec: RunSpec | Parsed | str, namespace: Mapping[str, Any] | None) -> Parsed | None:
    if isinstance(spec, str):
        from .session import SESSION

        return parse_command(spec, namespace, SESSION.secrets)
    return spec if isinstance(spec, Parsed) else None


def _spec_of(spec: RunSpec | Parsed) -> RunSpec:
    return spec.spec if isinstance(spec, Parsed) else spec


def check_in_scope(spec: RunSpec | Parsed, *, tasks: bool = True) -> CheckReport:
    """:func:`check` for a caller that has already applied the run's environment (the runner)."""
    ctx = _Context(_spec_of(spec), spec if isinstance(spec, Parsed) else None, tasks)
    findings = [finding for fn in _CHECKS for finding in fn(ctx)]
    order = {"error": 0, "warning": 1, "info": 2}
    return CheckReport(sorted(findings, key=lambda f: order[f.level]), ctx.task_types, ctx.include_defaults)
