"""mera_magic.widgets: the panel and the command text are two views of one RunSpec.

Real ipywidgets objects driven the way the front end drives them (setting a widget's ``value`` is what a
browser edit sends to the kernel); the real check, parser and lm_eval backends; a real kernel (nbclient) for
the saved-notebook test.  The browser itself is in tests/integration/test_browser.py.
"""

from __future__ import annotations

import html
import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ipywidgets as W
import pytest

import mera_magic.checks as checks_module
import mera_magic.checks_values as checks_values_module
from mera_magic import check, parse
from mera_magic.command.shell import quote
from mera_magic.lmeval.backends import BackendArg, backend_names, get_backend
from mera_magic.lmeval.install import version_tuple
from mera_magic.lmeval.parser import option_info
from mera_magic.session import SESSION
from mera_magic.spec import MASK, RunSpec, is_secret_name
from mera_magic.widgets import Gpu, Panel, panel
from mera_magic.widgets._fields import ChoiceField, ComboField, SecretField, TextField
from mera_magic.widgets._frontend import cell_source, insert_cell_script
from mera_magic.widgets._gpus import parse_nvidia_smi
from mera_magic.widgets._model import arg_kind, literal_choices, option_twins, ordered_backends

NO_GPUS: list[Gpu] = []
TOKEN = "hf_panelSecretValue42"


@pytest.fixture(autouse=True, scope="module")
def model_x_in_the_hub_cache() -> None:
    """These tests name a hub model `x` (`pretrained=x`): put it in the hub cache the runs read, as a user who had
    downloaded it would have it, so the pre-flight model check has nothing to say about it."""
    from mera_magic.preflight.hub import hub_cache

    folder = hub_cache(os.environ) / "models--x"
    (folder / "refs").mkdir(parents=True, exist_ok=True)
    (folder / "refs" / "main").write_text("0" * 40, encoding="utf-8")
    snapshot = folder / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True, exist_ok=True)
    (snapshot / "config.json").write_text('{"model_type": "llama"}', encoding="utf-8")
    (snapshot / "model.safetensors").write_bytes(b"")


@pytest.fixture(autouse=True)
def fresh_session() -> Iterator[None]:
    SESSION.reset()
    yield
    SESSION.reset()


def make(spec_or_text: RunSpec | str | None = None, **kwargs: Any) -> Panel:
    """A panel without GPU probing (this machine has none; the GPU row is tested with given GPUs)."""
    if isinstance(spec_or_text, str):
        spec_or_text = parse(spec_or_text, secrets=SESSION.secrets)
    kwargs.setdefault("auto_index", False)  # the background indexing of lm_eval's tasks has its own test
    return Panel(spec_or_text, gpus=NO_GPUS, **kwargs)


def all_widgets(widget: W.Widget) -> Iterator[W.Widget]:
    yield widget
    for child in getattr(widget, "children", ()):
        yield from all_widgets(child)


# -- round trip, every backend ---------------------------------------------------------------------------------
def sample_text(arg: BackendArg) -> str:
    """A value for a model arg that differs from its default, as it would be written in --model_args."""
    choices = literal_choices(arg.annotation)
    kind = arg_kind(arg, choices)
    annotation = arg.annotation or ""
    if kind in ("bool", "boolish"):
        return "False" if arg.default is True else "True"
    if choices:
        return choices[-1]
    if "int" in annotation or isinstance(arg.default, int):
        return "7"
    if "float" in annotation or isinstance(arg.default, float):
        return "0.5"
    if "dict" in annotation:
        return '{"k": 1}'
    return "some/value"


def full_command(backend: str) -> str:
    """A command that sets every model arg of ``backend``, an unknown key, most options, env and secrets."""
    info = get_backend(backend)
    assert info is not None
    args = [f"{a.name}={sample_text(a)}" for a in info.args if '"' not in sample_text(a)]
    args.append("zz_unknown_key=3")
    env = ("CUDA_VISIBLE_DEVICES=0,1 HF_HOME=/tmp/hf TOKENIZERS_PARALLELISM=false "
           f"HF_DATASETS_IN_MEMORY_MAX_SIZE=23400000 HF_TOKEN={TOKEN} PYTHONPATH=/src OTHER_VAR=")
    flags = ("--num_fewshot 3 --batch_size auto:4 --max_batch_size 16 --limit 0.5 --apply_chat_template "
             "--system_instruction 'Ты полезный ассистент' --gen_kwargs do_sample=true,temperature=0.6 "
             "--output_path '/tmp/out dir' --log_samples --predict_only --use_cache lm_cache/x "
             "--cache_requests refresh --seed 1,None,123,0 --verbosity ERROR --trust_remote_code --device cuda")
    if version_tuple() >= (0, 4, 5):
        flags += " --fewshot_as_multiturn"
    return f"{env} lm_eval --model {backend} --model_args {quote(','.join(args))} {flags} --tasks a,b"


def masked_args(spec: RunSpec) -> dict[str, Any]:
    return {k: (MASK if is_secret_name(k) and v else v) for k, v in spec.model_args.items()}


