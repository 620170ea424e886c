"""A tiny offline demo: a Llama-architecture model built in seconds and small MERA-format task sets.

>>> from mera_magic import demo
>>> model_dir = demo.build_model()            # cached; ~10 s the first time, on a CPU, no downloads
>>> tasks_dir = demo.write_tasks()            # pass as --include_path
>>> demo.TASKS                                # parus, rcb, rummlu, bps, simplear, rumultiar, *_gen, *_localscore, rutie, ruhumaneval
>>> vlm_dir = demo.build_vlm()                # a tiny LLaVA (random weights) for --model hf-multimodal
>>> mm_dir = demo.write_vlm_tasks()           # ruclevr, rucommonvqa, mm_demo_pairs (tag mera_mm_demo)

then e.g. ``lm_eval --model hf --model_args pretrained=<model_dir>,dtype=float32 --device cpu
--include_path <tasks_dir> --tasks mera_demo --predict_only --output_path out``.
The model is trained on the demo tasks' open answers: its scores show the pipeline works, nothing more.
"""

from __future__ import annotations

from mera_magic.demo.model import DemoModelError, build_model
from mera_magic.demo.tasks import (
    CLOSED_TASKS,
    GEN_TAG,
    GEN_TASKS,
    LOCAL_TAG,
    LOCALSCORE_TASKS,
    REGULAR_TASKS,
    SPECIAL_TAG,
    SPECIAL_TASKS,
    TAG,
    TASKS,
    default_tasks_dir,
    write_tasks,
)
from mera_magic.demo.vlm import build_vlm
from mera_magic.demo.vlm_tasks import MM_TAG, MM_TASKS, default_vlm_tasks_dir, write_vlm_tasks

__all__ = [
    "CLOSED_TASKS",
    "GEN_TAG",
    "GEN_TASKS",
    "LOCAL_TAG",
    "LOCALSCORE_TASKS",
    "MM_TAG",
    "MM_TASKS",
    "REGULAR_TASKS",
    "SPECIAL_TAG",
    "SPECIAL_TASKS",
    "TAG",
    "TASKS",
    "DemoModelError",
    "build_model",
    "build_vlm",
    "default_tasks_dir",
    "default_vlm_tasks_dir",
    "write_tasks",
    "write_vlm_tasks",
]
