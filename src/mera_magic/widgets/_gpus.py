"""The GPUs that are really on this machine, for the ``CUDA_VISIBLE_DEVICES`` field.

Asks ``nvidia-smi -L`` when it is installed; otherwise asks torch only when torch is already imported (importing
torch just to count GPUs would cost seconds and memory).  Standard library only.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import dataclass

_LINE = re.compile(r"^GPU (\d+): (.+?)(?: \(UUID: ([^)]+)\))?$")


@dataclass(frozen=True)
class Gpu:
    """One GPU: its index (what ``CUDA_VISIBLE_DEVICES`` takes), its name and UUID when known."""

    index: int
    name: str
    uuid: str | None = None


def parse_nvidia_smi(output: str) -> list[Gpu]:
    """Read the lines of ``nvidia-smi -L`` (``GPU 0: NVIDIA H100 (UUID: GPU-...)``); MIG lines are skipped."""
    gpus = []
    for line in output.splitlines():
        match = _LINE.match(line.strip())
        if match:
            gpus.append(Gpu(int(match.group(1)), match.group(2), match.group(3)))
    return gpus


def detect_gpus(timeout: float = 10.0) -> list[Gpu]:
    """The GPUs of this machine: from ``nvidia-smi -L``, else from an already imported torch, else none."""
    exe = shutil.which("nvidia-smi")
    if exe:
        try:
            done = subprocess.run([exe, "-L"], capture_output=True, text=True, timeout=timeout, check=False)
        except (OSError, subprocess.SubprocessError):
            done = None
        if done is not None and done.returncode == 0:
            return parse_nvidia_smi(done.stdout)
    torch = sys.modules.get("torch")
    cuda = getattr(torch, "cuda", None)
    if cuda is not None:
        try:
            if cuda.is_available():
                return [Gpu(i, str(cuda.get_device_name(i))) for i in range(cuda.device_count())]
        except Exception:  # a broken CUDA setup means: no usable GPU to offer
            return []
    return []


if __name__ == "__main__":  # `python _gpus.py`: what the panel would offer on this machine
    for gpu in detect_gpus():
        print(gpu)
