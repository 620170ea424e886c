"""The commands of the MERA evaluation guide (../shared/seed), as test data.

FULL: the five complete examples, verbatim.  FLAG_EXAMPLES: each flag's example, with the guide's placeholders
(`<ПЕРЕМЕННЫЕ ОКРУЖЕНИЯ>`, `<ДРУГИЕ ПАРАМЕТРЫ ЗАПУСКА ФРЕЙМВОРКА>`) removed, since they are not shell.
"""

HF_TEXT = r"""CUDA_VISIBLE_DEVICES=2,3 HF_DATASETS_CACHE="./ds_cache" TOKENIZERS_PARALLELISM=false \
HF_DATASETS_IN_MEMORY_MAX_SIZE=23400000 PYTHONPATH=$PWD lm_eval --model hf \
--model_args pretrained=google/gemma-2-2b-it,dtype=bfloat16,add_bos_token=True,parallelize=True \
--output_path="$PWD/mera_results/gemma-2-2b-it" \
--include_path=./benchmark_tasks --use_cache lm_cache/gemma-2-2b-it \
--device cuda --batch_size=1 --predict_only --log_samples --seed 1234 --verbosity ERROR \
--apply_chat_template --trust_remote_code \
--tasks rummlu,mamuramu,rummlu_gen,mamuramu_gen"""

HF_MULTIMODAL = r"""CUDA_VISIBLE_DEVICES=0 lm_eval --model hf-multimodal \
--model_args pretrained=Qwen/Qwen2-VL-2B-Instruct,attn_implementation=flash_attention_2,dtype=bfloat16,convert_img_format=True \
--device cuda --output_path="$PWD/multimodal_results" --batch_size=1 --predict_only \
--log_samples --seed 1234 --num_fewshot=0 --apply_chat_template --fewshot_as_multiturn \
--include_path ./multimodal_tasks --tasks ruclevr,,ruvqa --limit 3"""

LOCAL_COMPLETIONS = r"""TOKENIZERS_PARALLELISM=false PYTHONPATH=$PWD lm_eval --model local-completions \
--model_args model=meta-llama/Llama-3.2-3B-Instruct,num_concurrent=128,base_url=http://localhost:8000/v1/completions,tokenizer_backend=huggingface,tokenizer=meta-llama/Llama-3.2-3B-Instruct,timeout=1000000 \
--batch_size=1 --predict_only --log_samples --seed 1234 --verbosity ERROR --num_fewshot=0 \
--output_path="./results/Llama-3.2-3B-Instruct" --use_cache="cache/llama-32-3b-instruct" \
--include_path=./benchmark_tasks --tasks simplear,bps"""

VLLM_TEXT = r"""CUDA_VISIBLE_DEVICES=0,1 HF_DATASETS_CACHE="./ds_cache" TOKENIZERS_PARALLELISM=false \
HF_DATASETS_IN_MEMORY_MAX_SIZE=23400000 PYTHONPATH=$PWD lm_eval --model vllm \
--model_args pretrained=../models/Local_Qwen,dtype=bfloat16,add_bos_token=True,tensor_parallel_size=2,gpu_memory_utilization=0.7 \
--output_path="$PWD/results/Local_Qwen" --include_path=./benchmark_tasks \
--use_cache lm_cache/Local_Qwen --device cuda --batch_size=1 --predict_only \
--log_samples --seed 1234 --verbosity ERROR --trust_remote_code \
--tasks simplear,bps_gen"""

VLLM_MULTIMODAL = r"""CUDA_VISIBLE_DEVICES=7 lm_eval --model vllm-vlm \
--model_args pretrained=Qwen/Qwen2-VL-2B-Instruct,dtype=bfloat16,tensor_parallel_size=1,gpu_memory_utilization=0.5 \
--device cuda --output_path="$PWD/test_ruvqa" --batch_size=1 \
--log_samples --seed 1234 --num_fewshot=0 --apply_chat_template --fewshot_as_multiturn \
--include_path ./multimodal_tasks --tasks ruvqa"""