@pytest.mark.parametrize("backend", backend_names())
def test_round_trip_panel_and_spec_for_every_backend(backend: str) -> None:
    spec = parse(full_command(backend))
    p = make(spec)
    # the fields alone hold the spec, and so does the command text the panel shows
    assert p.read_fields() == spec
    assert p.spec == spec
    assert p.command == spec.to_command()
    assert p.command_box.value == p.command
    again = parse(p.command, secrets=SESSION.secrets)
    assert masked_args(again) == masked_args(spec)
    assert (again.env, again.options, again.tasks) == (spec.env, spec.options, spec.tasks)
    assert TOKEN not in p.command
    # every parameter of the backend has its own field; the unknown key is under "Other model_args"
    info = get_backend(backend)
    assert info is not None
    # (those lm_eval fills from its own flags, --batch_size and --device, are edited in Options instead)
    assert set(info.arg_names) - option_twins(info) <= set(p.model.arg_fields)
    assert not option_twins(info) & set(p.model.arg_fields)
    assert "zz_unknown_key=3" in (p.model.other.get() or "")


@pytest.mark.parametrize("backend", backend_names())
def test_empty_panel_round_trips_for_every_backend(backend: str) -> None:
    spec = RunSpec(model=backend, tasks=["a"])
    p = make(spec)
    assert p.read_fields() == spec
    assert p.command == spec.to_command()


def test_backends_are_listed_mera_ones_first() -> None:
    names = ordered_backends()
    assert names[:2] == ["hf", "vllm"]
    assert set(names) == set(backend_names())
    assert ordered_backends("not-registered")[0] == "not-registered"


# -- editing fields updates the command, editing the command updates the fields ---------------------------------------
def test_editing_fields_updates_the_preview() -> None:
    p = make("lm_eval --model hf --model_args pretrained=x --tasks a")
    p.model.arg_fields["dtype"].widget.value = "bfloat16"
    p.model.arg_fields["max_length"].widget.value = "15000"
    p.model.arg_fields["parallelize"].widget.value = "True"
    p.options.fields["options.num_fewshot"].widget.value = "5"
    p.options.fields["options.batch_size"].widget.value = "auto"
    p.options.fields["options.log_samples"].widget.value = True
    p.options.fields["options.output_path"].widget.value = "/tmp/res"
    p.tasks.tasks.widget.value = "rummlu,parus"
    p.env.fields["env.TOKENIZERS_PARALLELISM"].widget.value = "false"
    expected = parse("TOKENIZERS_PARALLELISM=false lm_eval --model hf "
                     "--model_args pretrained=x,dtype=bfloat16,max_length=15000,parallelize=True "
                     "--num_fewshot 5 --batch_size auto --log_samples --output_path /tmp/res --tasks rummlu,parus")
    assert p.spec == expected
    assert p.read_fields() == expected
    assert p.command_box.value == expected.to_command() == p.command
    assert p.spec.model_args["max_length"] == 15000  # typed as lm_eval types it


def test_clearing_a_field_removes_the_flag() -> None:
    p = make("lm_eval --model hf --model_args pretrained=x,dtype=float16 --num_fewshot 2 --tasks a")
    p.model.arg_fields["dtype"].widget.value = ""
    p.options.fields["options.num_fewshot"].widget.value = ""
    assert p.command == "lm_eval --model hf --model_args pretrained=x --tasks a"


def test_an_invalid_value_is_an_error_in_the_command_and_blocks_run(capsys: pytest.CaptureFixture[str]) -> None:
    p = make("lm_eval --model hf --model_args pretrained=x --num_fewshot 2 --tasks a", language="en")
    field = p.options.fields["options.num_fewshot"]
    field.widget.value = "two"
    # the command shows what the field shows, never the previous value, and the same check as the text reports it
    assert "--num_fewshot two" in p.command and "--num_fewshot 2" not in p.command
    errors = [f for f in p.findings if f.level == "error"]
    assert [f.where for f in errors] == ["options.num_fewshot"]
    assert "mera-error" in field.note.value and "two" in field.note.value
    assert p.summary == "Check: 1 error, 1 note"
    assert p.run() is None
    assert "fix the errors" in capsys.readouterr().out
    field.widget.value = "3"
    assert "mera-error" not in field.note.value
    assert p.spec.options["num_fewshot"] == 3 and not any(f.level == "error" for f in p.findings)


@pytest.mark.usefixtures("english")  # the panel's findings and check()'s are in the same language
def test_batch_size_abc_is_an_error_through_the_same_check_as_the_text() -> None:
    p = make("lm_eval --model hf --model_args pretrained=x --tasks a", language="en")
    p.options.fields["options.batch_size"].widget.value = "abc"
    assert "--batch_size abc" in p.command
    from_panel = [(f.where, f.message) for f in p.findings if f.level == "error"]
    from_text = [(f.where, f.message) for f in check(p.command, tasks=False) if f.level == "error"]
    assert from_panel == from_text == [("options.batch_size", from_text[0][1])]
    assert p._tabs.get_title(2).endswith("✖")  # the Options tab carries the mark
    assert not p._tabs.get_title(0).endswith("✖")


