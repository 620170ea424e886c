"""mera_magic.checks_multimodal: hf-multimodal / vllm-vlm and multimodal tasks, checked before anything loads.

The task-based checks run against the real multimodal demo task folder (and small YAMLs written here); the
backend facts come from the installed lm_eval's source.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from mera_magic import check, demo, parse
from mera_magic.checks_multimodal import (
    MEDIA_ENV,
    images_per_document,
    media_tasks,
    multimodal_backends,
)
from mera_magic.lmeval.backends import backend_names
from mera_magic.lmeval.install import version_tuple
from mera_magic.lmeval.tasks import read_task_yaml

#: these tests compare English texts (the session's default language is Russian)
pytestmark = pytest.mark.usefixtures("english")

HAS_HF_MULTIMODAL = "hf-multimodal" in backend_names()
needs_hf_multimodal = pytest.mark.skipif(
    not HAS_HF_MULTIMODAL, reason=f"lm_eval {version_tuple()} has no hf-multimodal backend (it came with 0.4.5)")


@pytest.fixture(scope="module")
def mm_tasks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo.write_vlm_tasks(tmp_path_factory.mktemp("mm_tasks"))


def codes(command: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for finding in check(command):
        out.setdefault(finding.code, []).append(finding.where)
    return out


def hfmm(tasks: Path, extra: str = "", args: str = "max_images=2") -> str:
    return (f"lm_eval --model hf-multimodal --model_args pretrained=x,{args} --include_path {tasks} "
            f"--tasks mera_mm_demo --apply_chat_template --batch_size 1 {extra}")


# -- what the tasks need ------------------------------------------------------------------------------------------------
def test_media_tasks_reads_modalities_and_images_per_document(mm_tasks: Path) -> None:
    found = media_tasks(["mera_mm_demo"], str(mm_tasks))
    assert set(found) == set(demo.MM_TASKS)
    for name, task in found.items():
        assert task.modalities == {"image"}
        assert task.output_type == "generate_until"
        assert task.images_per_doc == demo.vlm_tasks.IMAGES_PER_DOC[name]  # from the Parquet / JSONL records


def test_images_per_document_counts_tags_and_fields(tmp_path: Path) -> None:
    data = tmp_path / "test.jsonl"
    data.write_text('{"instruction": "<image_1> vs <image_2> vs <image_3>", "inputs": {"image_1": "a"}}\n'
                    '{"instruction": "<image>", "inputs": {"image": "a"}}\n', encoding="utf-8")
    assert images_per_document({"dataset_kwargs": {"data_files": {"test": str(data)}}}) == 3
    assert images_per_document({"dataset_path": "MERA-evaluation/ruCLEVR"}) is None  # hub data: unknown


def test_text_tasks_are_not_multimodal(demo_tasks: Path) -> None:
    assert media_tasks(["parus", "simplear"], str(demo_tasks)) == {}


# -- backends -------------------------------------------------------------------------------------------------------------
@needs_hf_multimodal
def test_multimodal_backends_come_from_the_source() -> None:
    found = multimodal_backends()
    assert {"hf-multimodal", "vllm-vlm"} <= found
    assert "hf" not in found and "vllm" not in found


@needs_hf_multimodal
def test_batch_size_auto_is_refused_for_hf_multimodal(mm_tasks: Path) -> None:
    found = check(hfmm(mm_tasks).replace("--batch_size 1", "--batch_size auto"))
    auto = [f for f in found if f.code == "auto-batch-unsupported"]
    assert auto and auto[0].level == "error" and auto[0].where == "options.batch_size"
    assert "--batch_size 1" in auto[0].message


@pytest.mark.skipif(HAS_HF_MULTIMODAL, reason="the installed lm_eval has hf-multimodal")
def test_missing_backend_names_the_version_that_brought_it() -> None:
    found = [f for f in check("lm_eval --model hf-multimodal --model_args pretrained=x --tasks a", tasks=False)
             if f.code == "mm-backend-missing"]
    assert found and "0.4.5" in found[0].message and found[0].level == "error"


@needs_hf_multimodal
def test_a_clean_multimodal_command_has_no_multimodal_findings(mm_tasks: Path) -> None:
    found = codes(hfmm(mm_tasks))
    assert not {c for c in found if c.startswith(("mm-", "media-", "flash-"))}, found


@needs_hf_multimodal
def test_text_backend_with_image_tasks(mm_tasks: Path) -> None:
    found = check(f"lm_eval --model hf --model_args pretrained=x --include_path {mm_tasks} --tasks ruclevr")
    err = [f for f in found if f.code == "mm-text-backend"]
    assert err and err[0].level == "error" and "hf-multimodal" in err[0].message and "`ruclevr`" in err[0].message


@needs_hf_multimodal
def test_chat_template_is_expected(mm_tasks: Path) -> None:
    found = codes(hfmm(mm_tasks).replace("--apply_chat_template", ""))
    assert found.get("mm-chat-template") == ["options.apply_chat_template"]


@needs_hf_multimodal
def test_max_images_against_the_images_documents_carry(mm_tasks: Path) -> None:
    found = [f for f in check(hfmm(mm_tasks, args="max_images=1")) if f.code == "mm-max-images"]
    assert len(found) == 1 and found[0].level == "warning" and found[0].where == "model_args.max_images"
    assert "`mm_demo_pairs` (2)" in found[0].message and "max_images=2" in found[0].message
    assert "ruclevr" not in found[0].message  # one image a document: within the limit
    bad = [f for f in check(hfmm(mm_tasks, args="max_images=two")) if f.code == "mm-max-images"]
    assert bad and bad[0].level == "error"


@needs_hf_multimodal
def test_fewshot_for_multimodal_tasks_is_noted(mm_tasks: Path) -> None:
    assert "mm-fewshot" in codes(hfmm(mm_tasks, "--num_fewshot 2"))
    assert "mm-fewshot" not in codes(hfmm(mm_tasks, "--num_fewshot 0"))


@needs_hf_multimodal
def test_loglikelihood_and_audio_tasks_with_an_image_backend(mm_tasks: Path, tmp_path: Path) -> None:
    base = read_task_yaml(mm_tasks / "ruclevr.yaml")
    files = base["dataset_kwargs"]["data_files"]
    (tmp_path / "mc.yaml").write_text(
        "task: mm_mc\ndataset_path: parquet\ndataset_kwargs:\n  data_files:\n"
        f"    test: \"{files['test']}\"\ntest_split: test\noutput_type: multiple_choice\n"
        "doc_to_image: !function mm_utils.doc_to_image\ndoc_to_text: q\ndoc_to_choice: ['1', '2']\ndoc_to_target: 0\n",
        encoding="utf-8")
    (tmp_path / "audio.yaml").write_text(
        "task: mm_audio\ndataset_path: json\ntest_split: test\noutput_type: generate_until\n"
        "doc_to_audio: !function utils.doc_to_audio\ndoc_to_text: q\ndoc_to_target: a\n", encoding="utf-8")
    found = codes(f"lm_eval --model hf-multimodal --model_args pretrained=x --include_path {tmp_path} "
                  "--tasks mm_mc,mm_audio --apply_chat_template --batch_size 1")
    assert found.get("mm-loglikelihood") == ["tasks"]
    assert found.get("mm-modality") == ["tasks"]


# -- flash attention -------------------------------------------------------------------------------------------------------
@pytest.mark.skipif(importlib.util.find_spec("flash_attn") is not None, reason="flash-attn is installed here")
def test_flash_attention_without_the_package_is_one_finding() -> None:
    """The missing package is pre-flight's finding (one message, naming the install); on a CPU also this one."""
    findings = check("lm_eval --model hf --model_args pretrained=x,attn_implementation=flash_attention_2 "
                     "--tasks a", tasks=False)
    missing = [f for f in findings if f.code == "package-missing" and "flash" in f.message]
    assert len(missing) == 1 and missing[0].level == "error" and "flash-attn" in missing[0].message
    assert not [f for f in findings if f.code == "flash-attn"]  # no device given: nothing more to say
    on_cpu = check("lm_eval --model hf --model_args pretrained=x,attn_implementation=flash_attention_2 "
                   "--device cpu --tasks a", tasks=False)
    flash = [f for f in on_cpu if f.code == "flash-attn"]
    assert flash and flash[0].where == "model_args.attn_implementation" and "attn_implementation=sdpa" in flash[0].message
    clean = check("lm_eval --model hf --model_args pretrained=x,attn_implementation=sdpa --tasks a", tasks=False)
    assert not [f for f in clean if f.code in ("flash-attn", "package-missing")]


