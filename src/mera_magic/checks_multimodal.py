"""Checks of multimodal runs: ``hf-multimodal`` / ``vllm-vlm`` and MERA_MULTIMODAL's tasks, before anything loads.

What the installed lm_eval can do is read from its source (which backends set ``MULTIMODAL = True``, which
take ``max_images``), what a task needs from its YAML (``doc_to_image`` / ``doc_to_audio`` / ``doc_to_video``,
``output_type``) and, when its data files are local, from its first test records (how many ``<image>`` tags
and ``inputs.image*`` fields a document carries). The findings:

* ``mm-backend-missing``: ``hf-multimodal`` / ``vllm-vlm`` on an lm_eval without them (0.4.4: they came in 0.4.5);
* ``mm-text-backend``: a multimodal task with a text-only backend (lm_eval would stop with a ValueError);
* ``mm-modality``: audio or video tasks with an image backend; ``mm-loglikelihood``: multiple-choice
  multimodal tasks with ``hf-multimodal`` / ``vllm-vlm`` (lm_eval raises NotImplementedError);
* ``mm-chat-template``: no ``--apply_chat_template`` (MERA's guide always adds it for these backends);
* ``mm-max-images``: ``max_images`` below the images a task's documents carry (the extra ones are dropped);
* ``mm-fewshot``: few-shot examples for MERA's multimodal tasks (MERA runs them 0-shot, ruTiE aside);
* ``flash-attn``: ``attn_implementation=flash_attention_2`` on a CPU (a missing package is pre-flight's finding);
* ``media-env``: MERA's ``LOAD_*`` variables (how ``load_media.py`` hands images to the model): values other
  than ``1``, more than one mode, a mode the backend cannot take, or a mode an earlier cell left on in the
  ``load_media`` this kernel imported (they are read once, at import; a mode the cell sets differently sends the
  run to a fresh process, see :mod:`mera_magic.environ`).

``LOAD_*``, ``LM_EVAL_MEDIA_DIR``, ``HARNESS_RESIZE_IMAGES``, ``INPUT_IMAGE_*`` and ``LMEVAL_HASHMM`` are
environment variables (``NAME=VALUE`` before ``lm_eval``), never flags: :data:`MEDIA_ENV` lists them.
The findings' texts are in :mod:`mera_magic.texts_findings` (Russian and English).
"""

from __future__ import annotations

import ast
import json
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from .findings import Finding
from .lmeval.backends import backend_names, get_backend
from .lmeval.install import lm_eval_dir, lm_eval_version
from .lmeval.parser import option_info
from .preflight.say import finding
from .spec import RunSpec
from .texts import text

#: MERA's media-loading modes (``multimodal_tasks/load_media.py``): exactly one may be ``1``
LOAD_MODES = ("LOAD_OBJECT", "LOAD_BYTES", "LOAD_BASE64", "LOAD_FILES")
#: every environment variable of MERA's multimodal tasks and lm_eval's multimodal code
MEDIA_ENV = LOAD_MODES + ("LM_EVAL_MEDIA_DIR", "HARNESS_RESIZE_IMAGES", "INPUT_IMAGE_WIDTH", "INPUT_IMAGE_HEIGHT",
                          "INPUT_IMAGE_MAX_SIDE", "LMEVAL_HASHMM")
#: the image backends of lm_eval and the release that brought them
VISION_BACKENDS = {"hf-multimodal": "0.4.5", "vllm-vlm": "0.4.5"}
#: the attention implementations that need the flash-attn package and a CUDA GPU
FLASH_ATTENTION = ("flash_attention_2", "flash_attention_3")

_IMAGE_TAG = re.compile(r"<image(?:_\d+)?>")
_MODALITIES = {"doc_to_image": "image", "doc_to_audio": "audio", "doc_to_video": "video"}
#: a tag is expanded (each task's YAML read) only in an index this small: an include path, not lm_eval's own
_TAG_SCAN_LIMIT = 3000
_SCORED_BY_LOGLIKELIHOOD = {"multiple_choice", "loglikelihood", "loglikelihood_rolling"}


