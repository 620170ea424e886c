"""mera_magic.command: the MERA guide's command language -> RunSpec, and back with to_command()."""

from __future__ import annotations

import os
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mera_magic import RunSpec, parse
from mera_magic.command import parse_command
from mera_magic.errors import MeraError, ParseError
from mera_magic.lmeval.parser import lm_eval_options, option_info
from tests.guide_commands import FLAG_EXAMPLES, FULL

CWD = os.getcwd()


def expected_full() -> dict[str, RunSpec]:
    return {
        "hf_text": RunSpec(
            model="hf",
            model_args={"pretrained": "google/gemma-2-2b-it", "dtype": "bfloat16", "add_bos_token": True,
                        "parallelize": True},
            tasks=["rummlu", "mamuramu", "rummlu_gen", "mamuramu_gen"],
            options={"output_path": f"{CWD}/mera_results/gemma-2-2b-it", "include_path": "./benchmark_tasks",
                     "use_cache": "lm_cache/gemma-2-2b-it", "device": "cuda", "batch_size": "1",
                     "predict_only": True, "log_samples": True, "seed": [1234] * 4, "verbosity": "ERROR",
                     "apply_chat_template": True, "trust_remote_code": True},
            env={"CUDA_VISIBLE_DEVICES": "2,3", "HF_DATASETS_CACHE": "./ds_cache", "TOKENIZERS_PARALLELISM": "false",
                 "HF_DATASETS_IN_MEMORY_MAX_SIZE": "23400000", "PYTHONPATH": CWD}),
        "hf_multimodal": RunSpec(
            model="hf-multimodal",
            model_args={"pretrained": "Qwen/Qwen2-VL-2B-Instruct", "attn_implementation": "flash_attention_2",
                        "dtype": "bfloat16", "convert_img_format": True},
            tasks=["ruclevr", "ruvqa"],
            options={"device": "cuda", "output_path": f"{CWD}/multimodal_results", "batch_size": "1",
                     "predict_only": True, "log_samples": True, "seed": [1234] * 4, "num_fewshot": 0,
                     "apply_chat_template": True, "fewshot_as_multiturn": True, "include_path": "./multimodal_tasks",
                     "limit": 3.0},
            env={"CUDA_VISIBLE_DEVICES": "0"}),
        "local_completions": RunSpec(
            model="local-completions",
            model_args={"model": "meta-llama/Llama-3.2-3B-Instruct", "num_concurrent": 128,
                        "base_url": "http://localhost:8000/v1/completions", "tokenizer_backend": "huggingface",
                        "tokenizer": "meta-llama/Llama-3.2-3B-Instruct", "timeout": 1000000},
            tasks=["simplear", "bps"],
            options={"batch_size": "1", "predict_only": True, "log_samples": True, "seed": [1234] * 4,
                     "verbosity": "ERROR", "num_fewshot": 0, "output_path": "./results/Llama-3.2-3B-Instruct",
                     "use_cache": "cache/llama-32-3b-instruct", "include_path": "./benchmark_tasks"},
            env={"TOKENIZERS_PARALLELISM": "false", "PYTHONPATH": CWD}),
        "vllm_text": RunSpec(
            model="vllm",
            model_args={"pretrained": "../models/Local_Qwen", "dtype": "bfloat16", "add_bos_token": True,
                        "tensor_parallel_size": 2, "gpu_memory_utilization": 0.7},
            tasks=["simplear", "bps_gen"],
            options={"output_path": f"{CWD}/results/Local_Qwen", "include_path": "./benchmark_tasks",
                     "use_cache": "lm_cache/Local_Qwen", "device": "cuda", "batch_size": "1", "predict_only": True,
                     "log_samples": True, "seed": [1234] * 4, "verbosity": "ERROR", "trust_remote_code": True},
            env={"CUDA_VISIBLE_DEVICES": "0,1", "HF_DATASETS_CACHE": "./ds_cache", "TOKENIZERS_PARALLELISM": "false",
                 "HF_DATASETS_IN_MEMORY_MAX_SIZE": "23400000", "PYTHONPATH": CWD}),
        "vllm_multimodal": RunSpec(
            model="vllm-vlm",
            model_args={"pretrained": "Qwen/Qwen2-VL-2B-Instruct", "dtype": "bfloat16", "tensor_parallel_size": 1,
                        "gpu_memory_utilization": 0.5},
            tasks=["ruvqa"],
            options={"device": "cuda", "output_path": f"{CWD}/test_ruvqa", "batch_size": "1", "log_samples": True,
                     "seed": [1234] * 4, "num_fewshot": 0, "apply_chat_template": True,
                     "fewshot_as_multiturn": True, "include_path": "./multimodal_tasks"},
            env={"CUDA_VISIBLE_DEVICES": "7"}),
    }


@pytest.mark.parametrize("name", list(FULL))
def test_guide_full_examples_parse_field_by_field(name: str) -> None:
    spec = parse(FULL[name])
    want = expected_full()[name]
    assert spec.env == want.env
    assert spec.model == want.model
    assert spec.model_args == want.model_args
    assert spec.tasks == want.tasks
    assert spec.options == want.options
    assert spec.launcher == []


