"""Writes examples/quickstart.ipynb (kept as code so the notebook stays reviewable).  Run: python examples/make_quickstart.py"""

from __future__ import annotations

from _nb import write
from nbformat.v4 import new_code_cell, new_markdown_cell

CELLS = [
    new_markdown_cell(
        "# mera-magic quickstart\n\n"
        "Evaluate a model on MERA-shaped tasks from a notebook, offline, on a CPU, in under a minute.\n"
        "The `%%mera` cell takes the commands of MERA's evaluation guide as they are: environment variables, "
        "then `lm_eval` and its flags. Here a tiny demo model (built in seconds, no downloads) stands in for a "
        "real one, and a few small task sets written in MERA's record format stand in for `benchmark_tasks/`."),
    new_code_cell("%load_ext mera_magic\nimport mera_magic\n"
                  "%config MeraMagic.language = 'en'   # messages and panels in English (the default is Russian)"),
    new_code_cell(
        "from mera_magic import demo\n"
        "MODEL = demo.build_model()                     # a tiny Llama with a chat template, cached after the first build\n"
        "TASKS = demo.write_tasks('mera_demo_tasks')    # parus, rcb, rummlu (closed test), simplear, ... as --include_path\n"
        "OUT = 'mera_results'\n"
        "print(MODEL, TASKS, sep='\\n')"),
    new_markdown_cell(
        "## Check before running\n`%%mera --dry-run` parses the command with the installed lm_eval's own parser, shows "
        "what each part means and what is wrong — before anything heavy loads — and fails the cell when something is "
        "(so \"Run all\" stops there). `mera_magic.dry_run` shows the same as a value, without failing: this command "
        "has several mistakes."),
    new_code_cell(
        "import mera_magic\n"
        "mera_magic.dry_run('''\n"
        "TOKENIZERS_PARALLELISM=false lm_eval --model hf \\\n"
        "  --model_args pretrained=$MODEL,dtyp=float32 \\\n"
        "  --include_path $TASKS --tasks parus,simplar --fewshot_as_multiturn --log_samples\n"
        "''', globals())"),
    new_markdown_cell(
        "## Run\nThe same command, fixed. It runs in this kernel (live progress below the cell); the files in "
        "`mera_results/` are exactly what the `lm_eval` CLI writes. `-o r1` keeps the result in `r1`."),
    new_code_cell(
        "%%mera -o r1\n"
        "TOKENIZERS_PARALLELISM=false lm_eval --model hf \\\n"
        "  --model_args pretrained=$MODEL,dtype=float32 --device cpu --batch_size 8 \\\n"
        "  --include_path $TASKS --output_path $OUT --log_samples --seed 1234 \\\n"
        "  --tasks parus,rcb,simplear,rummlu_localscore"),
    new_code_cell("r1.metrics[['task', 'metric', 'value', 'stderr', 'n_samples']]"),
    new_code_cell("r1.samples('simplear').head()"),
    new_markdown_cell(
        "## Again, with the chat template\nThe model is still loaded, so the repeat starts at once."),
    new_code_cell(
        "%%mera -o r2\n"
        "lm_eval --model hf --model_args pretrained=$MODEL,dtype=float32 --device cpu --batch_size 8 \\\n"
        "  --include_path $TASKS --output_path $OUT --log_samples --seed 1234 \\\n"
        "  --apply_chat_template --tasks parus,rcb,simplear,rummlu_localscore"),
    new_code_cell("%mera models"),
    new_markdown_cell("## Compare the two runs"),
    new_code_cell("cmp = mera_magic.compare(r1, r2, names=['plain', 'chat'])\ncmp"),
    new_code_cell("print(cmp.to_markdown())"),
    new_markdown_cell(
        "## A closed test set, as MERA's are\n`rummlu`'s test answers are hidden: run it with `--predict_only`; the "
        "viewer says \"not scored locally\" instead of lm_eval's placeholder 999."),
    new_code_cell(
        "%%mera -o r3\n"
        "lm_eval --model hf --model_args pretrained=$MODEL,dtype=float32 --device cpu --batch_size 8 \\\n"
        "  --include_path $TASKS --output_path $OUT --predict_only --log_samples --seed 1234 --tasks rummlu,bps"),
    new_markdown_cell("## Past runs and MERA's submission archive"),
    new_code_cell("%mera runs mera_results"),
    new_code_cell(
        "# the demo has only some of MERA's tasks, so the archive is partial (the report says what is missing)\n"
        "%mera submit mera_results --partial"),
    new_code_cell("import mera_magic\nmera_magic.__version__"),
]


def main() -> None:
    write(CELLS, "quickstart.ipynb")


if __name__ == "__main__":
    main()
