"""Loaded models held between cells, and the hook that lets lm_eval reuse them.

lm_eval builds its model with ``lm_eval.api.registry.get_model(name).create_from_arg_obj(model_args,
{batch_size, max_batch_size, device})`` (``create_from_arg_string`` in older versions).  During a run,
:func:`reuse_models` puts a factory in front of that class: the first run loads the model as lm_eval would and
the cache keeps it; a later run with the same backend and model-loading arguments gets the held object back, with
that run's ``batch_size``/``max_batch_size`` applied to it (lm_eval itself ignores them for a model object, a
known bug we do not inherit).  Because lm_eval still receives the model *name*, its results files are exactly
those of the CLI.
"""

from __future__ import annotations

import contextlib
import gc
import json
import sys
import time
import types
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass
class HeldModel:
    """One loaded model kept for reuse."""

    key: str
    backend: str
    model_args: dict[str, Any]
    device: str | None
    lm: Any
    load_seconds: float
    uses: int = 1

    def memory_bytes(self) -> int | None:
        """Bytes of the model's parameters (and buffers), when it is a torch model."""
        model = getattr(self.lm, "_model", None) or getattr(self.lm, "model", None)
        try:
            params = list(model.parameters()) + list(model.buffers())  # type: ignore[union-attr]
        except Exception:  # noqa: BLE001 - not a torch module (vLLM engine, API client)
            return None
        return sum(p.numel() * p.element_size() for p in params)


def model_key(backend: str, model_args: dict[str, Any], device: str | None) -> str:
    """What identifies a loaded model: backend, model-loading arguments and device (batch settings excluded)."""
    loading = {k: v for k, v in sorted(model_args.items()) if k not in ("batch_size", "max_batch_size")}
    return json.dumps([backend, loading, device], sort_keys=True, default=str)


def apply_batch_settings(lm: Any, config: dict[str, Any] | None) -> None:
    """Give a held model this run's batch_size / max_batch_size, as its constructor would have."""
    config = config or {}
    batch_size = config.get("batch_size")
    max_batch_size = config.get("max_batch_size")
    if batch_size is None:
        return
    text = str(batch_size)
    if hasattr(lm, "batch_size_per_gpu"):  # HFLM and subclasses
        if text.startswith("auto"):
            parts = text.split(":")
            lm.batch_size_per_gpu = parts[0]
            lm.batch_schedule = float(parts[1]) if len(parts) > 1 else 1
        else:
            lm.batch_size_per_gpu = int(text)
        if max_batch_size is not None:
            lm.max_batch_size = int(max_batch_size)
        if hasattr(lm, "batch_sizes"):
            lm.batch_sizes = {}
    elif hasattr(lm, "_batch_size"):  # API backends
        lm._batch_size = 1 if text.startswith("auto") else int(text)
    elif hasattr(lm, "batch_size") and not isinstance(type(lm).__dict__.get("batch_size"), property):  # vLLM
        lm.batch_size = "auto" if text.startswith("auto") else int(text)


def _clear_finished_frames(obj: Any) -> None:
    """Let go of ``obj`` where finished frames still hold it as a local.

    A library that keeps an exception caught while it was imported during a run (vLLM does) keeps that
    exception's traceback, i.e. every frame up to lm_eval's ``simple_evaluate``, whose locals include the model:
    the model would outlive ``%mera free``.  Clearing those finished frames' locals releases it.
    """
    for referrer in gc.get_referrers(obj):
        if isinstance(referrer, types.FrameType):
            with contextlib.suppress(RuntimeError):  # a frame still executing keeps its locals
                referrer.clear()


class ModelCache:
    """The models a kernel holds (at most ``limit``, least recently used dropped first)."""

    def __init__(self, limit: int = 1) -> None:
        self.limit = limit
        self._held: OrderedDict[str, HeldModel] = OrderedDict()
        #: how many times a model was really loaded (not reused) — what tests assert on
        self.loads = 0
        #: key of the model the latest load put here (a run that fails releases it: see runner.run)
        self.last_loaded: str | None = None

    def get(self, key: str) -> HeldModel | None:
        held = self._held.get(key)
        if held is not None:
            self._held.move_to_end(key)
            held.uses += 1
        return held

    def put(self, held: HeldModel) -> None:
        self._held[held.key] = held
        self._held.move_to_end(held.key)
        while len(self._held) > max(self.limit, 1):
            self._release(next(iter(self._held)))

    def held(self) -> list[HeldModel]:
        """The models held now, oldest first."""
        return list(self._held.values())

    def _release(self, key: str) -> None:
        held = self._held.pop(key)
        lm, held.lm = held.lm, None
        _clear_finished_frames(lm)

    def free(self, key: str | None = None) -> int:
        """Release one held model (or all), then collect garbage and empty the CUDA cache; returns how many."""
        keys = [key] if key is not None else list(self._held)
        for k in keys:
            if k in self._held:
                self._release(k)
        gc.collect()
        torch = sys.modules.get("torch")
        if torch is not None:
            with contextlib.suppress(Exception):
                if torch.cuda.is_available():
                    torch.cuda.empty_cache()
        return len(keys)


class _ReuseFactory:
    """Stands in for a backend class inside ``get_model``: creates once, then hands out the held object."""

    def __init__(self, real: Any, cache: ModelCache, backend: str, device: str | None, on_event: Any) -> None:
        self._real = real
        self._cache = cache
        self._backend = backend
        self._device = device
        self._on_event = on_event

    def _create(self, creator: str, args: Any, model_args: dict[str, Any], config: dict[str, Any] | None) -> Any:
        key = model_key(self._backend, model_args, self._device)
        held = self._cache.get(key)
        if held is not None:
            apply_batch_settings(held.lm, config)
            self._on_event(f"Reusing the loaded model ({self._backend}, loaded in {held.load_seconds:.1f} s); "
                           "`%mera free` releases it.")
            return held.lm
        start = time.monotonic()
        lm = getattr(self._real, creator)(args, config)
        self._cache.loads += 1
        self._cache.last_loaded = key
        self._cache.put(HeldModel(key, self._backend, dict(model_args), self._device, lm, time.monotonic() - start))
        self._on_event(f"Loaded {self._backend} model in {time.monotonic() - start:.1f} s (kept for the next cells).")
        return lm

    def create_from_arg_obj(self, arg_dict: dict[str, Any], additional_config: dict[str, Any] | None = None) -> Any:
        return self._create("create_from_arg_obj", arg_dict, dict(arg_dict), additional_config)

    def create_from_arg_string(self, arg_string: str, additional_config: dict[str, Any] | None = None) -> Any:
        from ..command.values import to_mapping

        return self._create("create_from_arg_string", arg_string, to_mapping("model_args", arg_string), additional_config)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


@contextlib.contextmanager
def reuse_models(cache: ModelCache, backend: str, device: str | None, on_event: Any) -> Iterator[None]:
    """During the block, ``lm_eval.api.registry.get_model(backend)`` returns a reusing factory."""
    import lm_eval.api.registry as registry

    real_get_model = registry.get_model

    def get_model(name: str) -> Any:
        real = real_get_model(name)
        return _ReuseFactory(real, cache, backend, device, on_event) if name == backend else real

    registry.get_model = get_model
    try:
        yield
    finally:
        registry.get_model = real_get_model