def test_a_model_arg_of_the_wrong_type_is_an_error_at_its_field() -> None:
    p = make("lm_eval --model hf --model_args pretrained=x --tasks a", language="en")
    p.model.arg_fields["max_length"].widget.value = "1e3"
    errors = [f for f in p.findings if f.level == "error"]
    assert [f.where for f in errors] == ["model_args.max_length"]
    assert "max_length=1000" in errors[0].message
    assert "mera-error" in p.model.arg_fields["max_length"].note.value
    assert p._tabs.get_title(0).endswith("✖")


def test_an_unparsable_launcher_is_an_error_that_blocks_run() -> None:
    p = make("lm_eval --model hf --model_args pretrained=x --tasks a", language="en")
    p.options.launcher.widget.value = "accelerate launch 'unclosed"
    assert any(f.level == "error" and f.where == "launcher" for f in p.findings)
    assert p.run() is None


def test_switching_the_backend_keeps_what_the_new_one_accepts() -> None:
    p = make("lm_eval --model hf --model_args pretrained=x,dtype=bfloat16,parallelize=True --tasks a")
    p.model.backend_field.widget.value = "vllm"
    assert p.spec.model == "vllm"
    assert p.spec.model_args == {"pretrained": "x", "dtype": "bfloat16"}
    assert "tensor_parallel_size" in p.model.arg_fields
    assert p.command == "lm_eval --model vllm --model_args pretrained=x,dtype=bfloat16 --tasks a"
    p.model.arg_fields["tensor_parallel_size"].widget.value = "2"
    assert p.command == "lm_eval --model vllm --model_args pretrained=x,dtype=bfloat16,tensor_parallel_size=2 --tasks a"


def test_a_backend_switch_and_back_keeps_every_value() -> None:
    p = make("lm_eval --model hf --model_args pretrained=x,dtype=bfloat16 --tasks a")
    p.model.backend_field.widget.value = "gguf"
    assert "pretrained" not in p.spec.model_args and "dtype" not in p.spec.model_args
    p.model.backend_field.widget.value = "hf"
    assert p.spec.model_args == {"pretrained": "x", "dtype": "bfloat16"}
    assert p.model.arg_fields["dtype"].get() == "bfloat16"


def test_pretrained_becomes_model_for_a_backend_that_names_it_so() -> None:
    p = make("lm_eval --model hf --model_args pretrained=Qwen/Qwen2-0.5B --tasks a")
    p.model.backend_field.widget.value = "local-completions"
    assert p.spec.model_args["model"] == "Qwen/Qwen2-0.5B"
    assert "pretrained" not in p.spec.model_args
    assert p.model.arg_fields["model"].get() == "Qwen/Qwen2-0.5B"
    p.model.backend_field.widget.value = "hf"
    assert p.spec.model_args == {"pretrained": "Qwen/Qwen2-0.5B"}


@pytest.mark.parametrize("backend, key", [("gguf", "base_url"), ("local-completions", "base_url"),
                                          ("local-completions", "model")])
def test_required_model_args_are_marked_and_checked(backend: str, key: str) -> None:
    if backend not in backend_names():
        pytest.skip(f"lm_eval {version_tuple()} has no {backend} backend")
    p = make(f"lm_eval --model {backend} --tasks a", language="en")
    field = p.model.arg_fields[key]
    assert f"{key} *" in field.label.value
    assert 'data-code="missing-model-arg"' in field.note.value
    field.widget.value = "http://localhost:8000/v1/completions" if key == "base_url" else "m"
    assert 'data-code="missing-model-arg"' not in field.note.value


def test_model_args_that_are_lm_eval_flags_are_not_repeated_in_the_model_tab() -> None:
    p = make("lm_eval --model hf --model_args pretrained=x,batch_size=4 --tasks a")
    assert "batch_size" not in p.model.arg_fields and "device" not in p.model.arg_fields
    assert p.model.other.get() == "batch_size=4"  # still round-trips
    assert p.read_fields() == p.spec


def test_no_choice_shows_a_bare_dash_for_a_missing_default() -> None:
    p = make("lm_eval --model hf --model_args pretrained=x --tasks a", language="en")
    for field in p.model.arg_fields.values():
        if isinstance(field, ChoiceField):
            assert "(-)" not in field.widget.options[0][0], field.where


def test_editing_the_command_updates_the_fields() -> None:
    p = make("lm_eval --model hf --model_args pretrained=x --tasks a")
    text = ("CUDA_VISIBLE_DEVICES=1 lm_eval --model vllm --model_args pretrained=y,dtype=float16,"
            "tensor_parallel_size=2 --apply_chat_template --fewshot_as_multiturn --tasks b")
    p.command_box.value = text
    assert p.spec == parse(text)
    assert p.model.backend_field.widget.value == "vllm"
    assert p.model.arg_fields["pretrained"].get() == "y"
    assert p.model.arg_fields["tensor_parallel_size"].get() == "2"
    assert p.options.fields["options.apply_chat_template"].get() == ""
    assert p.env.fields["env.CUDA_VISIBLE_DEVICES"].get() == "1"
    assert p.tasks.tasks.get() == "b"
    assert p.command_box.value == parse(text).to_command()  # normalised