# -- what the installed lm_eval offers -------------------------------------------------------------------------
@cache
def multimodal_backends() -> frozenset[str]:
    """Backends whose class (or a base class) sets ``MULTIMODAL = True`` in the installed lm_eval's source."""
    folder = lm_eval_dir()
    if folder is None:
        return frozenset()
    bases: dict[str, list[str]] = {}
    flagged: set[str] = set()
    registered: dict[str, list[str]] = {}
    for path in sorted((folder / "models").glob("*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, OSError):
            continue
        for node in tree.body:
            if not isinstance(node, ast.ClassDef):
                continue
            bases[node.name] = [b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases]
            for item in node.body:
                if (isinstance(item, ast.Assign) and any(getattr(t, "id", "") == "MULTIMODAL" for t in item.targets)
                        and isinstance(item.value, ast.Constant) and item.value.value is True):
                    flagged.add(node.name)
            for deco in node.decorator_list:
                if isinstance(deco, ast.Call) and getattr(deco.func, "id", getattr(deco.func, "attr", "")) == "register_model":
                    registered[node.name] = [a.value for a in deco.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]

    def is_multimodal(name: str, seen: frozenset[str] = frozenset()) -> bool:
        if name in flagged:
            return True
        return name not in seen and any(is_multimodal(b, seen | {name}) for b in bases.get(name, []))

    return frozenset(n for cls, names in registered.items() if is_multimodal(cls) for n in names)


def is_vision_backend(model: str) -> bool:
    """A backend that feeds images to a vision-language model itself (it takes ``max_images``)."""
    backend = get_backend(model)
    return backend is not None and backend.arg("max_images") is not None


# -- what the tasks need ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MediaTask:
    """What one leaf task needs: its media (``image``, ``audio``, ``video``) and, when its data files are local,
    the most images one of its first test documents carries (None when unknown)."""

    name: str
    modalities: frozenset[str]
    output_type: str
    images_per_doc: int | None


def media_tasks(names: list[str], include_path: str | None) -> dict[str, MediaTask]:
    """The multimodal leaf tasks behind ``names`` (tasks, groups, tags), read from their YAMLs."""
    from .lmeval.tasks import read_task_yaml, resolve_tasks

    found, _, index = resolve_tasks(names, include_path)
    out: dict[str, MediaTask] = {}
    for name in found:
        for leaf, path in _leaves(index, name, frozenset()):
            config = read_task_yaml(path)
            modalities = frozenset(m for key, m in _MODALITIES.items() if config.get(key))
            if modalities and leaf not in out:
                per_doc = images_per_document(config, path) if "image" in modalities else None
                out[leaf] = MediaTask(leaf, modalities, str(config.get("output_type", "")), per_doc)
    return out


def _leaves(index: Any, name: str, seen: frozenset[str]) -> list[tuple[str, Path]]:
    from .lmeval.tasks import read_task_yaml

    if name in seen or name not in index:
        return []
    info = index.info(name)
    if info.kind == "task":
        return [(name, info.yaml_path)] if info.yaml_path is not None else []
    members: list[Any] = []
    if info.kind == "group" and info.yaml_path is not None:
        listed = read_task_yaml(info.yaml_path).get("task", [])
        members = [m.get("task") if isinstance(m, dict) else m for m in (listed if isinstance(listed, list) else [listed])]
    elif info.kind == "tag" and len(index.names) <= _TAG_SCAN_LIMIT:  # not lm_eval's ~15k built-in tasks
        for other in index.names:
            other_info = index.info(other)
            if other_info.kind == "task" and other_info.yaml_path is not None:
                tags = read_task_yaml(other_info.yaml_path).get("tag", [])
                if name in (tags if isinstance(tags, list) else [tags]):
                    members.append(other)
    out: list[tuple[str, Path]] = []
    for member in members:
        if isinstance(member, str):
            out += _leaves(index, member, seen | {name})
    return out


def images_per_document(config: dict[str, Any], yaml_path: Path | None = None, sample: int = 200) -> int | None:
    """The most images one of the first ``sample`` test documents carries (``<image>`` / ``<image_N>`` tags in
    its ``instruction``, ``inputs.image*`` fields), read from local JSON/JSONL/Parquet data files; else None."""
    files = (config.get("dataset_kwargs") or {}).get("data_files")
    split = config.get("test_split") or "test"
    if not isinstance(files, dict) or split not in files:
        return None
    chosen = files[split]
    path = Path(chosen[0] if isinstance(chosen, list) and chosen else str(chosen)).expanduser()
    if not path.is_absolute() and yaml_path is not None:
        path = yaml_path.parent / path
    try:
        records = _first_records(path, sample)
    except Exception:  # noqa: BLE001 - unreadable data: the run itself will say why
        return None
    if not records:
        return None
    return max(_images_in(record) for record in records)


def _first_records(path: Path, sample: int) -> list[dict[str, Any]]:
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        parquet = pq.ParquetFile(path)
        columns = [c for c in ("instruction", "inputs") if c in parquet.schema_arrow.names]
        batch = next(parquet.iter_batches(batch_size=sample, columns=columns), None)
        return batch.to_pylist() if batch is not None else []
    text = path.read_text(encoding="utf-8")
    if text.lstrip().startswith("["):
        return [r for r in json.loads(text)[:sample] if isinstance(r, dict)]
    if text.lstrip().startswith("{") and path.suffix == ".json" and "\n{" not in text.strip():
        data = json.loads(text)
        rows = data.get("data", data) if isinstance(data, dict) else data
        return [r for r in (rows if isinstance(rows, list) else [])[:sample] if isinstance(r, dict)]
    return [json.loads(line) for line in text.splitlines()[:sample] if line.strip()]


def _images_in(record: dict[str, Any]) -> int:
    tags = len(_IMAGE_TAG.findall(str(record.get("instruction", ""))))
    inputs = record.get("inputs")
    fields = sum(1 for k in inputs if k == "image" or re.fullmatch(r"image_\d+", str(k))) if isinstance(inputs, dict) else 0
    return max(tags, fields)


# -- the checks -----------------------------------------------------------------------------------------------------
def multimodal_checks(spec: RunSpec, *, check_tasks: bool = True) -> Iterable[Finding]:
    """Every multimodal finding for ``spec`` (task-based ones only when ``check_tasks``)."""
    yield from _backend_version(spec)
    yield from _flash_attention(spec)
    yield from _media_env(spec)
    if check_tasks and spec.tasks:
        yield from _task_checks(spec)


def _backend_version(spec: RunSpec) -> Iterable[Finding]:
    since = VISION_BACKENDS.get(spec.model)
    names = backend_names()
    if since and names and spec.model not in names:
        yield finding("error", "mm-backend-missing", "model", backend=spec.model, version=lm_eval_version(),
                      since=since)


def _flash_attention(spec: RunSpec) -> Iterable[Finding]:
    wanted = spec.model_args.get("attn_implementation")
    if wanted not in FLASH_ATTENTION:
        return
    where = "model_args.attn_implementation"
    device = str(spec.options.get("device", ""))
    # a missing flash-attn package is the pre-flight package check's (mera_magic.preflight.packages)
    if device == "cpu" or device == "mps":
        yield finding("error", "flash-attn", where, value=wanted, device=device)


def _media_env(spec: RunSpec) -> Iterable[Finding]:
    env = spec.env
    for name in LOAD_MODES:
        value = env.get(name)
        if value is not None and value not in ("1", "0", ""):
            yield finding("warning", "media-env", f"env.{name}", text_code="media-env-value", name=name, value=value)
    on = [n for n in LOAD_MODES if env.get(n) == "1"]
    if len(on) > 1:
        yield finding("error", "media-env", f"env.{on[1]}", text_code="media-env-ambiguous",
                      modes=text("finding.word.and").join(f"`{n}=1`" for n in on))
    mode = on[0] if len(on) == 1 else None
    if spec.model == "hf-multimodal" and mode in ("LOAD_BYTES", "LOAD_BASE64", "LOAD_FILES"):
        yield finding("error", "media-env", f"env.{mode}", text_code="media-env-hf-multimodal", mode=mode,
                      given=text(_MODE_TEXT[mode]))
    if (spec.model == "vllm-vlm" and mode == "LOAD_BASE64"
            and option_info("pass_multimodal_args_to_chat_history") is None):
        yield finding("warning", "media-env", "env.LOAD_BASE64", text_code="media-env-vllm-base64")
    yield from _stale_load_media(env)


#: how each mode hands images to the model (a text key)
_MODE_TEXT = {"LOAD_BYTES": "finding.media-mode.LOAD_BYTES", "LOAD_BASE64": "finding.media-mode.LOAD_BASE64",
              "LOAD_FILES": "finding.media-mode.LOAD_FILES", "LOAD_OBJECT": "finding.media-mode.LOAD_OBJECT"}
_MODE_ATTRIBUTES = {"LOAD_OBJECT": "load_object", "LOAD_BYTES": "load_bytes", "LOAD_BASE64": "load_base64",
                    "LOAD_FILES": "load_files"}


def _stale_load_media(env: dict[str, str]) -> Iterable[Finding]:
    """MERA's load_media.py reads LOAD_* once, at import. A mode the cell sets differently from the imported
    module sends the run to a fresh process (:mod:`mera_magic.environ`); a mode left on by an earlier cell and
    not named in this one would silently stay on: that is said here."""
    module = sys.modules.get("load_media")
    if module is None or not all(hasattr(module, a) for a in _MODE_ATTRIBUTES.values()):
        return
    left_on = [n for n, attr in _MODE_ATTRIBUTES.items() if getattr(module, attr) and n not in env]
    if left_on:
        name = left_on[0]
        yield finding("warning", "media-env", f"env.{name}", text_code="media-env-stale", name=name)


def _task_checks(spec: RunSpec) -> Iterable[Finding]:
    include = spec.options.get("include_path")
    if include and not Path(str(include)).exists():
        return
    try:
        tasks = media_tasks(list(spec.tasks), str(include) if include else None)
    except Exception:  # noqa: BLE001 - the task checks proper report an index that cannot be built
        return
    if not tasks:
        return
    names = ", ".join(f"`{t}`" for t in list(tasks)[:6]) + (" ..." if len(tasks) > 6 else "")
    backends = multimodal_backends()
    if backends and spec.model not in backends and spec.model in backend_names():
        choices = ", ".join(f"`{b}`" for b in sorted(VISION_BACKENDS) if b in backends)
        yield finding("error", "mm-text-backend", "model",
                      text_code="mm-text-backend-one" if len(tasks) == 1 else "mm-text-backend", tasks=names,
                      backend=spec.model, choices=choices or text("finding.mm-any-backend"))
        return
    if not is_vision_backend(spec.model):
        return
    other = sorted({m for t in tasks.values() for m in t.modalities} - {"image"})
    if other:
        which = [t.name for t in tasks.values() if t.modalities - {"image"}]
        modality = {"audio": "finding.modality.audio", "video": "finding.modality.video"}
        yield finding("error", "mm-modality", "tasks", tasks=", ".join(f"`{n}`" for n in which[:6]),
                      kinds="/".join(text(modality[m]) if m in modality else m for m in other), backend=spec.model)
    loglik = [t.name for t in tasks.values() if t.output_type in _SCORED_BY_LOGLIKELIHOOD]
    if loglik:
        yield finding("error", "mm-loglikelihood", "tasks", tasks=", ".join(f"`{n}`" for n in loglik[:6]),
                      backend=spec.model)
    if not spec.options.get("apply_chat_template"):
        yield finding("warning", "mm-chat-template", "options.apply_chat_template", backend=spec.model)
    yield from _max_images(spec, tasks)
    shots = spec.options.get("num_fewshot")
    if isinstance(shots, int) and shots > 0:
        yield finding("info", "mm-fewshot", "options.num_fewshot", shots=shots)


def _max_images(spec: RunSpec, tasks: dict[str, MediaTask]) -> Iterable[Finding]:
    raw = spec.model_args.get("max_images")
    if raw is None:
        return
    where = "model_args.max_images"
    try:
        limit = int(raw)
    except (TypeError, ValueError):
        yield finding("error", "mm-max-images", where, text_code="mm-max-images-int", value=raw)
        return
    over = {t.name: t.images_per_doc for t in tasks.values() if t.images_per_doc is not None and t.images_per_doc > limit}
    if over:
        shown = ", ".join(f"`{n}` ({k})" for n, k in list(over.items())[:6])
        yield finding("warning", "mm-max-images", where, limit=limit, tasks=shown, most=max(over.values()))