@pytest.mark.parametrize("name", list(FLAG_EXAMPLES))
def test_guide_flag_examples(name: str) -> None:
    text, want = FLAG_EXAMPLES[name]
    spec = parse(text)
    for field, value in want.items():
        if field == "options":
            assert {k: spec.options.get(k) for k in value} == value
        else:
            assert getattr(spec, field) == value


@pytest.mark.parametrize("text", list(FULL.values()) + [t for t, _ in FLAG_EXAMPLES.values()])
def test_round_trip(text: str) -> None:
    spec = parse(text)
    again = parse(spec.to_command(reveal_secrets=True))
    assert again == spec
    assert parse(again.to_command(reveal_secrets=True)) == spec


@pytest.mark.parametrize("program", ["lm_eval", "lm-eval", "lm-eval run", "lm_eval run", "python -m lm_eval",
                                     "python3 -m lm_eval", "/opt/venv/bin/lm_eval", ""])
def test_program_forms(program: str) -> None:
    spec = parse(f"{program} --model hf --tasks a,b")
    assert (spec.model, spec.tasks, spec.launcher) == ("hf", ["a", "b"], [])


def test_accelerate_launch_keeps_its_flags() -> None:
    spec = parse("accelerate launch --multi_gpu --num_processes 2 -m lm_eval --model hf --tasks a")
    assert spec.launcher == ["accelerate", "launch", "--multi_gpu", "--num_processes", "2"]
    assert not spec.in_process
    assert parse(spec.to_command()) == spec


def test_last_flag_wins_and_both_value_forms() -> None:
    spec = parse("lm_eval --model hf --num_fewshot=1 --num_fewshot 3 --model vllm --tasks a")
    assert spec.model == "vllm"
    assert spec.options["num_fewshot"] == 3


@pytest.mark.parametrize("value,want", [("1234", [1234] * 4), ("1,None,123,0", [1, None, 123, 0]),
                                        ("1,2,3", [1, 2, 3, 1234])])
def test_seed_forms(value: str, want: list) -> None:
    assert parse(f"lm_eval --seed {value} --tasks a").options["seed"] == want


def test_seed_with_two_values_is_rejected_as_lm_eval_does() -> None:
    with pytest.raises(ParseError, match="seed"):
        parse("lm_eval --seed 1,2 --tasks a")


@pytest.mark.parametrize("value", ["auto", "auto:4", "8"])
def test_batch_size_forms(value: str) -> None:
    assert parse(f"lm_eval --batch_size {value} --tasks a").options["batch_size"] == value


@pytest.mark.parametrize("value", ["true", "refresh", "delete"])
def test_cache_requests(value: str) -> None:
    spec = parse(f"lm_eval --cache_requests {value} --tasks a")
    assert spec.options["cache_requests"] == value
    assert parse(spec.to_command()) == spec


def test_cache_requests_rejects_other_values() -> None:
    with pytest.raises(ParseError):
        parse("lm_eval --cache_requests maybe --tasks a")


def test_bare_chat_template_and_named_template() -> None:
    assert parse("lm_eval --apply_chat_template --tasks a").options["apply_chat_template"] is True
    spec = parse("lm_eval --apply_chat_template chatml --tasks a")
    assert spec.options["apply_chat_template"] == "chatml"
    assert parse(spec.to_command()) == spec


def test_model_args_quotes_brackets_and_types() -> None:
    spec = parse("""lm_eval --model_args "pretrained=x,max_length=2048,dtype=float16,parallelize=False,t=0.5" --tasks a""")
    assert spec.model_args == {"pretrained": "x", "max_length": 2048, "dtype": "float16", "parallelize": False, "t": 0.5}
    assert parse(spec.to_command()) == spec


def test_model_args_json() -> None:
    spec = parse("""lm_eval --model_args '{"pretrained": "x", "max_length": 7}' --tasks a""")
    assert spec.model_args == {"pretrained": "x", "max_length": 7}


def test_gen_kwargs_with_brackets_round_trip() -> None:
    info = option_info("gen_kwargs")
    assert info is not None and info.kind == "mapping"
    spec = parse("""lm_eval --gen_kwargs 'max_gen_toks=32,temperature=0' --tasks a""")
    assert spec.options["gen_kwargs"] == {"max_gen_toks": 32, "temperature": 0}
    assert parse(spec.to_command()) == spec


def test_env_expansion_namespace_then_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MERA_TEST_DIR", "/from/env")
    spec = parse('A=$MERA_TEST_DIR B="${NB_VAR}/x" C=\'$NB_VAR\' lm_eval --output_path $NB_VAR --tasks a',
                 namespace={"NB_VAR": "/from/notebook"})
    assert spec.env == {"A": "/from/env", "B": "/from/notebook/x", "C": "$NB_VAR"}
    assert spec.options["output_path"] == "/from/notebook"


def test_undefined_variable_is_noted() -> None:
    parsed = parse_command("X=$MERA_SURELY_UNDEFINED lm_eval --tasks a")
    assert parsed.spec.env["X"] == ""
    assert parsed.undefined == ["MERA_SURELY_UNDEFINED"]