def test_a_command_that_does_not_parse_keeps_the_spec() -> None:
    p = make("lm_eval --model hf --model_args pretrained=x --tasks a")
    before = p.spec
    p.command_box.value = "lm_eval --model hf --no_such_flag 3"
    assert p.spec == before
    assert "no_such_flag" in p._command_error.value


def test_the_launcher_round_trips() -> None:
    text = "accelerate launch --num_processes 2 -m lm_eval --model hf --model_args pretrained=x --tasks a"
    p = make(text)
    assert p.options.launcher.get() == "accelerate launch --num_processes 2"
    assert p.read_fields() == parse(text)
    p.options.launcher.widget.value = ""
    assert p.spec.launcher == []


# -- every check surfaces next to the field it concerns ------------------------------------------------------------
def check_codes() -> set[str]:
    """Every finding code mera_magic.checks can produce (read from its source)."""
    source = Path(checks_module.__file__).read_text(encoding="utf-8")
    values = Path(checks_values_module.__file__).read_text(encoding="utf-8")
    return (set(re.findall(r'_f\(\s*"(?:error|warning|info)",\s*"([a-z0-9-]+)"', source))
            | set(re.findall(r'_f\(\s*"([a-z0-9-]+)",', values)))


def _rejecting_backend() -> str:
    return next(n for n in backend_names() if get_backend(n).extra_keys == "rejected")  # type: ignore[union-attr]


def _auto_batch_backend(support: str) -> str:
    name = next((n for n in backend_names() if get_backend(n).auto_batch == support), None)  # type: ignore[union-attr]
    if name is None:
        pytest.skip(f"no backend of lm_eval {version_tuple()} has auto_batch={support!r}: the check cannot fire")
    return f"lm_eval --model {name} --model_args pretrained=x --batch_size auto --tasks a"


def _cache_owner(tmp: Path) -> str:
    prefix = tmp / "cache" / "other"
    prefix.parent.mkdir()
    Path(f"{prefix}{checks_module.CACHE_OWNER_SUFFIX}").write_text(json.dumps({"model": "hf", "name": "else"}))
    return f"lm_eval --model hf --model_args pretrained=mine --use_cache {prefix} --tasks a"


#: code -> a command (or a function of the tmp folder and the demo task folder giving one) that produces it
CASES: dict[str, Any] = {
    "unknown-option": RunSpec(options={"bogus_flag": 1}, tasks=["a"]),
    "unknown-backend": RunSpec(model="no-such-backend", tasks=["a"]),
    "model-arg-forwarded": "lm_eval --model hf --model_args pretrained=x,zz=1 --tasks a",
    "model-arg-ignored": "lm_eval --model local-completions --model_args model=m,zz=1 --tasks a",
    "model-arg-unknown": lambda tmp, tasks: f"lm_eval --model {_rejecting_backend()} --model_args zz=1 --tasks a",
    "no-model-name": "lm_eval --model hf --tasks a",
    "hidden-output-folder": "lm_eval --model hf --model_args pretrained=.hidden --tasks a",
    "model-path-missing": "lm_eval --model hf --model_args pretrained=/no/such/model --tasks a",
    "auto-batch-unsupported": lambda tmp, tasks: _auto_batch_backend("unsupported"),
    "auto-batch-ignored": lambda tmp, tasks: _auto_batch_backend("becomes-1"),
    "multiturn-without-chat-template": "lm_eval --model hf --model_args pretrained=x --fewshot_as_multiturn --tasks a",
    "no-output-path": "lm_eval --model hf --model_args pretrained=x --log_samples --tasks a",
    "samples-with-limit": RunSpec(model_args={"pretrained": "x"}, tasks=["a"],
                                  options={"samples": {"a": [1]}, "limit": 1.0}),
    "device-index": "lm_eval --model hf --model_args pretrained=x --device cuda:0 --tasks a",
    "vllm-device": "lm_eval --model vllm --model_args pretrained=x --device cpu --tasks a",
    "results-not-saved": "lm_eval --model hf --model_args pretrained=x --tasks a",
    "verbosity-late": "lm_eval --model hf --model_args pretrained=x --verbosity DEBUG --tasks a",
    "include-path-missing": "lm_eval --model hf --model_args pretrained=x --include_path /no/such/dir --tasks a",
    "no-tasks": "lm_eval --model hf --model_args pretrained=x",
    "unknown-task": lambda tmp, tasks: f"lm_eval --model hf --model_args pretrained=x --include_path {tasks} --tasks parus,paruss",
    "chat-backend-without-template": "lm_eval --model local-chat-completions --model_args model=m --tasks a",
    "chat-backend-loglikelihood": lambda tmp, tasks: ("lm_eval --model local-chat-completions --model_args model=m "
                                                      f"--apply_chat_template --include_path {tasks} --tasks parus"),
    "cuda-visible-devices": "CUDA_VISIBLE_DEVICES='0, 1' lm_eval --model hf --model_args pretrained=x --tasks a",
    "in-memory-size": "HF_DATASETS_IN_MEMORY_MAX_SIZE=lots lm_eval --model hf --model_args pretrained=x --tasks a",
    "tokenizers-parallelism": "TOKENIZERS_PARALLELISM=maybe lm_eval --model hf --model_args pretrained=x --tasks a",
    "undefined-variable": "HF_HOME=$MERA_TEST_UNDEFINED lm_eval --model hf --model_args pretrained=x --tasks a",
    "literal-secret": f"HF_TOKEN={TOKEN} lm_eval --model hf --model_args pretrained=x --tasks a",
    "cache-other-model": lambda tmp, tasks: _cache_owner(tmp),
    "closed-test-without-predict-only": "lm_eval --model hf --model_args pretrained=x --tasks rummlu",
    "invalid-value": "lm_eval --model hf --model_args pretrained=x,dtype=bf16 --batch_size abc --tasks a",
    "missing-model-arg": "lm_eval --model local-completions --model_args model=m --tasks a",
}
#: findings whose ``where`` names no field: shown in the panel's summary instead
GENERAL = {"unknown-option"}


