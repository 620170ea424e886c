"""Lets PyPI's torchvision import beside vLLM's CPU torch (the vllm-vlm test environment only; see
scripts/vllm-vlm-env.sh, which installs this module with a ``.pth`` line that imports it at start-up).

PyPI's torchvision is a CUDA build: its C++ ops do not load with the CPU torch, and its import then fails in
``register_fake("torchvision::nms")`` with ``operator torchvision::nms does not exist``.  vLLM's LLaVA/Qwen2-VL
code imports torchvision's Python transforms, which need none of those ops.  This defines the two op schemas
torchvision's import registers against, just before torchvision is first imported (nothing else is imported
at start-up); the ops themselves stay unusable.
"""

from __future__ import annotations

import importlib.abc
import sys
from typing import Any

_LIBRARY: Any = None


class _DefineTorchvisionOps(importlib.abc.MetaPathFinder):
    """A finder that finds nothing: on the first ``import torchvision`` it defines the op schemas, then steps aside."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        global _LIBRARY
        if name == "torchvision" and _LIBRARY is None:
            sys.meta_path.remove(self)
            import torch

            _LIBRARY = torch.library.Library("torchvision", "DEF")
            _LIBRARY.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
            _LIBRARY.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        return None


sys.meta_path.insert(0, _DefineTorchvisionOps())
