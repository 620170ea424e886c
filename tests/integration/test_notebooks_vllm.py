"""The vLLM example notebooks (MERA's guide, "vLLM на текстовых задачах" / "vLLM на мультимодальной задаче").

They are written for a GPU machine; this project has none.  What is checked here instead:

* both notebooks' run cells, with the guide's values put in their parameters, read as the guide's own commands
  (same backend, model_args, flags and environment), so the notebooks keep the guide's shape;
* each notebook is executed in a real Jupyter kernel of the running Python with **only** the cell tagged
  ``parameters`` replaced by CPU values (a tiny demo model, ``DEVICE='cpu'``, no GPUs, float32, a small context,
  eager mode): the dry run passes, both runs give answers, the second reuses the engine, ``%mera free`` releases
  it and the submission archive is written.  ``vllm_text.ipynb`` runs in the vLLM environment
  (``scripts/vllm-env.sh``: vLLM's CPU build + lm-eval), ``vllm_multimodal.ipynb`` in the vllm-vlm one
  (``scripts/vllm-vlm-env.sh``: the same plus ray and an importable torchvision); ``.ci/run`` runs this module
  with each venv's pytest, and each test is skipped, saying why, where its environment is missing.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import sys
import zipfile
from pathlib import Path
from typing import Any

import nbformat
import pytest

from tests import guide_commands

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"

#: the text notebook's parameters on a CPU with vLLM's CPU build (tests/integration/test_vllm_inprocess.py):
#: vLLM's message queue must bind loopback, a 1 GiB KV cache, float32, a small context, no graph compilation
CPU_TEXT_PARAMETERS = """\
import os
os.environ.setdefault('VLLM_HOST_IP', '127.0.0.1')
os.environ.setdefault('VLLM_CPU_KVCACHE_SPACE', '1')
from mera_magic import demo

MODEL = str(demo.build_model())
NAME = 'demo'
GPUS = ''
TP = 1
DEVICE = 'cpu'
DTYPE = 'float32'
MORE_MODEL_ARGS = ',max_model_len=1024,enforce_eager=True'
TASKS_DIR = demo.write_tasks('mera_demo_tasks')
TASKS = 'simplear,bps'
MORE_TASKS = 'parus,rcb'
OUT = 'results'
"""

#: the multimodal notebook's parameters with the demo VLM (its folder: MODEL) on a CPU
CPU_MULTIMODAL_PARAMETERS = """\
import os
os.environ.setdefault('VLLM_HOST_IP', '127.0.0.1')
os.environ.setdefault('VLLM_CPU_KVCACHE_SPACE', '1')
from mera_magic import demo

MODEL = {model!r}
NAME = 'demo-vlm'
GPUS = ''
TP = 1
DEVICE = 'cpu'
DTYPE = 'float32'
MORE_MODEL_ARGS = ',max_model_len=1024,enforce_eager=True'
TASKS_DIR = demo.write_vlm_tasks('mera_mm_tasks')
TASKS = 'ruclevr'
MORE_TASKS = 'rucommonvqa'
OUT = 'mm_results'
"""

#: the guide's values for the notebooks' parameters: the run cells must then read as the guide's commands
GUIDE_TEXT_VALUES = {"MODEL": "../models/Local_Qwen", "NAME": "Local_Qwen", "GPUS": "0,1", "TP": 2,
                     "DEVICE": "cuda", "DTYPE": "bfloat16", "MORE_MODEL_ARGS": "", "OUT": "results",
                     "TASKS_DIR": "./benchmark_tasks", "TASKS": "simplear,bps_gen"}
GUIDE_MULTIMODAL_VALUES = {"MODEL": "Qwen/Qwen2-VL-2B-Instruct", "NAME": "", "GPUS": "7", "TP": 1,
                           "DEVICE": "cuda", "DTYPE": "bfloat16", "MORE_MODEL_ARGS": "", "OUT": "test_ruvqa",
                           "TASKS_DIR": "./multimodal_tasks", "TASKS": "ruvqa"}


def _notebook(name: str) -> nbformat.NotebookNode:
    return nbformat.read(EXAMPLES / name, as_version=4)


def _parameters_cell(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, "a notebook has exactly one cell tagged `parameters`"
    return cells[0]


def _assigned(source: str) -> set[str]:
    """The names a cell assigns at its top level."""
    return {t.id for node in ast.parse(source).body if isinstance(node, ast.Assign)
            for t in node.targets if isinstance(t, ast.Name)}


def _mera_cells(nb: nbformat.NotebookNode) -> list[str]:
    """The commands of the notebook's ``%%mera`` cells (the line after ``%%mera`` dropped)."""
    return [c.source.split("\n", 1)[1] for c in nb.cells if c.cell_type == "code" and c.source.startswith("%%mera")]


