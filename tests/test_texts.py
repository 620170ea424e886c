"""mera_magic.texts: every flag, model arg and variable the panel shows is explained in Russian and English."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from mera_magic import texts as T
from mera_magic.lmeval.backends import backend_names, get_backend
from mera_magic.lmeval.parser import lm_eval_options
from mera_magic.session import SESSION

#: the backends the MERA guide describes (and the demo's), whose every model arg must have our own text
GUIDE_BACKENDS = ("hf", "hf-multimodal", "vllm", "vllm-vlm", "local-completions", "local-chat-completions",
                  "openai-completions", "openai-chat-completions", "dummy")
CYRILLIC = re.compile("[а-яА-ЯёЁ]")


@pytest.fixture(autouse=True)
def fresh_session() -> Iterator[None]:
    SESSION.reset()
    yield
    SESSION.reset()


def test_every_option_of_the_installed_lm_eval_has_both_texts() -> None:
    keys = [f"options.{o.dest}" for o in lm_eval_options()]
    assert T.missing(keys) == []


@pytest.mark.parametrize("backend", [b for b in GUIDE_BACKENDS if b in backend_names()])
def test_every_model_arg_of_the_guide_backends_has_both_texts(backend: str) -> None:
    info = get_backend(backend)
    assert info is not None
    keys = [T.model_arg_key(backend, a.name, info.arg_names) for a in info.args]
    assert [a.name for a, k in zip(info.args, keys) if k is None] == []
    assert T.missing([k for k in keys if k]) == []


def test_every_environment_variable_and_ordered_model_arg_has_a_text() -> None:
    assert T.missing([f"env.{name}" for name in T.ENV_VARS]) == []
    ordered = {f"model_args.{k}" for keys in T.MODEL_ARG_ORDER.values() for k in keys}
    assert T.missing(sorted(ordered | {f"model_args.{k}" for k in T.FORWARDED_KEYS})) == []
    assert T.missing([f"options.{d}" for d in T.MAIN_OPTIONS]) == []


def test_russian_texts_are_russian_and_differ_from_english() -> None:
    for key, by_language in T.TEXTS.items():
        assert CYRILLIC.search(by_language["ru"]), key
        assert by_language["ru"] != by_language["en"], key
        assert not CYRILLIC.search(by_language["en"]) or key == "ui.language", key


def test_text_follows_the_session_language() -> None:
    SESSION.config.language = "en"
    assert T.text("ui.run") == "Run"
    SESSION.config.language = "ru"
    assert T.text("ui.run") == "Запустить"
    assert T.text("ui.run", "en") == "Run"
    assert T.text("ui.tasks.count", "en", n=3) == "Tasks found: 3"


def test_text_rejects_unknown_keys_and_languages() -> None:
    with pytest.raises(KeyError):
        T.text("options.no_such_flag", "en")
    with pytest.raises(ValueError, match="language"):
        T.text("ui.run", "de")


def test_guide_facts_are_in_the_texts() -> None:
    # the MERA guide's recommendations the texts must carry
    assert "false" in T.text("env.TOKENIZERS_PARALLELISM", "ru")
    assert "CUDA_VISIBLE_DEVICES" in T.text("options.device", "ru")
    assert "apply_chat_template" in T.text("options.fewshot_as_multiturn", "en")
    assert "$HF_TOKEN" in T.text("env.HF_TOKEN", "en")
    for word in ("causal", "seq2seq"):
        assert word in T.text("model_args.backend", "ru")
        assert word in T.CHOICES["model_args.backend"]
    for word in ("tiktoken", "huggingface", "None"):
        assert word in T.CHOICES["model_args.tokenizer_backend"]


def test_model_arg_texts_prefer_the_backend_family() -> None:
    hf = get_backend("hf")
    api = get_backend("local-completions")
    assert hf is not None and api is not None
    assert T.family("hf", hf.arg_names) == "hf"
    assert T.family("local-completions", api.arg_names) == "api"
    assert T.model_arg_key("local-completions", "tokenizer", api.arg_names) == "model_args.api.tokenizer"
    assert T.model_arg_key("hf", "tokenizer", hf.arg_names) == "model_args.tokenizer"
    assert T.model_arg_help("hf", "no_such_arg", "en", fallback="fallback") == "fallback"


def test_choices_keep_extra_values_once() -> None:
    assert T.choices("model_args.dtype", ["auto", "float64"]) == ("auto", "bfloat16", "float16", "float32", "float64")
    assert T.choices("model_args.unknown") == ()


def test_as_table_lists_one_language() -> None:
    table = T.as_table("en", "env.")
    assert set(table) >= {f"env.{name}" for name in T.ENV_VARS}
    assert all(not CYRILLIC.search(v) for v in table.values())


@pytest.mark.parametrize("counts, ru, en", [
    ({"error": 1, "warning": 1, "info": 1}, "1 ошибка, 1 предупреждение, 1 заметка", "1 error, 1 warning, 1 note"),
    ({"error": 2, "warning": 5, "info": 0}, "2 ошибки, 5 предупреждений", "2 errors, 5 warnings"),
    ({"warning": 21, "info": 12}, "21 предупреждение, 12 заметок", "21 warnings, 12 notes"),
    ({"error": 0}, "", ""),
])
def test_counts_are_said_in_their_plural_form(counts: dict[str, int], ru: str, en: str) -> None:
    assert T.count_words(counts, "ru") == ru
    assert T.count_words(counts, "en") == en


def test_required_model_args_name_parameters_of_their_backends() -> None:
    for backend, keys in T.REQUIRED_MODEL_ARGS.items():
        info = get_backend(backend)
        if info is not None:
            assert set(keys) <= set(info.arg_names), backend
