"""mera_magic.texts: every flag, model arg and variable the panel shows is explained in Russian and English, and
every finding of the checks is worded in both."""

from __future__ import annotations

import ast
import re
import string
from collections.abc import Iterator
from pathlib import Path

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


# -- the findings' texts ----------------------------------------------------------------------------------------------
#: modules whose findings are all worded from the texts table (no message written in the code)
FINDING_MODULES = ("checks.py", "checks_values.py", "checks_multimodal.py", "probe.py", "widgets/_panel.py",
                   "runner/__init__.py", "lmeval/compat.py")
SRC = Path(T.__file__).parent


def _fields(template: str) -> set[str]:
    """The ``{fields}`` a text fills (braces around other words, as in a JSON example of a help text, are no field)."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name and name.isidentifier()}


def test_every_text_has_the_same_fields_in_both_languages() -> None:
    for key, by_language in T.TEXTS.items():
        assert _fields(by_language["ru"]) == _fields(by_language["en"]), key


def _calls(tree: ast.AST, name: str) -> Iterator[ast.Call]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            called = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if called == name:
                yield node


def _literal(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _choices(node: ast.expr) -> list[str | None]:
    """The literal strings an argument can be: one, or both branches of ``a if cond else b``."""
    if isinstance(node, ast.IfExp):
        return _choices(node.body) + _choices(node.orelse)
    return [_literal(node)]


@pytest.mark.parametrize("module", FINDING_MODULES)
def test_every_finding_of_the_checks_has_both_texts_with_the_fields_it_fills(module: str) -> None:
    """Read from the source: each ``finding(level, code, where, text_code=..., **fields)`` names a text that exists in
    Russian and English and whose ``{fields}`` are exactly the ones the call fills; so do the ``text(...)`` calls
    with a literal key and compat's ``_said(name, **fields)`` (``finding.compat.<name>``); every ``finding.*`` key
    the module names exists; no ``Finding(...)`` gets a message written in the code (a literal or an f-string)."""
    tree = ast.parse((SRC / module).read_text(encoding="utf-8"))
    made = list(_calls(tree, "finding"))
    assert made or module in ("runner/__init__.py", "lmeval/compat.py")
    for call in made:
        code = _literal(call.args[1]) if len(call.args) > 1 else None
        keywords = {k.arg: k.value for k in call.keywords}
        assert code is not None and None not in keywords, f"{module}:{call.lineno}: code and fields must be literal"
        text_code = keywords.pop("text_code", None)
        for chosen in _choices(text_code) if text_code is not None else [code]:
            assert chosen is not None, f"{module}:{call.lineno}: text_code must be literal"
            key = f"finding.{chosen}"
            assert key in T.TEXTS, f"{module}:{call.lineno}: no text {key}"
            for language in T.LANGUAGES:
                assert _fields(T.TEXTS[key][language]) == set(keywords), f"{module}:{call.lineno}: {key} ({language})"
    for call in _calls(tree, "text"):
        key = _literal(call.args[0]) if call.args else None
        if key is None:
            continue  # a key chosen from a table: the table's keys are checked below
        filled = {k.arg for k in call.keywords}
        assert key in T.TEXTS and None not in filled, f"{module}:{call.lineno}: {key}"
        for language in T.LANGUAGES:
            assert _fields(T.TEXTS[key][language]) == filled, f"{module}:{call.lineno}: {key} ({language})"
    for call in _calls(tree, "_said"):
        filled = {k.arg for k in call.keywords}
        for name in _choices(call.args[0]):
            key = f"finding.compat.{name}"
            assert name is not None and key in T.TEXTS and None not in filled, f"{module}:{call.lineno}: {key}"
            for language in T.LANGUAGES:
                assert _fields(T.TEXTS[key][language]) == filled, f"{module}:{call.lineno}: {key} ({language})"
    named = {n.value for n in ast.walk(tree)  # every key the module names (a prefix like "finding.compat." is none)
             if _literal(n) and n.value.startswith("finding.") and not n.value.endswith(".")}  # type: ignore[attr-defined]
    assert named <= set(T.TEXTS), sorted(named - set(T.TEXTS))
    for call in _calls(tree, "Finding"):  # a hand-built Finding takes its message from a text, never from the code
        message = call.args[2] if len(call.args) > 2 else next(k.value for k in call.keywords if k.arg == "message")
        assert not isinstance(message, (ast.Constant, ast.JoinedStr)), f"{module}:{call.lineno}"


def test_the_checks_speak_russian_naming_the_flag_or_value(demo_model: Path, demo_tasks: Path) -> None:
    """Real bad commands through mera_magic.check with the language set to Russian: every finding is Russian and
    names what it is about; the language set before is restored."""
    from mera_magic import check
    from mera_magic.spec import RunSpec

    before = SESSION.config.language
    SESSION.config.language = "ru"
    try:
        text = (f"lm_eval --model hf --model_args pretrained={demo_model},dtype=float32,max_length=abc "
                f"--fewshot_as_multiturn --log_samples --include_path {demo_tasks} --tasks parsu")
        cases = [(check(text), {"multiturn-without-chat-template": "`--fewshot_as_multiturn`",
                                "no-output-path": "`--log_samples`", "unknown-task": "`parsu`",
                                "invalid-value": "`max_length=abc`"}),
                 (check("TOKENIZERS_PARALLELISM=maybe lm_eval --model hff --model_args pretrained=x --tasks parus",
                        tasks=False),
                  {"unknown-backend": "`--model hff`", "tokenizers-parallelism": "TOKENIZERS_PARALLELISM=maybe"}),
                 (check(RunSpec(model="hf", model_args={"pretrained": str(demo_model)}, tasks=["parus"],
                                options={"num_fewshot": "two", "include_path": str(demo_tasks)}), tasks=False),
                  {"invalid-value": "`--num_fewshot two`"}),
                 (check("LOAD_BYTES=1 LOAD_FILES=1 lm_eval --model hf-multimodal --model_args pretrained=x "
                        "--tasks a --batch_size 1", tasks=False), {"media-env": "`LOAD_BYTES=1` и `LOAD_FILES=1`"}),
                 (check(f"accelerate launch --cpu --num_processes 2 -m lm_eval --model hf --model_args "
                        f"pretrained={demo_model} --include_path {demo_tasks} --tasks parus", tasks=False),
                  {"accelerate-cpu-one-process": "--num_processes 2"})]
        for findings, expected in cases:
            by_code = {f.code: f.message for f in findings}
            for code, named in expected.items():
                assert code in by_code, (code, by_code)
                assert named in by_code[code] and CYRILLIC.search(by_code[code]), by_code[code]
            assert all(CYRILLIC.search(f.message) for f in findings), [f.message for f in findings]
        unknown = next(m for f in cases[0][0] if f.code == "unknown-task" for m in [f.message])
        assert "Возможно, имелось в виду `parus`?" in unknown  # the did-you-mean speaks Russian too
    finally:
        SESSION.config.language = before
    assert SESSION.config.language == before


def test_the_dry_run_frame_follows_the_session_language() -> None:
    from mera_magic import dry_run

    command = "lm_eval --model hf --model_args pretrained=x --fewshot_as_multiturn --tasks parus"
    before = SESSION.config.language
    try:
        SESSION.config.language = "ru"
        shown = dry_run(command)
        said, page = str(shown), shown._repr_html_()
        assert "ОШИБКА" in said and "Пробный запуск" in page and "запуск невозможен" in page
        assert not re.search(r"\b(ERROR|no problems found|Dry run|would NOT run)\b", said + page)
        SESSION.config.language = "en"
        assert "ERROR" in str(dry_run(command)) and "would NOT run" in dry_run(command)._repr_html_()
    finally:
        SESSION.config.language = before