@pytest.mark.parametrize(("name", "cpu", "guide", "values"), [
    ("vllm_text.ipynb", CPU_TEXT_PARAMETERS, guide_commands.VLLM_TEXT, GUIDE_TEXT_VALUES),
    ("vllm_multimodal.ipynb", CPU_MULTIMODAL_PARAMETERS.format(model="demo-vlm"), guide_commands.VLLM_MULTIMODAL,
     GUIDE_MULTIMODAL_VALUES),
])
def test_notebook_runs_the_guides_command(name: str, cpu: str, guide: str, values: dict[str, Any]) -> None:
    """With the guide's values as parameters, the notebook's run cell is the guide's command (the output folder
    and the use_cache path aside, which take the model's name from ``NAME``)."""
    from mera_magic import parse

    nb = _notebook(name)
    assert _assigned(_parameters_cell(nb).source) <= _assigned(cpu), "the CPU parameters must set every parameter"
    run_cell = next(c for c in _mera_cells(nb) if "$TASKS " in c + " ")
    namespace = {"MORE_TASKS": "x", **values}
    ours, theirs = parse(run_cell, namespace), parse(guide)
    for spec in (ours, theirs):
        spec.env.pop("PYTHONPATH", None)  # the guide's text sets it; $PWD differs nowhere, so compare the rest
    assert ours.model == theirs.model
    assert ours.model_args == theirs.model_args
    assert ours.tasks == theirs.tasks
    assert ours.env == theirs.env
    differing = {k for k in set(ours.options) | set(theirs.options) if ours.options.get(k) != theirs.options.get(k)}
    assert differing <= {"output_path", "use_cache"}, differing


# -- executed in the vLLM environment ---------------------------------------------------------------------------

def _execute(name: str, parameters: str, cwd: Path) -> nbformat.NotebookNode:
    """Run examples/``name`` in a real kernel of this Python with its parameters cell replaced by ``parameters``,
    and a last cell that reports which Python and which mera_magic the kernel ran."""
    from nbclient import NotebookClient

    shutil.copy(EXAMPLES / name, cwd / name)
    nb = nbformat.read(cwd / name, as_version=4)
    _parameters_cell(nb).source = parameters
    nb.cells.append(nbformat.v4.new_code_cell(
        "import sys, json, mera_magic\n"
        "print(json.dumps({'prefix': sys.prefix, 'mera_magic': mera_magic.__file__}))"))
    # jupyter_client starts the `python3` kernelspec with this interpreter (sys.executable); checked below.
    # Without pytest's marker ipykernel forwards what child processes (vLLM's engine) print, as in Jupyter.
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}).execute(env=env)
    nbformat.write(nb, cwd / f"executed_{name}")
    kernel = json.loads(nb.cells[-1].outputs[0]["text"])
    assert Path(kernel["prefix"]).resolve() == Path(sys.prefix).resolve(), "the kernel ran another environment"
    assert Path(kernel["mera_magic"]).resolve().is_relative_to(ROOT / "src"), "the kernel ran another mera_magic"
    return nb


def _cell_text(cell: nbformat.NotebookNode) -> str:
    return json.dumps(cell.get("outputs", []), ensure_ascii=False)


def _cell(nb: nbformat.NotebookNode, start: str) -> nbformat.NotebookNode:
    return next(c for c in nb.cells if c.cell_type == "code" and c.source.startswith(start))


def _dry_run_text(nb: nbformat.NotebookNode) -> str:
    """What the notebook's ``%%mera --dry-run`` cell showed, as text; it has no finding of level ERROR."""
    outputs = [o for o in _cell(nb, "%%mera --dry-run").outputs if "data" in o]
    text = "".join(o["data"]["text/plain"] for o in outputs)
    assert not re.search(r"^ +ERROR ", text, re.MULTILINE), text
    assert "— would run;" in "".join(o["data"].get("text/html", "") for o in outputs)  # the notebook's English
    return text


def _assert_clean(nb: nbformat.NotebookNode) -> None:
    """No cell failed, and no logging call broke (vLLM's records after a run once lost their process name)."""
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors == []
    assert "Logging error" not in json.dumps(nb)


