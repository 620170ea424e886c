"""Writes examples/multimodal.ipynb (kept as code so the notebook stays reviewable).  Run: python examples/make_multimodal.py"""

from __future__ import annotations

from _nb import write
from nbformat.v4 import new_code_cell, new_markdown_cell

CELLS = [
    new_markdown_cell(
        "# mera-magic: MERA's multimodal tasks\n\n"
        "MERA's guide evaluates vision-language models (Qwen2-VL, ...) on MERA_MULTIMODAL's tasks with "
        "`--model hf-multimodal` (or `vllm-vlm`), `--apply_chat_template` and 0-shot. Here a tiny LLaVA built in "
        "seconds (random weights, no downloads) stands in for a real model, and three small image tasks in MERA's "
        "multimodal record format (`inputs.image`, an `instruction` with `<image>`, `outputs`, `meta`; pictures "
        "drawn by code, as ruCLEVR's scenes are) stand in for `multimodal_tasks/`. Needs lm-eval >= 0.4.5 and Pillow."),
    new_code_cell("%load_ext mera_magic\nimport mera_magic\n"
                  "%config MeraMagic.language = 'en'   # messages and panels in English (the default is Russian)"),
    new_code_cell(
        "from mera_magic import demo\n"
        "VLM = demo.build_vlm()                               # CLIP vision tower + Llama, LlavaProcessor; cached\n"
        "MM_TASKS = demo.write_vlm_tasks('mera_mm_tasks')     # ruclevr, rucommonvqa, mm_demo_pairs (tag mera_mm_demo)\n"
        "OUT = 'mera_mm_results'\n"
        "print(VLM, MM_TASKS, sep='\\n')"),
    new_markdown_cell(
        "## Check before running\nThe checks know what hf-multimodal cannot do: `--batch_size auto`, a `max_images` "
        "below the images a document carries (`mm_demo_pairs` has two), a missing `--apply_chat_template`, "
        "`flash_attention_2` where flash-attn is not installed or on a CPU, two of MERA's `LOAD_*` media modes at "
        "once. (`%%mera --dry-run` would show the same and fail the cell; `mera_magic.dry_run` shows it as a value.)"),
    new_code_cell(
        "import mera_magic\n"
        "mera_magic.dry_run(\'\'\'\n"
        "LOAD_BYTES=1 LOAD_BASE64=1 lm_eval --model hf-multimodal \\\n"
        "  --model_args pretrained=$VLM,max_images=1,attn_implementation=flash_attention_2 \\\n"
        "  --device cpu --batch_size auto --include_path $MM_TASKS --tasks mera_mm_demo\n"
        "\'\'\', globals())"),
    new_markdown_cell(
        "## Run\nThe same command, fixed, runs in this kernel. The Samples tab shows each document's pictures next to "
        "its question, the model's answer and the target: lm_eval keeps only image hashes in its samples files, so "
        "they are taken from the document's path or from the task's data set by `doc_id`."),
    new_code_cell(
        "%%mera -o mm\n"
        "TOKENIZERS_PARALLELISM=false lm_eval --model hf-multimodal \\\n"
        "  --model_args pretrained=$VLM,max_images=2,dtype=float32 --device cpu --batch_size 2 \\\n"
        "  --include_path $MM_TASKS --tasks mera_mm_demo --apply_chat_template \\\n"
        "  --output_path $OUT --log_samples --seed 1234"),
    new_code_cell("mm.metrics[['task', 'metric', 'value', 'n_samples']]"),
    new_markdown_cell(
        "## MERA_MULTIMODAL's submission archive\nBuilt offline from the samples files (`ruCLEVR.json`, "
        "`ruCommonVQA.json`, merged domains, `logs_public.zip`) and checked as the website checks it; the demo has "
        "two of MERA's 18 multimodal tasks, so the archive is partial and the report says what is missing."),
    new_code_cell("%mera submit mera_mm_results --partial"),
]


def main() -> None:
    write(CELLS, "multimodal.ipynb")


if __name__ == "__main__":
    main()
