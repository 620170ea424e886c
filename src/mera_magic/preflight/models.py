"""Every model a run would load, found before anything loads: a local folder, the hub cache, or the hub.

The references are the ``--model_args`` keys a backend loads from (``pretrained``, ``tokenizer``, ``peft``,
``delta``, ``lora_local_path``, ``gguf_file`` inside ``pretrained``; an API backend's ``tokenizer``, or its
``model`` when the tokenizer is loaded from the hub under the model's name).  Each is looked up:

- a local path (``./x``, ``../x``, ``/x``, ``~/x``, ``C:\\x``, or an existing folder): it must exist and hold what
  the key needs (a config or weights; a tokenizer; an adapter);
- a hub name (``org/name``): in the hub cache the run reads (the cell's ``HF_HOME``/``HF_HUB_CACHE``, else the
  kernel's), else the hub itself, asked once (:mod:`.hub`: at most 2 s, no retries): offline, unreachable,
  gated (needs ``HF_TOKEN``) or missing are errors naming the model, the cache folder searched and the command
  that downloads it.

One finding per distinct reference, however many keys name it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..findings import Finding
from ..lmeval.backends import Backend, get_backend
from ..spec import RunSpec
from . import hub
from .say import finding, maybe

#: model_args keys that name something a backend loads, in the order they are reported
MODEL_KEYS = ("pretrained", "tokenizer", "peft", "delta", "lora_local_path")
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.\-]*(/[\w.\-]+)?")
#: files that show a folder holds what a key needs
_NEEDS: dict[str, tuple[str, ...]] = {
    "model": ("config.json", "*.safetensors", "*.bin", "*.gguf", "params.json", "*.pt"),
    "tokenizer": ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.json", "vocab.txt",
                  "*.tiktoken", "config.json"),
    "adapter": ("adapter_config.json",),
}


@dataclass(frozen=True)
class Reference:
    """One model reference of a run: the model_args key, its value and what it must hold."""

    key: str
    value: str
    holds: str  # "model", "tokenizer" or "adapter"
    revision: str | None = None
    local_only: bool = False


def looks_local(value: str) -> bool:
    """True when ``value`` is written as a path rather than a hub name."""
    return (value.startswith((".", "/", "~")) or "\\" in value or bool(re.match(r"[A-Za-z]:[\\/]", value))
            or value.count("/") > 1 or Path(value).expanduser().exists())


def references(spec: RunSpec, backend: Backend | None) -> list[Reference]:
    """The model references of ``spec`` (see the module docstring)."""
    args = spec.model_args
    accepted = set(backend.arg_names) if backend else set(args)
    revision = args.get("revision")
    rev = str(revision) if revision and str(revision) != "main" else None
    out: list[Reference] = []
    api = backend is not None and backend.arg("base_url") is not None
    if api:
        given = str(args.get("tokenizer_backend", _default(backend, "tokenizer_backend") or "")).lower()
        if given in ("huggingface", "auto") and (given == "huggingface" or args.get("tokenizer")):
            name = args.get("tokenizer") or args.get("model") or args.get("pretrained")
            if isinstance(name, str) and name:
                out.append(Reference("tokenizer" if args.get("tokenizer") else "model", name, "tokenizer", rev))
        return out
    for key in MODEL_KEYS:
        value = args.get(key)
        if not isinstance(value, str) or not value or (key not in accepted and key != "pretrained"):
            continue
        holds = "tokenizer" if key == "tokenizer" else "adapter" if key in ("peft", "lora_local_path") else "model"
        out.append(Reference(key, value, holds, rev if key == "pretrained" else None, key == "lora_local_path"))
    return out


def _default(backend: Backend | None, name: str) -> Any:
    arg = backend.arg(name) if backend else None
    return arg.default if arg else None


def _holds(folder: Path, holds: str) -> bool:
    return any(any(folder.glob(pattern)) for pattern in _NEEDS[holds])


def _local(ref: Reference, gguf: str | None) -> Finding | None:
    path = Path(ref.value).expanduser()
    where = f"model_args.{ref.key}"
    if not path.exists():
        near = [p.name for p in path.parent.iterdir()] if path.parent.is_dir() else []
        return finding("error", "model-path-missing", where, arg=ref.key, value=ref.value, cwd=str(Path.cwd()),
                       hint=maybe(path.name, near))
    if path.is_file():
        return finding("error", "model-path-is-file", where, arg=ref.key, value=ref.value)
    if gguf and ref.key == "pretrained":
        if not (path / gguf).is_file():
            return finding("error", "gguf-file-missing", "model_args.gguf_file", gguf=gguf, folder=str(path))
        return None
    if not _holds(path, ref.holds):
        return finding("error", "model-folder-empty", where, arg=ref.key, value=ref.value,
                       needs=", ".join(_NEEDS[ref.holds][:3]))
    return None


def _hub(ref: Reference, env: Mapping[str, str], gguf: str | None, remembered: dict[Any, Any]) -> Finding | None:
    where = f"model_args.{ref.key}"
    cache = hub.hub_cache(env)
    snapshot = hub.cached(ref.value, env, ref.revision)
    fields = dict(arg=ref.key, value=ref.value, cache=str(cache),
                  download=hub.download_command(ref.value, env, ref.revision))
    if snapshot is not None:
        if gguf and ref.key == "pretrained" and not (snapshot.folder / gguf).is_file():
            return finding("error", "gguf-file-missing", "model_args.gguf_file", gguf=gguf, folder=str(snapshot.folder))
        return None
    switch = hub.offline(env)
    if switch:
        return finding("error", "model-not-cached-offline", where, switch=switch, **fields)
    answer = hub.ask(ref.value, env, ref.revision, remembered)
    if answer.status == "ok":
        return None
    if answer.status == "unreachable":
        return finding("error", "model-hub-unreachable", where, reason=answer.detail, endpoint=hub.endpoint(env),
                       **fields)
    if answer.status == "gated":
        code = "model-gated-token" if hub.token(env) else "model-gated"
        return finding("error", code, where, url=f"{hub.endpoint(env)}/{ref.value}", **fields)
    if answer.status == "missing":
        return finding("error", "model-not-on-hub", where, arg=ref.key, value=ref.value)
    return finding("warning", "model-hub-error", where, arg=ref.key, value=ref.value, detail=answer.detail)


def check_models(spec: RunSpec, remembered: dict[Any, Any]) -> Iterable[Finding]:
    """Findings for every model reference of ``spec`` (errors for what cannot be loaded)."""
    backend = get_backend(spec.model)
    gguf_value = spec.model_args.get("gguf_file")
    gguf = str(gguf_value) if gguf_value else None
    seen: set[tuple[str, str]] = set()
    for ref in references(spec, backend):
        if (ref.value, ref.holds) in seen or (ref.holds == "tokenizer" and (ref.value, "model") in seen):
            continue
        seen.add((ref.value, ref.holds))
        if ref.local_only or looks_local(ref.value):
            found = _local(ref, gguf)
        elif _HUB_ID.fullmatch(ref.value):
            found = _hub(ref, spec.env, gguf, remembered)
        else:
            found = finding("error", "model-name-invalid", f"model_args.{ref.key}", arg=ref.key, value=ref.value)
        if found is not None:
            yield found