def test_every_check_code_has_a_case() -> None:
    assert check_codes() - set(CASES) == set()


@pytest.mark.parametrize("code", sorted(CASES))
def test_every_check_surfaces_next_to_its_field(code: str, tmp_path: Path, demo_tasks: Path) -> None:
    if code == "verbosity-late" and version_tuple() < (0, 4, 10):
        pytest.skip("lm_eval < 0.4.10 applies --verbosity itself: the check has nothing to say")
    case = CASES[code]
    if callable(case):
        case = case(tmp_path, demo_tasks)
    auto = code == "unknown-task"  # a name not in --include_path: lm_eval's own tasks are indexed in the background
    p = (Panel(parse(case, secrets=SESSION.secrets), text=case, gpus=NO_GPUS, auto_index=auto)
         if isinstance(case, str) else make(case))
    if auto:
        assert p.tasks.indexing is not None
        for _ in range(50):  # the progress line appears while lm_eval's tasks are indexed
            if "mera-indexing" in p.tasks.index_status.value or not p.tasks.is_indexing:
                break
            time.sleep(0.1)
        assert "mera-indexing" in p.tasks.index_status.value or not p.tasks.is_indexing
        p.tasks.indexing.join()
        assert p.tasks.index_status.value == ""
    found = [f for f in p.findings if f.code == code]
    assert found, [f.code for f in p.findings]
    for finding in found:
        message = html.escape(finding.message)
        dest = finding.where.split(".", 1)[1] if finding.where.startswith("options.") else None
        if code in GENERAL or (dest is not None and option_info(dest) is None):  # no such option: no field
            assert p.field_for(finding.where) is None
            assert message in p._summary.value
            continue
        field = p.field_for(finding.where)
        assert field is not None, finding.where
        assert message in field.note.value
        assert f'data-code="{code}"' in field.note.value
        if finding.where in ("model", "tasks") or finding.where.split(".", 1)[1] in (
                field.where.split(".", 1)[-1], "*"):
            assert field.where in (finding.where, "model_args.*", "env.*")


def test_findings_follow_edits() -> None:
    p = make("lm_eval --model hf --model_args pretrained=x --tasks a")
    field = p.options.fields["options.fewshot_as_multiturn"]
    if isinstance(field, ChoiceField):
        field.widget.value = "true"
    else:
        field.widget.value = True
    assert "multiturn-without-chat-template" in field.note.value
    p.options.fields["options.apply_chat_template"].widget.value = True
    assert "multiturn-without-chat-template" not in field.note.value


def test_task_names_are_checked_once_an_index_holds_them(demo_tasks: Path) -> None:
    p = panel(f"lm_eval --model hf --model_args pretrained=x --include_path {demo_tasks} --tasks parus,rcb")
    assert p.tasks.checkable(p.spec)
    assert "mera-info" not in p.tasks.tasks.note.value
    q = make("lm_eval --model hf --model_args pretrained=x --tasks parus")
    assert not q.tasks.checkable(q.spec)
    assert "Load" in q.tasks.tasks.note.value or "Загрузить" in q.texts("ui.tasks.load")


# -- the task picker ----------------------------------------------------------------------------------------------------
def test_picker_lists_the_include_path_with_mera_annotations(demo_tasks: Path) -> None:
    p = make(f"lm_eval --model hf --model_args pretrained=x --include_path {demo_tasks} --tasks parus", language="en")
    labels = dict((v, k) for k, v in p.tasks.matches.options)
    assert "rummlu" in labels and "parus_gen" in labels
    assert "multiple_choice" in labels["rummlu"] and "closed test" in labels["rummlu"]
    assert "rummlu_gen" in labels["rummlu"]  # its generative twin
    assert "generate_until" in labels["parus_gen"]
    p.tasks.search.value = "rumm"
    assert all("rumm" in v for _, v in p.tasks.matches.options)
    p.tasks.matches.value = ("rummlu",)
    p.tasks.add_button.click()
    assert p.spec.tasks == ["parus", "rummlu"]
    assert p.command.endswith("--tasks parus,rummlu")