# -- MERA's media variables ---------------------------------------------------------------------------------------------------
def test_media_variables_are_environment_not_flags() -> None:
    spec = parse("LOAD_BASE64=1 HARNESS_RESIZE_IMAGES=1 INPUT_IMAGE_MAX_SIDE=448 lm_eval --model vllm-vlm "
                 "--model_args pretrained=x --tasks ruclevr")
    assert spec.env == {"LOAD_BASE64": "1", "HARNESS_RESIZE_IMAGES": "1", "INPUT_IMAGE_MAX_SIDE": "448"}
    assert not {k for k in spec.options if k.upper() in MEDIA_ENV}
    assert spec.to_command().startswith("LOAD_BASE64=1 HARNESS_RESIZE_IMAGES=1 INPUT_IMAGE_MAX_SIDE=448 ")
    from mera_magic import texts

    for name in MEDIA_ENV:  # each has its help text, in both languages
        assert texts.text(f"env.{name}", "ru") and texts.text(f"env.{name}", "en")


def test_media_variables_checks() -> None:
    cmd = "lm_eval --model hf-multimodal --model_args pretrained=x --tasks a --batch_size 1"
    two = [f for f in check(f"LOAD_BYTES=1 LOAD_FILES=1 {cmd}", tasks=False) if f.code == "media-env"]
    assert two and two[0].level == "error" and "ambiguous" in two[0].message
    odd = [f for f in check(f"LOAD_BASE64=true {cmd}", tasks=False) if f.code == "media-env"]
    assert odd and odd[0].level == "warning" and odd[0].where == "env.LOAD_BASE64"
    if HAS_HF_MULTIMODAL:
        b64 = [f for f in check(f"LOAD_BASE64=1 {cmd}", tasks=False) if f.code == "media-env"]
        assert b64 and b64[0].level == "error" and "Pillow" in b64[0].message
    assert not [f for f in check(f"LOAD_OBJECT=1 {cmd}", tasks=False) if f.code == "media-env"]


