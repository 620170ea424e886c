"""Loaded models held between cells.

During a run, :class:`~mera_magic.lmeval.hooks.RunHooks` puts :func:`reuse_factory`'s factory in front of the
backend class lm_eval builds its model with: the first run loads the model as lm_eval would and the cache keeps
it; a later run with the same backend and model-loading arguments gets the held object back, with that run's
``batch_size``/``max_batch_size`` applied.  Because lm_eval still receives the model *name*, its results files
are exactly those of the CLI.
"""

from __future__ import annotations

import contextlib
import gc
import json
import sys
import types
from collections import OrderedDict
from collections.abc import Callable
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


def reuse_factory(cache: ModelCache, backend: str, device: str | None,
                  on_event: Callable[[str], None]) -> Callable[[Any], Any]:
    """``real backend class -> factory`` for :class:`~mera_magic.lmeval.hooks.RunHooks`: the first run loads
    the model as lm_eval would and ``cache`` keeps it; a later run with the same backend, model-loading arguments
    and device gets the held object back."""
    from ..lmeval.hooks import ReuseFactory

    def lookup(model_args: dict[str, Any]) -> Any:
        held = cache.get(model_key(backend, model_args, device))
        if held is None:
            return None
        on_event(f"Reusing the loaded model ({backend}, loaded in {held.load_seconds:.1f} s); "
                 "`%mera free` releases it.")
        return held.lm

    def store(model_args: dict[str, Any], lm: Any, seconds: float) -> None:
        cache.loads += 1
        cache.last_loaded = model_key(backend, model_args, device)
        cache.put(HeldModel(model_key(backend, model_args, device), backend, dict(model_args), device, lm, seconds))
        on_event(f"Loaded {backend} model in {seconds:.1f} s (kept for the next cells).")

    return lambda real: ReuseFactory(real, lookup, store)
