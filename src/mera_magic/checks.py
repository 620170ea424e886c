"""RunSpec -> findings: what would go wrong, said before anything heavy is loaded.

Each check is a small function ``(ctx) -> Iterable[Finding]``; :func:`check` runs them all.  A finding names
the flag (``where``) and the fix.  Errors stop ``%%mera`` before it runs; warnings and notes are shown.
Checks import nothing heavy: flags come from lm_eval's parser, backends from its source, task names from its
task index (built once per include path).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal

from .backends import backend_names, get_backend
from .command import Parsed, parse_command
from .command.flags import did_you_mean, lm_eval_options, version_tuple
from .spec import RunSpec, is_secret_name, sanitize_model_name

Level = Literal["error", "warning", "info"]

#: file kept next to a --use_cache database, naming the model whose answers it holds
CACHE_OWNER_SUFFIX = ".mera-model.json"


@dataclass(frozen=True)
class Finding:
    """One thing ``check`` noticed.

    ``where`` says what it concerns: ``model``, ``model_args.<key>``, ``tasks``, ``env.<NAME>`` or
    ``options.<dest>`` (the lm_eval destination name), so a panel can show it next to its field.
    """

    level: Level
    code: str
    message: str
    where: str = ""

    def __str__(self) -> str:
        return f"{self.level}: {self.message}"


@dataclass
class _Context:
    spec: RunSpec
    parsed: Parsed | None
    check_tasks: bool
    task_types: dict[str, frozenset[str]] = field(default_factory=dict)


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
    accepted = backend.arg_names
    for key in ctx.spec.model_args:
        if key in accepted or key == "trust_remote_code":
            continue
        hint = did_you_mean(key, accepted)
        where = f"model_args.{key}"
        if backend.extra_keys == "forwarded":
            yield _f("warning", "model-arg-forwarded",
                     f"`{key}` is not a parameter of `{ctx.spec.model}` ({backend.class_name}); lm_eval passes it "
                     f"on to the model loader, which may reject it.{hint}", where)
        elif backend.extra_keys == "ignored":
            yield _f("error", "model-arg-ignored",
                     f"`{key}` is not a parameter of `{ctx.spec.model}` ({backend.class_name}), and lm_eval would "
                     f"silently ignore it.{hint} Remove it or fix the name.", where)
        else:
            yield _f("error", "model-arg-unknown",
                     f"`{key}` is not a parameter of `{ctx.spec.model}` ({backend.class_name}); lm_eval would fail "
                     f"with a TypeError.{hint}", where)
    if ctx.spec.model_name is None and backend.arg("pretrained") is not None and backend.arg("model") is None:
        default = backend.arg("pretrained")
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
    for key in ("pretrained", "peft", "delta", "tokenizer", "lora_local_path"):
        value = ctx.spec.model_args.get(key)
        if isinstance(value, str) and value.startswith((".", "/", "~")) and not Path(value).expanduser().exists():
            yield _f("error", "model-path-missing",
                     f"`{key}={value}` looks like a local path, but it does not exist (from {os.getcwd()}).",
                     f"model_args.{key}")


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
        yield _f("error", "include-path-missing",
                 f"`--include_path {include}` does not exist (from {os.getcwd()}).", "options.include_path")


def _chat_backend(ctx: _Context) -> Iterable[Finding]:
    backend = get_backend(ctx.spec.model)
    if backend is None or not backend.chat_only:
        return
    if not ctx.spec.options.get("apply_chat_template"):
        yield _f("warning", "chat-backend-without-template",
                 f"`{ctx.spec.model}` sends chat messages: add `--apply_chat_template`.", "options.apply_chat_template")
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
        for name in ctx.parsed.undefined:
            if name in ("PYTHONPATH",):
                continue
            yield _f("warning", "undefined-variable",
                     f"`${name}` is not defined in the notebook or the environment, so it expands to nothing. "
                     f"Define it (e.g. `{name} = '...'` in a cell, or `%mera secret {name}` for a secret).",
                     f"env.{name}")
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
    from .tasks import resolve_tasks

    include = ctx.spec.options.get("include_path")
    if include and not Path(str(include)).exists():
        return
    found, missing, index = resolve_tasks(ctx.spec.tasks, str(include) if include else None)
    ctx.task_types = {name: info.output_types for name, info in found.items()}
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
    from .compat import diagnose_task_folder

    yield from diagnose_task_folder(str(include), tasks=ctx.spec.tasks or None)  # only what concerns these tasks


_CHECKS: list[Callable[[_Context], Iterable[Finding]]] = [
    _unknown_options, _backend, _model_args, _batch_size, _combinations, _tasks, _chat_backend, _environment,
    _use_cache, _mera_tasks, _task_folder,
]


def check(spec: RunSpec | str, *, namespace: Mapping[str, Any] | None = None, tasks: bool = True) -> list[Finding]:
    """Check a run before it starts; return the findings (errors first).

    ``spec`` is a :class:`RunSpec` or command text (text also enables the checks that need the text itself:
    secrets written literally, undefined ``$VARIABLES``).  ``tasks=False`` skips the task-index lookups.
    Nothing heavy is imported: no model, no torch.
    """
    parsed: Parsed | None = None
    if isinstance(spec, str):
        from .session import SESSION

        parsed = parse_command(spec, namespace, SESSION.secrets)
        spec = parsed.spec
    ctx = _Context(spec, parsed, tasks)
    findings: list[Finding] = []
    from .environ import scoped_environment

    # the task index is built with the run's variables in effect, and nothing it changes outlives the check
    with scoped_environment(spec.env):
        for fn in _CHECKS:
            findings.extend(fn(ctx))
    order = {"error": 0, "warning": 1, "info": 2}
    return sorted(findings, key=lambda f: order[f.level])