def test_comments_blank_lines_and_export() -> None:
    text = """# evaluate the demo
export HF_HOME=/tmp/hf

TOKENIZERS_PARALLELISM=false lm_eval \\
  --model hf \\
  --tasks a  # trailing comment
"""
    spec = parse(text)
    assert spec.env == {"HF_HOME": "/tmp/hf", "TOKENIZERS_PARALLELISM": "false"}
    assert spec.tasks == ["a"]


def test_secrets_are_written_as_references() -> None:
    spec = parse("HF_TOKEN=hf_realtokenvalue123 lm_eval --model local-completions --model_args auth_token=abcdef123 --tasks a")
    text = spec.to_command()
    assert "hf_realtokenvalue123" not in text and "abcdef123" not in text
    assert "HF_TOKEN=$HF_TOKEN" in text
    assert spec.masked().env["HF_TOKEN"] == "********"
    assert parse(spec.to_command(reveal_secrets=True)) == spec


@pytest.mark.parametrize("text,fragment", [
    ("lm_eval --modle hf --tasks a", "--model"),
    ("lm_eval --num_fewshot x --tasks a", "num_fewshot"),
    ("lm_eval --tasks a | tee log", "pipe"),
    ("lm_eval --tasks a; ls", "separator"),
    ("lm_eval --tasks 'a", "quote"),
    ("<ПЕРЕМЕННЫЕ ОКРУЖЕНИЯ> lm_eval --tasks a", "placeholder"),
    ("bash run.sh", "not lm_eval"),
    ("lm_eval --tasks a\nlm_eval --tasks b", "more than one"),
    ("lm_eval positional --tasks a", "positional"),
    ("", "no"),
])
def test_bad_input_gets_one_clear_message(text: str, fragment: str) -> None:
    with pytest.raises(ParseError) as info:
        parse(text)
    assert fragment.lower() in str(info.value).lower()


def test_unknown_flag_suggests_the_closest() -> None:
    with pytest.raises(ParseError, match="Did you mean `--num_fewshot`"):
        parse("lm_eval --num_fewshots 2 --tasks a")


def test_every_installed_flag_round_trips() -> None:
    """Each option of the installed lm_eval, given with a typical value, parses and round-trips."""
    samples = {"switch": None, "optional": None, "mapping": "a=1,b=x", "list": "a,b"}
    typed = {"int": "3", "float": "0.5", "str": "value"}
    for info in lm_eval_options():
        if info.dest in ("model", "tasks", "config", "samples", "seed", "cache_requests", "check_integrity"):
            continue
        value = samples.get(info.kind, typed.get(info.type_name, "value"))
        words = [info.flag] if value is None else [info.flag, value]
        text = " ".join(words) + " --tasks a"
        spec = parse("lm_eval " + text)
        assert info.dest in spec.options or info.dest == "model_args", info.dest
        assert parse(spec.to_command(reveal_secrets=True)) == spec, info.dest


# -- property-based: random and mutated text raises nothing but the project's own error ------------------------
_PIECES = list("lm_eval -=,'\"\\$#{}[]():;|&<>\n\tabcdefgtx0123456789.") + [
    "--model ", "--tasks ", "--model_args ", "--seed ", "--limit ", "--apply_chat_template ", "lm_eval "]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_PIECES), max_size=40))
def test_random_text_raises_only_mera_errors(pieces: list[str]) -> None:
    try:
        parse("".join(pieces))
    except MeraError:
        pass


_MUTATIONS = list("\"'\\$#=,{}[]-: \n|;<>")


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(list(FULL.values())), st.integers(min_value=0, max_value=10_000), st.integers(min_value=1, max_value=4))
def test_mutated_guide_commands_raise_only_mera_errors(text: str, seed: int, edits: int) -> None:
    rng = random.Random(seed)
    chars = list(text)
    for _ in range(edits):
        pos = rng.randrange(len(chars))
        action = rng.choice(("delete", "insert", "replace"))
        if action == "delete":
            del chars[pos]
        elif action == "insert":
            chars.insert(pos, rng.choice(_MUTATIONS))
        else:
            chars[pos] = rng.choice(_MUTATIONS)
    try:
        spec = parse("".join(chars))
    except MeraError:
        return
    assert parse(spec.to_command(reveal_secrets=True)) == spec


def test_repeated_single_value_flags_last_one_wins_and_earlier_bad_values_still_fail() -> None:
    """lm_eval's parser is quadratic in repeated flags: the earlier occurrences of a one-value option are dropped
    before it sees them (the last one wins anyway), but a value its type rejects is still refused."""
    base = "lm_eval --model hf --model_args pretrained=x "
    spec = parse(base + "--limit 1 " * 20_000 + "--limit=3 --num_fewshot 2 --num_fewshot 5 --tasks b")
    assert spec.options["limit"] == 3.0 and spec.options["num_fewshot"] == 5
    assert spec == parse(base + "--limit 3 --num_fewshot 5 --tasks b")
    with pytest.raises(ParseError, match="num_fewshot"):
        parse(base + "--num_fewshot two --num_fewshot 5 --tasks a")