@pytest.mark.slow
def test_vllm_text_notebook_executes_on_cpu(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("vllm", reason="runs in the vLLM environment (scripts/vllm-env.sh); .ci/run runs it there")
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)  # the notebook sets it for its runs
    nb = _execute("vllm_text.ipynb", CPU_TEXT_PARAMETERS, tmp_path)
    _assert_clean(nb)
    assert "--model vllm " in _dry_run_text(nb)

    runs = sorted((tmp_path / "results" / "demo").glob("*/results_*.json"))
    assert len(runs) == 2, runs
    samples = {p.name.split("_")[1]: p for p in (tmp_path / "results" / "demo").glob("*/samples_*.jsonl")}
    assert sorted(samples) == ["bps", "parus", "rcb", "simplear"]
    for task, path in samples.items():
        lines = [json.loads(line) for line in path.read_text().splitlines()]
        assert lines, task
        # every document answered: a generated text, or one log-likelihood per choice
        assert all(line["filtered_resps"] not in ([], [""]) for line in lines), task
    first = _cell_text(_cell(nb, "%%mera -o r\n"))
    assert "not scored locally" in first and "Samples: simplear" in first
    second = _cell_text(_cell(nb, "%%mera -o r2"))
    assert "Reusing the loaded model (vllm" in second  # the engine started once
    # what vLLM's engine processes print reaches the cell raw: at the run's --verbosity ERROR, no INFO lines
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs
                      if o.output_type == "stream")
    assert "INFO" not in printed, printed[-2000:]
    assert "released 1 model(s)" in _cell_text(_cell(nb, "%mera free"))
    archive = tmp_path / "results" / "demo_submission.zip"
    with zipfile.ZipFile(archive) as zf:
        assert {"SimpleAr.json", "BPS.json", "PARus.json", "RCB.json", "logs_public.zip"} <= set(zf.namelist())


@pytest.fixture(scope="module")
def vllm_llava(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo VLM with its vision tower's weights under the names vLLM's LLaVA loader reads
    (``vision_tower.vision_model.*``, as llava-hf checkpoints have them; transformers 5 saves ``vision_tower.*``,
    which vLLM 0.32 refuses: "There is no module or parameter named 'vision_tower.embeddings'")."""
    for module in ("vllm", "ray", "torchvision"):
        pytest.importorskip(module, reason="runs in the vllm-vlm environment (scripts/vllm-vlm-env.sh: vLLM's CPU "
                                           "build, ray, torchvision); .ci/run runs it there")
    from safetensors.torch import load_file, save_file

    from mera_magic import demo

    source = Path(demo.build_vlm())
    folder = tmp_path_factory.mktemp("demo-vlm") / "model"
    shutil.copytree(source, folder)
    prefix, wanted = "vision_tower.", "vision_tower.vision_model."
    weights = {(wanted + k[len(prefix):] if k.startswith(prefix) and not k.startswith(wanted) else k): v
               for k, v in load_file(source / "model.safetensors").items()}
    save_file(weights, folder / "model.safetensors", metadata={"format": "pt"})
    return folder


@pytest.mark.slow
def test_vllm_multimodal_notebook_executes_on_cpu(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  vllm_llava: Path) -> None:
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    nb = _execute("vllm_multimodal.ipynb", CPU_MULTIMODAL_PARAMETERS.format(model=str(vllm_llava)), tmp_path)
    _assert_clean(nb)
    assert "--model vllm-vlm" in _dry_run_text(nb)

    output = tmp_path / "mm_results" / "demo-vlm"
    samples = {p.name.split("_")[1]: p for p in output.glob("*/samples_*.jsonl")}
    assert sorted(samples) == ["ruclevr", "rucommonvqa"]
    for task, path in samples.items():
        lines = [json.loads(line) for line in path.read_text().splitlines()]
        assert len(lines) == 6 and all(line["filtered_resps"] for line in lines), task
    first = _cell_text(_cell(nb, "%%mera -o mm\n"))
    assert "exact_match" in first and "Samples: ruclevr" in first
    assert "data:image/png;base64," in first  # the samples view shows each document's picture
    assert "Reusing the loaded model (vllm-vlm" in _cell_text(_cell(nb, "%%mera -o mm2"))
    assert "released 1 model(s)" in _cell_text(_cell(nb, "%mera free"))
    with zipfile.ZipFile(tmp_path / "mm_results" / "demo-vlm_multimodal_submission.zip") as zf:
        assert {"ruCLEVR.json", "ruCommonVQA.json", "logs_public.zip"} <= set(zf.namelist())