FULL = {"hf_text": HF_TEXT, "hf_multimodal": HF_MULTIMODAL, "local_completions": LOCAL_COMPLETIONS,
        "vllm_text": VLLM_TEXT, "vllm_multimodal": VLLM_MULTIMODAL}

#: each flag's example in the guide: name -> (command, expected (model, model_args, tasks, options, env) parts)
FLAG_EXAMPLES = {
    "cuda_one": ("CUDA_VISIBLE_DEVICES=1 lm_eval --tasks x", {"env": {"CUDA_VISIBLE_DEVICES": "1"}}),
    "cuda_many": ("CUDA_VISIBLE_DEVICES=1,0,5 lm_eval --tasks x", {"env": {"CUDA_VISIBLE_DEVICES": "1,0,5"}}),
    "hf_home": ('HF_HOME="./cache" lm_eval --tasks x', {"env": {"HF_HOME": "./cache"}}),
    "hf_token": ('HF_TOKEN="XXX" lm_eval --tasks x', {"env": {"HF_TOKEN": "XXX"}}),
    "in_memory": ("HF_DATASETS_IN_MEMORY_MAX_SIZE=23400000 lm_eval --tasks x",
                  {"env": {"HF_DATASETS_IN_MEMORY_MAX_SIZE": "23400000"}}),
    "tokenizers": ("TOKENIZERS_PARALLELISM=false lm_eval --tasks x", {"env": {"TOKENIZERS_PARALLELISM": "false"}}),
    "tasks": ("lm_eval --tasks gsm8k,hellaswag", {"tasks": ["gsm8k", "hellaswag"]}),
    "model": ("lm_eval --model vllm --tasks x", {"model": "vllm"}),
    "device": ("lm_eval --device cuda --tasks x", {"options": {"device": "cuda"}}),
    "num_fewshot": ("lm_eval --num_fewshot 2 --tasks x", {"options": {"num_fewshot": 2}}),
    "batch_auto": ("lm_eval --batch_size auto --max_batch_size 256 --tasks x",
                   {"options": {"batch_size": "auto", "max_batch_size": 256}}),
    "output_dir": ('lm_eval --model vllm --model_args pretrained=meta-llama/Llama-3.2-1B_vllm,dtype=bfloat16 '
                   '--log_samples --output_path="/abs/results/llama-3.2-1b" --tasks x',
                   {"model": "vllm", "model_args": {"pretrained": "meta-llama/Llama-3.2-1B_vllm", "dtype": "bfloat16"},
                    "options": {"log_samples": True, "output_path": "/abs/results/llama-3.2-1b"}}),
    "show_config": ('lm_eval --model vllm --model_args pretrained=meta-llama/Llama-3.2-1B_vllm,dtype=bfloat16 '
                    '--log_samples --output_path="/abs/results/llama-3.2-1b" --show_config --tasks x',
                    {"options": {"log_samples": True, "output_path": "/abs/results/llama-3.2-1b", "show_config": True}}),
    "limit": ("lm_eval --limit 10 --tasks x", {"options": {"limit": 10.0}}),
    "use_cache": ("lm_eval --use_cache ./lm_cache/llama-3.2-1b --tasks x", {"options": {"use_cache": "./lm_cache/llama-3.2-1b"}}),
    "cache_requests": ("lm_eval --cache_requests refresh --tasks x", {"options": {"cache_requests": "refresh"}}),
    "write_out": ("lm_eval --write_out --tasks x", {"options": {"write_out": True}}),
    "chat_template": ("lm_eval --apply_chat_template --tasks x", {"options": {"apply_chat_template": True}}),
    "multiturn": ("lm_eval --apply_chat_template --fewshot_as_multiturn --tasks x",
                  {"options": {"apply_chat_template": True, "fewshot_as_multiturn": True}}),
    "include_path": ("lm_eval --include_path ./custom_tasks --tasks x", {"options": {"include_path": "./custom_tasks"}}),
    "gen_kwargs": ("lm_eval --gen_kwargs do_sample=true,temperature=0.6 --tasks x",
                   {"options": {"gen_kwargs": {"do_sample": True, "temperature": 0.6}}}),
    "verbosity": ("lm_eval --verbosity INFO --tasks x", {"options": {"verbosity": "INFO"}}),
    "predict_only": ("lm_eval --predict_only --tasks x", {"options": {"predict_only": True}}),
    "seed": ("lm_eval --seed 1,None,123,0 --tasks x", {"options": {"seed": [1, None, 123, 0]}}),
    "trust_remote_code": ("lm_eval --trust_remote_code --tasks x", {"options": {"trust_remote_code": True}}),
    "hf_hub_log_args": ("lm_eval --hf_hub_log_args hub_results_org=EleutherAI,hub_repo_name=lm-eval-results --tasks x",
                        {"options": {"hf_hub_log_args": {"hub_results_org": "EleutherAI", "hub_repo_name": "lm-eval-results"}}}),
    "wandb_args": ("lm_eval --wandb_args project=lm-eval,job_type=eval --tasks x",
                   {"options": {"wandb_args": {"project": "lm-eval", "job_type": "eval"}}}),
    "model_args_hf": ("lm_eval --model hf --model_args pretrained=Qwen/Qwen2-0.5B-Instruct,dtype=bfloat16,backend=causal,"
                      "max_length=15000,add_bos_token=True,parallelize=True --tasks x",
                      {"model_args": {"pretrained": "Qwen/Qwen2-0.5B-Instruct", "dtype": "bfloat16", "backend": "causal",
                                      "max_length": 15000, "add_bos_token": True, "parallelize": True}}),
    "model_args_hf_mm": ("CUDA_VISIBLE_DEVICES=0,1 lm_eval --model hf-multimodal --model_args pretrained=Qwen/Qwen2-VL-2B-Instruct,"
                         "dtype=bfloat16,parallelize=True,add_bos_token=True,convert_img_format=True --tasks x",
                         {"model": "hf-multimodal", "model_args": {"pretrained": "Qwen/Qwen2-VL-2B-Instruct", "dtype": "bfloat16",
                                                                   "parallelize": True, "add_bos_token": True,
                                                                   "convert_img_format": True}}),
    "model_args_vllm": ("CUDA_VISIBLE_DEVICES=0,1 lm_eval --model vllm --model_args pretrained=Qwen/Qwen2-0.5B-Instruct,"
                        "dtype=bfloat16,tensor_parallel_size=2,max_length=15000,add_bos_token=True --tasks x",
                        {"model_args": {"pretrained": "Qwen/Qwen2-0.5B-Instruct", "dtype": "bfloat16", "tensor_parallel_size": 2,
                                        "max_length": 15000, "add_bos_token": True}}),
    "model_args_vllm_vlm": ("CUDA_VISIBLE_DEVICES=0,1 lm_eval --model vllm --model_args pretrained=Qwen/Qwen2-VL-2B-Instruct,"
                            "dtype=bfloat16,tensor_parallel_size=1,gpu_memory_utilization=0.5,add_bos_token=True --tasks x",
                            {"model_args": {"pretrained": "Qwen/Qwen2-VL-2B-Instruct", "dtype": "bfloat16",
                                            "tensor_parallel_size": 1, "gpu_memory_utilization": 0.5, "add_bos_token": True}}),
    "model_args_api": ("lm_eval --model local-completions --model_args model=Qwen/Qwen2.5-7B-Instruct,num_concurrent=128,"
                       "base_url=http://localhost:7996/v1/completions,tokenizer_backend=huggingface,"
                       "tokenizer=Qwen/Qwen2.5-7B-Instruct,timeout=1000000,add_bos_token=True --tasks x",
                       {"model": "local-completions",
                        "model_args": {"model": "Qwen/Qwen2.5-7B-Instruct", "num_concurrent": 128,
                                       "base_url": "http://localhost:7996/v1/completions", "tokenizer_backend": "huggingface",
                                       "tokenizer": "Qwen/Qwen2.5-7B-Instruct", "timeout": 1000000, "add_bos_token": True}}),
}