def test_a_load_media_imported_with_other_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a module named and written like MERA's load_media.py: it reads LOAD_* once, at import
    (tmp_path / "load_media.py").write_text(
        "import os\nload_bytes = os.getenv('LOAD_BYTES') == '1'\nload_base64 = os.getenv('LOAD_BASE64') == '1'\n"
        "load_object = os.getenv('LOAD_OBJECT') == '1'\nload_files = os.getenv('LOAD_FILES') == '1'\n",
        encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("LOAD_BYTES", "1")
    previous = sys.modules.pop("load_media", None)
    try:
        import load_media  # noqa: F401

        monkeypatch.delenv("LOAD_BYTES")
        cmd = "lm_eval --model vllm-vlm --model_args pretrained=x --tasks a"
        stale = [f for f in check(f"LOAD_FILES=1 {cmd}", tasks=False) if f.code == "media-env"]
        assert stale and "`LOAD_BYTES=0`" in stale[0].message and stale[0].where == "env.LOAD_BYTES"
        assert not [f for f in check(f"LOAD_BYTES=0 LOAD_FILES=1 {cmd}", tasks=False) if f.code == "media-env"]
        assert not [f for f in check(f"LOAD_BYTES=1 {cmd}", tasks=False) if f.code == "media-env"]
        # a mode set differently from the imported module: the run goes to a fresh process, the reason said
        from mera_magic.environ import plan

        moved = plan({"LOAD_BYTES": "0", "LOAD_FILES": "1"})
        assert not moved.in_process and any("LOAD_FILES=1" in r for r in moved.reasons)
        assert plan({"LOAD_BYTES": "1"}).in_process
    finally:
        sys.modules.pop("load_media", None)
        if previous is not None:
            sys.modules["load_media"] = previous


# -- the panel ----------------------------------------------------------------------------------------------------------------
@needs_hf_multimodal
@pytest.mark.parametrize("backend", ["hf-multimodal", "vllm-vlm"])
def test_the_panel_offers_the_multimodal_fields(backend: str, mm_tasks: Path) -> None:
    from mera_magic.widgets import panel

    p = panel(f"lm_eval --model {backend} --model_args pretrained=x,max_images=1 --include_path {mm_tasks} "
              "--tasks mera_mm_demo --batch_size 1")
    assert {"pretrained", "max_images", "interleave", "image_width", "image_max_side"} <= set(p.model.arg_fields)
    assert p.model.arg_fields["max_images"].get() in (1, "1")
    for code in ("mm-max-images", "mm-chat-template"):
        finding = next(f for f in p.findings if f.code == code)
        field = p.field_for(finding.where)
        assert field is not None and f'data-code="{code}"' in field.note.value


@needs_hf_multimodal
def test_the_guides_vllm_vlm_example_is_parsed_and_checked(mm_tasks: Path) -> None:
    from tests import guide_commands

    text = guide_commands.FULL["vllm_multimodal"].replace("./multimodal_tasks", str(mm_tasks))
    spec = parse(text)
    assert spec.model == "vllm-vlm" and spec.tasks == ["ruvqa"]
    assert spec.options["apply_chat_template"] and spec.options["fewshot_as_multiturn"]
    found = codes(text.replace("--tasks ruvqa", "--tasks ruclevr"))
    assert not {c for c in found if c.startswith(("mm-", "media-", "flash-"))}, found
    with_limit = codes(text.replace("--tasks ruvqa", "--tasks mm_demo_pairs").replace(
        "gpu_memory_utilization=0.5", "gpu_memory_utilization=0.5,max_images=1"))
    assert with_limit.get("mm-max-images") == ["model_args.max_images"]
