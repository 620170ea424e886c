"""Writes examples/openai_server.ipynb (kept as code so the notebook stays reviewable).  Run: python examples/make_openai_server.py"""

from __future__ import annotations

from _nb import write
from nbformat.v4 import new_code_cell, new_markdown_cell

CELLS = [
    new_markdown_cell(
        "# mera-magic: an OpenAI-like server (`local-completions`)\n\n"
        "MERA's guide evaluates a model behind an OpenAI-compatible server with `--model local-completions` "
        "(and `local-chat-completions`). This notebook does it end to end on the tiny demo model: it starts vLLM's "
        "server from the notebook, checks the command against it, runs the guide's command, then runs the same "
        "model in-process and shows that the server gave the same answers.\n\n"
        "**What it needs: vLLM, for `%mera serve`** (the kernel itself only talks HTTP to the server):\n\n"
        "* on a GPU machine: `pip install vllm`, in this kernel's environment or in another one "
        "(then `%mera serve --python /path/to/that/env/bin/python ...`, or set `$MERA_VLLM_PYTHON`);\n"
        "* on a CPU: `bash scripts/vllm-env.sh` (vLLM's CPU build, about 4 GB) makes `.venv-vllm` at the "
        "repository root; `%mera serve` finds it there (from `examples/` too), or set "
        "`$MERA_VLLM_PYTHON=/path/to/.venv-vllm/bin/python`. On a CPU the demo model's server is ready in about half a minute to a few minutes, as busy as the machine is.\n\n"
        "**Or any OpenAI-compatible server that is already running** (vLLM, SGLang, TGI, ...): skip the "
        "`%mera serve` cell and name it instead, e.g. `%env MERA_SERVE_URL=http://localhost:8000/v1` and "
        "`%env MERA_SERVE_MODEL=<the name it serves>`; the cells below only use those two variables "
        "(the in-process comparison at the end loads `MODEL`, so point `MODEL` at the same weights, or stop there)."),
    new_code_cell("%load_ext mera_magic\nimport mera_magic\n"
                  "%config MeraMagic.language = 'en'   # messages and panels in English (the default is Russian)"),
    new_code_cell(
        "from mera_magic import demo\n"
        "MODEL = demo.build_model()                     # a tiny Llama with a chat template, cached after the first build\n"
        "TASKS = demo.write_tasks('mera_demo_tasks')    # MERA-format demo tasks (simplear, bps, parus, ...) as --include_path\n"
        "print(MODEL, TASKS, sep='\\n')"),
    new_markdown_cell(
        "## Start the server\n`%mera serve MODEL [vLLM flags]` starts vLLM's OpenAI-compatible server as a child "
        "process of this kernel on 127.0.0.1 and a free port, waits until it answers, and sets `$MERA_SERVE_URL` "
        "(`http://127.0.0.1:PORT/v1`) and `$MERA_SERVE_MODEL` (the served name: here the model's folder, so "
        "lm_eval's tokenizer loads from the same name). The flags are vLLM's own and work on a CPU and a GPU "
        "alike for the demo model: float32 weights, a short context, a few sequences at a time, and "
        "`--enforce-eager` (no graph compilation: ready in about half the time on a CPU). For a real model on a "
        "GPU: `%mera serve meta-llama/Llama-3.2-3B-Instruct --dtype bfloat16`."),
    new_code_cell("%mera serve $MODEL --dtype float32 --max-model-len 1024 --max-num-seqs 16 --enforce-eager"),
    new_markdown_cell(
        "## Check before running\nBefore the first request, the checks ask the server itself: does it answer at "
        "`base_url`, does it serve the `model=` name, does it return the log-probabilities multiple-choice tasks "
        "need? Here the guide's command is copied with its `model=` name left as it was, a model this server does "
        "not serve (lm_eval would otherwise start and fail on the first request). `mera_magic.dry_run` shows the "
        "findings as a value; `%%mera --dry-run` would show the same and fail the cell."),
    new_code_cell(
        "mera_magic.dry_run('''\n"
        "TOKENIZERS_PARALLELISM=false lm_eval --model local-completions \\\n"
        "  --model_args model=meta-llama/Llama-3.2-3B-Instruct,num_concurrent=8,base_url=$MERA_SERVE_URL/completions,tokenizer_backend=huggingface,tokenizer=$MERA_SERVE_MODEL,timeout=600 \\\n"
        "  --batch_size=1 --log_samples --seed 1234 --num_fewshot=0 \\\n"
        "  --output_path=./results/demo-server --include_path=$TASKS --tasks simplear,bps\n"
        "''', globals())"),
    new_markdown_cell(
        "## The guide's command\nThe guide's `local-completions` example with the server's name and address, "
        "`num_concurrent=8` instead of 128 (a CPU server), and without `--predict_only` / `--verbosity ERROR`: the "
        "demo tasks have open answers, so lm_eval scores them here and the log stays visible. One addition: "
        "`add_bos_token=True` (the guide's `hf` command has it too). lm_eval's API backends tokenize the prompt "
        "here and send the server token ids *without* the tokenizer's BOS token unless told; `--model hf` "
        "(lm_eval 0.4.10 and later) puts it first by default, so without it the two would not see the same "
        "tokens.\n\nRequests go out concurrently and are counted in the progress as they are answered; "
        "`--use_cache` keeps every answer, so a rerun (or a run cut short by a server that died) asks only for "
        "what is missing."),
    new_code_cell(
        "%%mera -o api\n"
        "TOKENIZERS_PARALLELISM=false lm_eval --model local-completions \\\n"
        "  --model_args model=$MERA_SERVE_MODEL,num_concurrent=8,base_url=$MERA_SERVE_URL/completions,tokenizer_backend=huggingface,tokenizer=$MERA_SERVE_MODEL,timeout=600,add_bos_token=True \\\n"
        "  --batch_size=1 --log_samples --seed 1234 --num_fewshot=0 \\\n"
        "  --output_path=./results/demo-server --use_cache=cache/demo-server \\\n"
        "  --include_path=$TASKS --tasks simplear,bps"),
    new_code_cell("api.metrics[['task', 'metric', 'value', 'stderr', 'n_samples']]"),
    new_code_cell("api.samples('simplear')[['doc_id', 'prompt', 'target', 'filtered', 'correct']].head()"),
    new_markdown_cell(
        "## Chat completions\n`local-chat-completions` sends messages to `/v1/chat/completions` and the server "
        "applies the model's chat template; it takes generative tasks only (no log-probabilities) and needs "
        "`--apply_chat_template`, which the checks say when it is missing."),
    new_code_cell(
        "%%mera -o chat\n"
        "TOKENIZERS_PARALLELISM=false lm_eval --model local-chat-completions \\\n"
        "  --model_args model=$MERA_SERVE_MODEL,num_concurrent=8,base_url=$MERA_SERVE_URL/chat/completions,timeout=600 \\\n"
        "  --batch_size=1 --log_samples --seed 1234 --num_fewshot=0 --apply_chat_template \\\n"
        "  --output_path=./results/demo-server-chat --include_path=$TASKS --tasks simplear"),
    new_code_cell("chat.samples('simplear')[['doc_id', 'target', 'response', 'correct']].head()"),
    new_markdown_cell(
        "## The same model in-process\nThe same tasks with `--model hf` (the weights loaded in this kernel, the "
        "same `add_bos_token=True`). "
        "`mera_magic.compare` puts both runs side by side; `differences(task)` lists the documents the two "
        "answered differently: none, and the log-probabilities agree to float precision, so the server's answers "
        "are the model's."),
    new_code_cell(
        "%%mera -o local\n"
        "TOKENIZERS_PARALLELISM=false lm_eval --model hf --model_args pretrained=$MODEL,dtype=float32,add_bos_token=True \\\n"
        "  --device cpu --batch_size=8 --log_samples --seed 1234 --num_fewshot=0 \\\n"
        "  --output_path=./results/demo-hf --include_path=$TASKS --tasks simplear,bps"),
    new_code_cell("cmp = mera_magic.compare(api, local, names=['vLLM server', 'hf in-process'])\ncmp"),
    new_code_cell(
        "for task in ['simplear', 'bps']:\n"
        "    different = cmp.differences(task)\n"
        "    print(f'{task}: {len(different)} of {len(local.samples(task))} documents answered differently')\n"
        "# bps is multiple choice: the server's log-probabilities of each choice, against torch's in this kernel\n"
        "server_ll, local_ll = (r.samples('bps').sort_values('doc_id')['loglikelihoods'] for r in (api, local))\n"
        "largest = max(abs(x - y) for a, b in zip(server_ll, local_ll) for x, y in zip(a, b))\n"
        "print(f'largest log-likelihood difference on bps: {largest:.1e}')"),
    new_markdown_cell(
        "## Stop the server\nIt also stops when the kernel shuts down; `%mera serve` lists the running ones and "
        "`%mera serve --log` shows a server's log."),
    new_code_cell("%mera serve --stop"),
]


def main() -> None:
    write(CELLS, "openai_server.ipynb")


if __name__ == "__main__":
    main()
