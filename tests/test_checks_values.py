"""checks_values: typed-value errors for options and model_args, through ``mera_magic.check`` as a cell would.

The types come from the installed lm_eval (its parser, its backend constructors) and the installed torch, so
these tests run against whatever version is installed (0.4.4 and 0.4.13 alike).
"""

from __future__ import annotations

import pytest

import mera_magic
from mera_magic import RunSpec, parse
from mera_magic.checks_values import annotation_types, model_arg_problem, torch_dtype_names
from mera_magic.lmeval.backends import get_backend

#: these tests compare English texts (the session's default language is Russian)
pytestmark = pytest.mark.usefixtures("english")

BASE = "lm_eval --model hf --model_args pretrained=/tmp --tasks parus"


def value_errors(spec_or_text: RunSpec | str) -> dict[str, str]:
    spec = parse(spec_or_text) if isinstance(spec_or_text, str) else spec_or_text
    return {f.where: f.message for f in mera_magic.check(spec, tasks=False)
            if f.level == "error" and f.code == "invalid-value"}


@pytest.mark.parametrize("text, where, words", [
    (f"{BASE} --batch_size abc", "options.batch_size", ["`--batch_size abc`", "whole number", "auto"]),
    (f"{BASE} --batch_size 0", "options.batch_size", ["positive"]),
    (f"{BASE} --batch_size auto:x", "options.batch_size", ["auto:N"]),
    ("lm_eval --model hf --model_args pretrained=/tmp,max_length=1e3 --tasks parus", "model_args.max_length",
     ["1000.0", "write `max_length=1000`"]),
    ("lm_eval --model hf --model_args pretrained=/tmp,dtype=bf16 --tasks parus", "model_args.dtype",
     ["`dtype=bf16`", "bfloat16"]),
    ("lm_eval --model hf --model_args pretrained=/tmp,batch_size=abc --tasks parus", "model_args.batch_size",
     ["`batch_size=abc`"]),
    ("lm_eval --model hf --model_args pretrained=/tmp,max_length=long --tasks parus", "model_args.max_length",
     ["is text", "whole number"]),
    ("lm_eval --model hf --model_args pretrained=/tmp,parallelize=maybe --tasks parus", "model_args.parallelize",
     ["true or false"]),
    ("lm_eval --model hf --model_args pretrained=/tmp,backend=decoder --tasks parus", "model_args.backend",
     ["causal"]),
])
def test_text_commands_get_one_error_naming_the_value(text: str, where: str, words: list[str]) -> None:
    errors = value_errors(text)
    assert list(errors) == [where]
    for word in words:
        assert word in errors[where]


@pytest.mark.parametrize("text", [
    f"{BASE} --batch_size 8",
    f"{BASE} --batch_size auto",
    f"{BASE} --batch_size auto:4 --num_fewshot 5 --limit 0.5 --seed 1,2,3,4",
    "lm_eval --model hf --model_args pretrained=/tmp,dtype=bfloat16,max_length=15000,parallelize=true,"
    "batch_size=auto,trust_remote_code=True,device_map=auto,backend=causal --tasks parus",
    "lm_eval --model hf --model_args pretrained=/tmp,dtype=auto --tasks parus",
    "lm_eval --model local-completions --model_args model=m,base_url=http://x/v1/completions,num_concurrent=4,"
    "max_retries=3,tokenized_requests=false --tasks parus",
])
def test_valid_values_give_no_value_error(text: str) -> None:
    assert value_errors(text) == {}


def test_a_spec_with_raw_texts_for_typed_options_is_an_error_per_option() -> None:
    # what the panel holds when a field's text cannot be converted: the raw text, reported by the same check
    spec = RunSpec(model_args={"pretrained": "/tmp"}, tasks=["parus"],
                   options={"num_fewshot": "two", "limit": "some", "max_batch_size": "8"})
    errors = value_errors(spec)
    assert set(errors) == {"options.num_fewshot", "options.limit"}
    assert "`--num_fewshot two`" in errors["options.num_fewshot"]
    assert "number" in errors["options.limit"]


def test_check_on_command_text_reports_the_same_errors_as_on_its_spec() -> None:
    text = "lm_eval --model hf --model_args pretrained=/tmp,dtype=bf16 --tasks parus --batch_size abc"
    from_text = {f.where for f in mera_magic.check(text, tasks=False) if f.code == "invalid-value"}
    assert from_text == set(value_errors(text)) == {"options.batch_size", "model_args.dtype"}


def test_annotation_types_reads_unions_and_literals() -> None:
    assert annotation_types("int | str | None") == ({"int", "str", "None"}, [])
    assert annotation_types("Optional[Union[str, torch.dtype]]") == ({"str", "torch.dtype"}, [])
    assert annotation_types("Literal['default', 'causal']") == (set(), ["default", "causal"])
    assert annotation_types(None) == (set(), [])


def test_torch_dtype_names_come_from_the_installed_torch() -> None:
    names = torch_dtype_names()
    assert {"float16", "bfloat16", "float32", "half"} <= names
    assert "bf16" not in names


def test_model_arg_types_come_from_the_backend_constructor() -> None:
    hf = get_backend("hf")
    assert hf is not None
    max_length = hf.arg("max_length")
    assert max_length is not None and "int" in (max_length.annotation or "")
    assert model_arg_problem(max_length, 2048) is None
    assert model_arg_problem(max_length, "abc") is not None


@pytest.mark.parametrize("text, missing", [
    ("lm_eval --model local-completions --tasks parus", {"model_args.model", "model_args.base_url"}),
    ("lm_eval --model local-completions --model_args model=m --tasks parus", {"model_args.base_url"}),
    ("lm_eval --model gguf --tasks parus", {"model_args.base_url"}),
    ("lm_eval --model hf --tasks parus", {"model_args.pretrained"}),
    ("lm_eval --model local-completions --model_args model=m,base_url=http://localhost:8000/v1/completions "
     "--tasks parus", set()),
])
def test_required_model_args_are_errors_when_missing(text: str, missing: set[str]) -> None:
    found = {f.where for f in mera_magic.check(text, tasks=False) if f.code == "missing-model-arg"}
    assert found == missing