# -- secrets ------------------------------------------------------------------------------------------------------------
def test_the_hf_token_never_leaves_the_kernel_memory() -> None:
    p = make("lm_eval --model hf --model_args pretrained=x --tasks a")
    field = p.env.fields["env.HF_TOKEN"]
    assert isinstance(field, SecretField)
    field.widget.value = TOKEN  # what the browser sends when the user presses Enter
    assert field.widget.value == ""
    assert SESSION.secrets["HF_TOKEN"] == TOKEN
    assert p.spec.env["HF_TOKEN"] == TOKEN  # the run gets it
    assert "HF_TOKEN=$HF_TOKEN" in p.command and TOKEN not in p.command
    assert TOKEN not in p.command_box.value
    for widget in all_widgets(p):
        assert TOKEN not in json.dumps(widget.get_state(), default=str)
    bundle = p._repr_mimebundle_()
    assert TOKEN not in json.dumps(bundle, default=str)
    # the command text round-trips through the session's secret
    assert parse(p.command, secrets=SESSION.secrets) == p.spec
    field.forget.click()
    assert "HF_TOKEN" not in p.spec.env and "HF_TOKEN" not in SESSION.secrets


def test_a_literal_token_in_the_command_text_moves_to_the_session() -> None:
    p = make("lm_eval --model hf --model_args pretrained=x --tasks a")
    p.command_box.value = f"HF_TOKEN={TOKEN} lm_eval --model hf --model_args pretrained=x --tasks a"
    assert TOKEN not in p.command_box.value
    assert SESSION.secrets["HF_TOKEN"] == TOKEN
    assert any(f.code == "literal-secret" for f in p.findings)  # told once, about the text that had it
    p.options.fields["options.num_fewshot"].widget.value = "1"
    assert p.spec.env["HF_TOKEN"] == TOKEN


def test_a_secret_model_arg_is_masked_and_survives_command_edits() -> None:
    backend = next((n for n in backend_names() if "auth_token" in get_backend(n).arg_names), None)  # type: ignore[union-attr]
    if backend is None:
        pytest.skip(f"no backend of lm_eval {version_tuple()} takes an auth_token")
    p = make(f"lm_eval --model {backend} --model_args model=m,base_url=http://localhost:8000/v1/completions "
             "--tasks a")
    field = p.model.arg_fields["auth_token"]
    assert isinstance(field, SecretField)
    field.widget.value = "sk-secret-77"
    assert field.widget.value == ""
    assert p.spec.model_args["auth_token"] == "sk-secret-77"
    assert "sk-secret-77" not in p.command and f"auth_token={MASK}" in p.command
    p.command_box.value = p.command.replace("--tasks a", "--tasks b")  # the mask stands for the kept value
    assert p.spec.model_args["auth_token"] == "sk-secret-77"
    assert p.spec.tasks == ["b"]
    for widget in all_widgets(p):
        assert "sk-secret-77" not in json.dumps(widget.get_state(), default=str)


