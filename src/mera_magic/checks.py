"""RunSpec -> findings: what would go wrong, said before anything heavy is loaded.

Each check is a small function ``(ctx) -> Iterable[Finding]``; :func:`check` runs them all.  A finding names
the flag (``where``) and the fix.  Errors stop ``%%mera`` before it runs; warnings and notes are shown.
Checks import nothing heavy: flags come from lm_eval's parser, backends from its source, task names from its
task index (built once per include path).  What a run needs from outside the command (packages, models, servers,
GPUs) is checked by :mod:`mera_magic.preflight`.
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
from .findings import Finding, Level, did_you_mean
from .lmeval.backends import backend_names, get_backend
from .lmeval.install import version_tuple
from .lmeval.parser import lm_eval_options
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


def _f(level: Level, code: str, message: str, where: str = "") -> Finding:
    return Finding(level, code, message, where)


# -- flags and backend ---------------------------------------------------------------------------------------
def _unknown_options(ctx: _Context) -> Iterable[Finding]:
    known = {o.dest: o for o in lm_eval_options()}
    for dest in ctx.spec.options:
        if dest not in known:
            yield _f("error", "unknown-option",
                     f"`--{dest}` is not an option of the installed lm_eval.{did_you_mean(dest, list(known))}",
                     f"options.{dest}")


def _backend(ctx: _Context) -> Iterable[Finding]:
    names = backend_names()
    if names and ctx.spec.model not in names:
        yield _f("error", "unknown-backend",
                 f"`--model {ctx.spec.model}` is not a backend of the installed lm_eval."
                 f"{did_you_mean(ctx.spec.model, names)} Backends: {', '.join(names)}.", "model")


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
        hint = did_you_mean(key, accepted)
        where = f"model_args.{key}"
        if backend.extra_keys == "ignored" and (note := ignored_but_documented(ctx.spec, backend, key)):
            yield note
        elif backend.extra_keys == "ignored":
            yield _f("error", "model-arg-ignored",
                     f"`{key}` is not a parameter of `{ctx.spec.model}` ({backend.class_name}), and lm_eval would "
                     f"silently ignore it.{hint} Remove it or fix the name.", where)
        else:
            yield _f("error", "model-arg-unknown",
                     f"`{key}` is not a parameter of `{ctx.spec.model}` ({backend.class_name}); lm_eval would fail "
                     f"with a TypeError.{hint}", where)
    default = backend.arg("pretrained")
    if ctx.spec.model_name is None and default is not None and not default.required and backend.arg("model") is None:
        shown = f" (lm_eval's default is `{default.default_text}`)" if default and default.default_text else ""
        yield _f("warning", "no-model-name",
                 f"--model_args has no `pretrained`{shown}: name the model to evaluate, e.g. "
                 "`--model_args pretrained=Qwen/Qwen2-0.5B-Instruct`.", "model_args.pretrained")
    pretrained = ctx.spec.model_args.get("pretrained")
    if isinstance(pretrained, str) and pretrained.startswith("."):
        yield _f("warning", "hidden-output-folder",
                 f"`pretrained={pretrained}` starts with `.`: lm_eval names the results folder after it "
                 f"(`{sanitize_model_name(pretrained)}`), which is a hidden folder. Pass an absolute path "
                 f"(e.g. `pretrained=$PWD/{pretrained.lstrip('./')}`) to get a visible one.", "model_args.pretrained")


def _batch_size(ctx: _Context) -> Iterable[Finding]:
    value = str(ctx.spec.options.get("batch_size", ctx.spec.model_args.get("batch_size", "")))
    if not value.startswith("auto"):
        return
    backend = get_backend(ctx.spec.model)
    support = backend.auto_batch if backend else "supported"
    if support == "unsupported":
        yield _f("error", "auto-batch-unsupported",
                 f"`--batch_size {value}` is not supported by `{ctx.spec.model}` in the installed lm_eval: "
                 "give a number, e.g. `--batch_size 1`.", "options.batch_size")
    elif support == "becomes-1":
        yield _f("warning", "auto-batch-ignored",
                 f"`--batch_size {value}`: `{ctx.spec.model}` cannot tune the batch size and uses 1; for "
                 "parallel requests set `num_concurrent` in --model_args.", "options.batch_size")


# -- combinations of flags -------------------------------------------------------------------------------------
def _combinations(ctx: _Context) -> Iterable[Finding]:
    o = ctx.spec.options
    multiturn = o.get("fewshot_as_multiturn")
    if multiturn and not o.get("apply_chat_template"):
        yield _f("error", "multiturn-without-chat-template",
                 "`--fewshot_as_multiturn` needs `--apply_chat_template`: add it, or drop --fewshot_as_multiturn.",
                 "options.fewshot_as_multiturn")
    for dest in ("log_samples", "predict_only"):
        if o.get(dest) and not o.get("output_path"):
            yield _f("error", "no-output-path",
                     f"`--{dest}` needs `--output_path`: add e.g. `--output_path $PWD/mera_results` "
                     "(the samples are written there).", f"options.{dest}")
    if o.get("samples") is not None and o.get("limit") is not None:
        yield _f("error", "samples-with-limit",
                 "`--samples` and `--limit` cannot be used together: keep one of them.", "options.samples")
    device = str(o.get("device", ""))
    if re.fullmatch(r"cuda:\d+", device):
        yield _f("warning", "device-index",
                 f"`--device {device}`: the MERA guide recommends choosing the GPU with "
                 f"`CUDA_VISIBLE_DEVICES={device.split(':')[1]}` and `--device cuda` instead.", "options.device")
    if ctx.spec.model.startswith("vllm") and device and device != "cuda":
        yield _f("warning", "vllm-device",
                 f"vLLM ignores `--device {device}`; choose GPUs with CUDA_VISIBLE_DEVICES.", "options.device")
    if not o.get("output_path") and not o.get("predict_only"):
        yield _f("info", "results-not-saved",
                 "No `--output_path`: results are shown here but not written to disk (MERA's submission needs "
                 "`--output_path ... --log_samples`).", "options.output_path")
    verbosity = o.get("verbosity")
    if verbosity and version_tuple() >= (0, 4, 10):
        yield _f("info", "verbosity-late",
                 f"In lm_eval {'.'.join(map(str, version_tuple()))} `--verbosity {verbosity}` only takes effect after "
                 "the evaluation; mera-magic applies it to the log shown here for the whole run.", "options.verbosity")
    include = o.get("include_path")
    if include and not Path(str(include)).exists():
        from .preflight.mera import missing_folder

        yield missing_folder(str(include)) or _f(
            "error", "include-path-missing", f"`--include_path {include}` does not exist (from {os.getcwd()}).",
            "options.include_path")


def _chat_backend(ctx: _Context) -> Iterable[Finding]:
    backend = get_backend(ctx.spec.model)
    if backend is None or not backend.chat_only:
        return
    if not ctx.spec.options.get("apply_chat_template"):
        yield _f("error", "chat-backend-without-template",
                 f"`{ctx.spec.model}` sends chat messages, which lm_eval builds only with `--apply_chat_template` "
                 "(without it the run fails at the first request): add `--apply_chat_template`.",
                 "options.apply_chat_template")
    for task, types in ctx.task_types.items():
        bad = types & {"multiple_choice", "loglikelihood", "loglikelihood_rolling"}
        if bad:
            yield _f("error", "chat-backend-loglikelihood",
                     f"`{ctx.spec.model}` is a chat backend and returns no log-likelihoods, but `{task}` is "
                     f"{'/'.join(sorted(bad))}. Use its `_gen` twin, or a completions backend "
                     f"(`{ctx.spec.model.replace('chat-', '')}`).", "tasks")


# -- environment -------------------------------------------------------------------------------------------------
def _environment(ctx: _Context) -> Iterable[Finding]:
    env = ctx.spec.env
    cvd = env.get("CUDA_VISIBLE_DEVICES")
    if cvd is not None:
        items = cvd.split(",")
        ok = cvd == "" or all(re.fullmatch(r"\d+|GPU-[0-9a-fA-F-]+|MIG-[0-9a-zA-Z/-]+", i) for i in items)
        if not ok:
            yield _f("error", "cuda-visible-devices",
                     f"`CUDA_VISIBLE_DEVICES={cvd}` is malformed: write GPU indices separated by commas without "
                     "spaces, e.g. `CUDA_VISIBLE_DEVICES=0,1`.", "env.CUDA_VISIBLE_DEVICES")
        elif len(set(items)) != len(items):
            yield _f("error", "cuda-visible-devices",
                     f"`CUDA_VISIBLE_DEVICES={cvd}` names a GPU twice.", "env.CUDA_VISIBLE_DEVICES")
    size = env.get("HF_DATASETS_IN_MEMORY_MAX_SIZE")
    if size is not None and not size.isdigit():
        yield _f("error", "in-memory-size",
                 f"`HF_DATASETS_IN_MEMORY_MAX_SIZE={size}` must be a number of bytes, e.g. 23400000.",
                 "env.HF_DATASETS_IN_MEMORY_MAX_SIZE")
    tp = env.get("TOKENIZERS_PARALLELISM")
    if tp is not None and tp.lower() not in ("true", "false", "1", "0"):
        yield _f("warning", "tokenizers-parallelism",
                 f"`TOKENIZERS_PARALLELISM={tp}`: use true or false (the guide recommends false).",
                 "env.TOKENIZERS_PARALLELISM")
    if ctx.parsed is not None:
        from .preflight.shell import check_shell

        yield from check_shell(ctx.parsed)
        for name in ctx.parsed.literal_env:
            if is_secret_name(name) and env.get(name):
                yield _f("warning", "literal-secret",
                         f"`{name}` is written literally in the cell, so it will be saved in the notebook. Write "
                         f"`{name}=${name}` and keep the value in the environment, or run `%mera secret {name}` "
                         "(asks for it without showing it).", f"env.{name}")
    for key, value in ctx.spec.model_args.items():
        if is_secret_name(key) and value and ctx.parsed is not None and f"{key}={value}" in ctx.parsed.text:
            yield _f("warning", "literal-secret",
                         f"model_args `{key}` is written literally in the cell: use `{key}=$SOME_VARIABLE` with "
                         "`%mera secret SOME_VARIABLE`.", f"model_args.{key}")


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
        yield _f("warning", "cache-other-model",
                 f"`--use_cache {prefix}` holds answers of `{before.get('model')} {before.get('name')}`, not of "
                 f"`{now['model']} {now['name']}`: lm_eval's cache does not tell models apart, so this run would "
                 f"reuse the other model's answers. Use a new path, e.g. `--use_cache lm_cache/{sanitize_model_name(str(now['name']))}`.",
                 "options.use_cache")


def cache_owner(spec: RunSpec) -> dict[str, Any]:
    """What a --use_cache database is recorded as holding answers of."""
    return {"model": spec.model, "name": spec.model_name}


# -- tasks -----------------------------------------------------------------------------------------------------------
def _tasks(ctx: _Context) -> Iterable[Finding]:
    if not ctx.spec.tasks:
        yield _f("error", "no-tasks", "No `--tasks` given: name at least one, e.g. `--tasks rummlu,parus`.", "tasks")
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
        where = f" in `{include}` or" if include else ""
        yield _f("error", "unknown-task",
                 f"task `{name}` is not found{where} among lm_eval's tasks.{did_you_mean(name, index.names)}"
                 + ("" if include else " For MERA tasks add `--include_path ./benchmark_tasks`."), "tasks")


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
        yield _f("warning", "closed-test-without-predict-only",
                 f"{', '.join(f'`{n}`' for n in closed)}: MERA's test answers are closed, so local metrics would be "
                 "0 or meaningless. Add `--predict_only` (as MERA's scripts do) and score on the website, or run the "
                 "`_localscore` variant for local numbers.", "options.predict_only")


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
