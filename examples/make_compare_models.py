"""Writes examples/compare_models.ipynb (kept as code so the notebook stays reviewable).  Run: python examples/make_compare_models.py"""

from __future__ import annotations

from _nb import write
from nbformat.v4 import new_code_cell, new_markdown_cell

COMMAND = (
    "TOKENIZERS_PARALLELISM=false lm_eval --model hf \\\n"
    "  --model_args pretrained=$MODEL,dtype=float32 --device cpu --batch_size 8 \\\n"
    "  --include_path $TASKS --output_path $OUT --log_samples --seed 1234 \\\n"
    "  --tasks parus,rcb,bps,simplear,rumultiar")

CELLS = [
    new_markdown_cell(
        "# mera-magic: compare two models\n\n"
        "The same MERA command on two models, their metrics side by side with the difference and whether it is "
        "significant, the documents they answered differently, a Markdown table for a report, and the same "
        "comparison rebuilt from the results folders in a later session. Offline, on a CPU, in about a minute: "
        "two tiny demo models (the same recipe, trained for 300 and for 40 steps) stand in for real ones."),
    new_code_cell("%load_ext mera_magic\nimport mera_magic\n"
                  "%config MeraMagic.language = 'en'   # messages and panels in English (the default is Russian)"),
    new_code_cell(
        "from mera_magic import demo\n"
        "A = demo.build_model('models/a')                  # 300 training steps (about 10 s to build)\n"
        "B = demo.build_model('models/b', train_steps=40)  # the same model, trained for much less\n"
        "TASKS = demo.write_tasks('mera_demo_tasks')\n"
        "OUT = 'compare_results'\n"
        "print(A, B, TASKS, sep='\\n')"),
    new_markdown_cell(
        "## The same command on both\nThe two runs differ only in the model: `pretrained=$A`, then `pretrained=$B` "
        "(`$NAME` is a variable of this notebook). lm_eval writes each run to `compare_results/<model>/`."),
    new_code_cell("%%mera -o a\n" + COMMAND.replace("$MODEL", "$A")),
    new_code_cell("%%mera -o b\n" + COMMAND.replace("$MODEL", "$B")),
    new_code_cell("%mera runs $OUT"),
    new_markdown_cell(
        "## Compare\nOne column per model, `Δ` (the second minus the first) and `p`, a two-sided z-test from the "
        "standard errors lm_eval reports (16 documents per demo task: only large differences are significant). "
        "The chart below the table and the documents answered differently are shown on request in a live "
        "notebook; `differences(task)` gives them as a table."),
    new_code_cell("cmp = mera_magic.compare(a, b, names=['a (300 steps)', 'b (40 steps)'])\ncmp"),
    new_code_cell(
        "for task in ['parus', 'rcb', 'bps', 'simplear', 'rumultiar']:\n"
        "    print(f'{task:>10}: {len(cmp.differences(task)):2} of {len(a.samples(task))} documents answered differently')\n"
        "cmp.differences('simplear')[['doc_id', 'target', 'answer a (300 steps)', 'answer b (40 steps)']].head()"),
    new_code_cell("print(cmp.to_markdown())"),
    new_markdown_cell(
        "## In a later session\nNothing above needs this kernel's memory: the runs are lm_eval's own files. "
        "`mera_magic.runs(folder)` lists them, newest first; `mera_magic.load(path)` reads one back (a results "
        "file, or a folder: its newest run), and `compare` takes paths too."),
    new_code_cell(
        "past = mera_magic.runs('compare_results')\n"
        "past[['run', 'model', 'tasks', 'n_samples', 'path']]"),
    new_code_cell(
        "b_again, a_again = (mera_magic.load(path) for path in past['path'])   # newest first: b, then a\n"
        "again = mera_magic.compare(a_again, b_again, names=['a (300 steps)', 'b (40 steps)'])\n"
        "print('the same comparison from disk:', again.to_markdown() == cmp.to_markdown())\n"
        "again.table[['task', 'metric', 'a (300 steps)', 'b (40 steps)', 'Δ b (40 steps)', 'p b (40 steps)']]"),
]


def main() -> None:
    write(CELLS, "compare_models.ipynb")


if __name__ == "__main__":
    main()