def test_a_saved_notebook_holds_no_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("MERA_PANEL_TEST_VALUE", TOKEN)  # the kernel inherits it: the cell source does not hold it
    source = ("import os, mera_magic.widgets\n"
              "value = os.environ.pop('MERA_PANEL_TEST_VALUE')\n"
              "p = mera_magic.widgets.panel('lm_eval --model hf --model_args pretrained=x --tasks a')\n"
              "p.env.fields['env.HF_TOKEN'].widget.value = value  # as typed in the browser\n"
              "assert p.spec.env['HF_TOKEN'] == value\n"
              "del value\n"
              "p")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    NotebookClient(nb, timeout=300, kernel_name="python3", store_widget_state=True,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    path = tmp_path / "saved.ipynb"
    nbformat.write(nb, path)
    saved = path.read_text(encoding="utf-8")
    assert "application/vnd.jupyter.widget-view+json" in saved  # the panel and its state were saved ...
    assert "HF_TOKEN=$HF_TOKEN" in saved                          # ... with the command text ...
    assert TOKEN not in saved                                     # ... and without the token


# -- language, fallback, GPUs, buttons ------------------------------------------------------------------------------------
def test_language_switch_keeps_the_spec() -> None:
    p = make("lm_eval --model hf --model_args pretrained=x,dtype=bfloat16 --tasks a", language="en")
    assert p._tabs.get_title(0) == "Model"
    assert "precision" in p.model.arg_fields["dtype"].help.value.lower()
    before = p.spec
    p.set_language("ru")
    assert p._tabs.get_title(0) == "Модель"
    assert "точность" in p.model.arg_fields["dtype"].help.value.lower()
    assert p.spec == before and p.read_fields() == before
    with pytest.raises(ValueError):
        p.set_language("de")


def test_the_panel_words_the_findings_in_its_own_language() -> None:
    assert SESSION.config.language == "ru"  # the session's default
    p = make("lm_eval --model hf --model_args pretrained=x --tasks a --fewshot_as_multiturn", language="en")
    found = {f.code: f.message for f in p.findings}
    assert found["multiturn-without-chat-template"].startswith("`--fewshot_as_multiturn` needs")
    p.set_language("ru")
    found = {f.code: f.message for f in p.findings}
    assert "работает только вместе с `--apply_chat_template`" in found["multiturn-without-chat-template"]
    assert SESSION.config.language == "ru"  # the panel's language was for its own checks only


def test_the_language_toggle_keeps_the_selected_tab_shown() -> None:
    p = make("lm_eval --model hf --model_args pretrained=x --tasks a", language="ru")
    p._tabs.selected_index = 2
    p._language_toggle.value = "en"
    assert p.language == "en" and p._tabs.selected_index == 2
    assert p._tabs.children[2].children == (p.options.box,)


def test_demo_tasks_with_answers_are_not_called_closed(demo_tasks: Path) -> None:
    p = make(f"lm_eval --model hf --model_args pretrained=x --include_path {demo_tasks} --tasks parus,rcb,simplear",
             language="en")
    assert p.tasks.checkable(p.spec)
    assert not any(f.code == "closed-test-without-predict-only" for f in p.findings)
    labels = dict((v, k) for k, v in p.tasks.matches.options)
    assert "closed test" not in labels["parus"] and "closed test" in labels["rummlu"]
    p.tasks.tasks.widget.value = "rummlu"
    assert any(f.code == "closed-test-without-predict-only" for f in p.findings)


def test_the_saved_record_follows_the_panel_and_survives_nbconvert(tmp_path: Path) -> None:
    """The panel's saved output is the command it holds now, highlighted, with its findings (a real kernel)."""
    nb = _executed_record_notebook(tmp_path)
    outputs = nb.cells[0].outputs
    assert len(outputs) == 2
    assert "application/vnd.jupyter.widget-view+json" in outputs[0]["data"]
    record = outputs[1]["data"]
    assert "--num_fewshot 5" in record["text/plain"] and "--batch_size abc" in record["text/plain"]
    assert "batch_size abc" in record["text/plain"] and "error:" in record["text/plain"]
    text = re.sub(r"<[^>]+>", "", record["text/html"])
    assert "--num_fewshot 5" in text and "1 error" in text


def test_nbconvert_html_shows_the_panels_command(tmp_path: Path) -> None:
    # nbconvert is not a dependency of mera-magic; it comes with JupyterLab (the browser tests' environment)
    exporter = pytest.importorskip("nbconvert", reason="nbconvert is not installed in this environment")
    body, _ = exporter.HTMLExporter().from_notebook_node(_executed_record_notebook(tmp_path))
    text = re.sub(r"<[^>]+>", "", body)
    assert "--num_fewshot 5" in text and "--batch_size abc" in text


def _executed_record_notebook(tmp_path: Path) -> Any:
    import nbformat
    from nbclient import NotebookClient

    cells = ["import mera_magic.widgets\n"
             "p = mera_magic.widgets.panel('lm_eval --model hf --model_args pretrained=x --tasks a', language='en')\np",
             "p.options.fields['options.num_fewshot'].widget.value = '5'\n"
             "p.options.fields['options.batch_size'].widget.value = 'abc'"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    return nb


def test_the_session_language_is_the_default() -> None:
    SESSION.config.language = "en"
    assert make().language == "en"
    SESSION.config.language = "ru"
    assert make().language == "ru"


def test_text_fallback_for_front_ends_without_widgets() -> None:
    p = make("lm_eval --model hf --model_args pretrained=x --log_samples --tasks a", language="en")
    bundle = p._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert cell_source(p.command) in bundle["text/plain"]
    assert "needs `--output_path`" in bundle["text/plain"]
    assert html.escape(cell_source(p.command)) in re.sub(r"<[^>]+>", "", bundle["text/html"])
    assert 'data-code="no-output-path"' in bundle["text/html"]


def test_gpus_are_read_from_nvidia_smi() -> None:
    out = ("GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-1a2b)\n"
           "  MIG 1g.10gb     Device  0: (UUID: MIG-abc)\n"
           "GPU 1: NVIDIA H100 80GB HBM3 (UUID: GPU-3c4d)\n")
    assert parse_nvidia_smi(out) == [Gpu(0, "NVIDIA H100 80GB HBM3", "GPU-1a2b"),
                                     Gpu(1, "NVIDIA H100 80GB HBM3", "GPU-3c4d")]


def test_gpu_buttons_set_cuda_visible_devices() -> None:
    p = Panel(parse("lm_eval --model hf --model_args pretrained=x --tasks a"),
              gpus=[Gpu(0, "A"), Gpu(1, "B"), Gpu(2, "C")])
    buttons = p.env.gpu_buttons
    buttons[2].value = True
    buttons[0].value = True
    assert p.spec.env["CUDA_VISIBLE_DEVICES"] == "2,0"
    assert p.command.startswith("CUDA_VISIBLE_DEVICES=2,0 lm_eval")
    p.env.fields["env.CUDA_VISIBLE_DEVICES"].widget.value = "1"
    assert [b.value for b in buttons] == [False, True, False]


def test_no_gpu_here_is_said() -> None:
    p = Panel(RunSpec(tasks=["a"]), language="en")  # probes this machine: no nvidia-smi, no CUDA
    assert p.env.gpus == []
    assert "No NVIDIA GPU found" in json.dumps([w.get_state() for w in all_widgets(p.env.box)])


def test_insert_cell_outside_an_execution_uses_the_script() -> None:
    script = insert_cell_script(cell_source("lm_eval --tasks a"), "ok", "manual")
    assert json.dumps("%%mera\nlm_eval --tasks a") in script
    assert "notebook:insert-cell-below" in script


def test_run_refuses_a_spec_with_errors(capsys: pytest.CaptureFixture[str]) -> None:

    p = make("lm_eval --model hf --model_args pretrained=x --log_samples --tasks a", language="en")
    assert p.run() is None
    assert "fix the errors" in capsys.readouterr().out


def test_an_unexpected_error_in_a_run_is_shown_in_the_panel(monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    # a fake failure: an internal bug cannot be produced on purpose; without this the error only reached the
    # kernel's log and the panel looked as if Run had done nothing
    import mera_magic.runner

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("something inside broke")

    monkeypatch.setattr(mera_magic.runner, "run", broken)
    p = make("lm_eval --model hf --model_args pretrained=x --tasks a", language="en")
    p._findings = []  # as if the checks had passed
    assert p.run() is None
    shown = capsys.readouterr().out
    assert "RuntimeError: something inside broke" in shown and "Traceback" in shown
    assert "Last run from the panel: failed" in p._record_bundle()["text/plain"]
    assert not p.run_button.disabled and p.controls.runs == 1


def test_field_kinds_follow_the_backend_constructor() -> None:
    p = make("lm_eval --model hf --model_args pretrained=x --tasks a")
    kinds = {k: type(f) for k, f in p.model.arg_fields.items()}
    assert kinds["pretrained"] is TextField
    assert kinds["dtype"] is ChoiceField
    assert kinds["parallelize"] is ChoiceField  # tri-state: not given / True / False
    assert kinds["backend"] is ChoiceField
    hf = get_backend("hf")
    assert hf is not None
    if "autogptq" in hf.arg_names and "str" in (hf.arg("autogptq").annotation or ""):  # type: ignore[union-attr]
        assert kinds["autogptq"] is ComboField
    assert "attn_implementation" in p.model.arg_fields  # offered: the guide uses it, HFLM forwards it
    first = [f.where for f in p.model.arg_fields.values()][:3]
    assert first[0] == "model_args.pretrained"


@pytest.mark.slow
def test_run_button_runs_the_panel_command(demo_model: Path, demo_tasks: Path, tmp_path: Path) -> None:
    p = make(f"lm_eval --model hf --model_args pretrained={demo_model},dtype=float32 --device cpu "
             f"--include_path {demo_tasks} --output_path {tmp_path} --limit 2 --tasks parus", language="en")
    result = p.run()
    assert result is not None and "parus" in result.tasks
    assert list(tmp_path.rglob("results_*.json"))
    # the runner's own progress block, in the panel, ends in "done"; Run is enabled again
    assert "— done" in p.controls.progress.value and "parus" in p.controls.progress.value
    assert p.controls.last_status == "done" and not p.run_button.disabled and p.controls.runs == 1
    # the saved record holds the command and the result's static view
    record = p._record_bundle()
    assert "Last run from the panel: done" in record["text/plain"]
    assert "parus" in record["text/html"] and "--limit 2" in record["text/html"]


def test_run_controls_refuse_a_click_during_a_run() -> None:
    p = make("lm_eval --model hf --model_args pretrained=x --tasks a", language="en")
    p.controls.begin()
    assert p.run_button.disabled and p.run_button.description == "Running…"
    assert p.controls.stale_click()
    assert p.run() is None and p.controls.ignored_clicks == 1
    p.controls.end()
    assert not p.run_button.disabled and not p.controls.stale_click()


# -- a %%mera --panel cell keeps the panel's edits ---------------------------------------------------------------------
def test_an_edited_panel_offers_to_write_its_command_back() -> None:
    text = "lm_eval --model hf --model_args pretrained=x --tasks a"
    p = Panel(parse(text), text=text, origin=text, gpus=NO_GPUS, auto_index=False, language="en")
    assert not p.edited and p.writeback.layout.display == "none"
    p.options.fields["options.num_fewshot"].widget.value = "3"
    assert p.edited and p.writeback.layout.display is None
    source = json.dumps(f"%%mera --panel\n{p.command}")
    assert html.escape(source) in p.writeback.value and "Write into the cell" in p.writeback.value
    p.options.fields["options.num_fewshot"].widget.value = ""
    assert not p.edited and p.writeback.layout.display == "none"


def test_running_an_edited_panel_cell_again_keeps_the_edits() -> None:
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "mera_magic")
    text = "lm_eval --model hf --model_args pretrained=x --tasks a"
    first = shell.run_cell_magic("mera", "--panel", text)
    assert isinstance(first, Panel) and first.origin == text
    first.options.fields["options.num_fewshot"].widget.value = "3"
    shell.rl_next_input = None
    second = shell.run_cell_magic("mera", "--panel", text)
    assert second.spec == first.spec and second.spec.options["num_fewshot"] == 3
    # (a terminal shell keeps the next input; a kernel sends it as a set_next_input payload replacing the cell)
    assert shell.rl_next_input == f"%%mera --panel\n{first.command}"
    shell.rl_next_input = None
    third = shell.run_cell_magic("mera", "--panel", text)  # not edited: the cell's own command, nothing written
    assert third.spec == parse(text) and shell.rl_next_input is None
