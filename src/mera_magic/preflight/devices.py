"""``--device cuda*``, ``CUDA_VISIBLE_DEVICES``, ``parallelize=True`` and ``tensor_parallel_size`` against the
GPUs this machine has, found without starting CUDA in the kernel: the NVIDIA driver's ``/proc/driver/nvidia/gpus``
folder, else ``nvidia-smi -L`` (2 s at most), else torch only when it has already started CUDA."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..findings import Finding
from ..spec import RunSpec
from .say import finding

PROC_GPUS = Path("/proc/driver/nvidia/gpus")


@dataclass(frozen=True)
class Gpus:
    """How many NVIDIA GPUs the machine has (all of them, before CUDA_VISIBLE_DEVICES), and how that was known."""

    count: int
    how: str


def inventory(proc: Path = PROC_GPUS) -> Gpus:
    """The machine's GPUs (see the module docstring); CUDA is never initialised by asking."""
    if proc.is_dir():
        return Gpus(sum(1 for _ in proc.iterdir()), str(proc))
    smi = shutil.which("nvidia-smi")
    if smi:
        try:
            out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=2, check=False).stdout
            return Gpus(sum(1 for line in out.splitlines() if line.startswith("GPU ")), "nvidia-smi -L")
        except (OSError, subprocess.SubprocessError):
            pass
    torch = sys.modules.get("torch")
    if torch is not None:
        try:
            if torch.cuda.is_initialized():
                return Gpus(int(torch.cuda.device_count()), "torch.cuda (already started)")
        except Exception:  # noqa: BLE001 - a torch built without CUDA
            pass
    return Gpus(0, f"{proc}, nvidia-smi")


def _truthy(value: Any) -> bool:
    return value is True or str(value).strip().lower() in ("true", "1", "yes")


def check_devices(spec: RunSpec, remembered: dict[Any, Any]) -> Iterable[Finding]:
    """Findings for GPUs a run asks for that the machine does not have."""
    device = str(spec.options.get("device") or spec.model_args.get("device") or "")
    cvd = spec.env.get("CUDA_VISIBLE_DEVICES", os.environ.get("CUDA_VISIBLE_DEVICES"))
    parallelize = _truthy(spec.model_args.get("parallelize", False))
    tp = spec.model_args.get("tensor_parallel_size")
    wants_gpu = device.startswith("cuda")
    if not (wants_gpu or parallelize or tp or "CUDA_VISIBLE_DEVICES" in spec.env):
        return
    gpus = remembered.get(("gpus",))
    if gpus is None:
        gpus = remembered[("gpus",)] = inventory()
    if gpus.count == 0:
        if wants_gpu:
            what = f"`--device {device}`" + (f" (CUDA_VISIBLE_DEVICES={cvd})" if cvd else "")
            yield finding("error", "no-gpu", "options.device", what=what, how=gpus.how)
        elif parallelize:
            yield finding("warning", "parallelize-on-cpu", "model_args.parallelize")
        return
    items = [i for i in (cvd or "").split(",") if i != ""] if cvd is not None else None
    visible = gpus.count if items is None else len(items)
    if items:
        missing = [i for i in items if i.isdigit() and int(i) >= gpus.count]
        if missing:
            yield finding("error", "cuda-device-missing", "env.CUDA_VISIBLE_DEVICES", cvd=cvd, missing=",".join(missing),
                          count=gpus.count, last=gpus.count - 1, how=gpus.how)
            return
    m = re.fullmatch(r"cuda:(\d+)", device)
    if m and int(m.group(1)) >= visible:
        yield finding("error", "device-index-missing", "options.device", device=device, visible=visible,
                      last=max(visible - 1, 0))
    # vLLM's tensor_parallel_size x data_parallel_size against the GPUs: mera_magic.probe.parallel_findings
    if parallelize and visible == 1:
        yield finding("info", "parallelize-one-gpu", "model_args.parallelize")
