"""mera_magic.demo.vlm and demo.vlm_tasks: the tiny LLaVA and the multimodal demo tasks, built offline.

The model is loaded back with transformers' Auto classes (as lm_eval's hf-multimodal loads it) on whichever
transformers major this environment has (4.x with lm-eval 0.4.4, 5.x with 0.4.13).
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import re
import sys
from pathlib import Path

import pytest

from mera_magic import demo
from mera_magic.demo.vlm import IMAGE_SIZE, IMAGE_TOKEN, PATCH_SIZE
from mera_magic.demo.vlm_tasks import IMAGES_PER_DOC, MM_TASKS, read_test_records

PIL = pytest.importorskip("PIL.Image")
TOKENS_PER_IMAGE = (IMAGE_SIZE // PATCH_SIZE) ** 2


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture(scope="module")
def vlm() -> Path:
    return demo.build_vlm()


@pytest.fixture(scope="module")
def mm_tasks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo.write_vlm_tasks(tmp_path_factory.mktemp("mm_tasks"))


@pytest.mark.slow
def test_the_build_is_deterministic_and_cached(vlm: Path, tmp_path: Path) -> None:
    again = demo.build_vlm(tmp_path / "again")
    assert digests(again) == digests(vlm)
    stamp = (vlm / "mera_magic_demo.json").stat().st_mtime_ns
    assert demo.build_vlm() == vlm and (vlm / "mera_magic_demo.json").stat().st_mtime_ns == stamp  # reused
    weights = sum(p.stat().st_size for p in vlm.glob("*.safetensors"))
    assert weights < 5_000_000


@pytest.mark.slow
def test_it_loads_and_generates_from_an_image_as_hf_multimodal_does(vlm: Path) -> None:
    import torch
    from transformers import AutoModelForImageTextToText, AutoProcessor

    processor = AutoProcessor.from_pretrained(vlm)
    model = AutoModelForImageTextToText.from_pretrained(vlm)
    assert type(model).__name__ == "LlavaForConditionalGeneration"
    image_id = processor.tokenizer.convert_tokens_to_ids(IMAGE_TOKEN)
    assert model.config.image_token_index == image_id
    chat = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Какая фигура?"}]}]
    text = processor.apply_chat_template(chat, add_generation_prompt=True)
    assert text == "<|user|>\n<image>\nКакая фигура?</s>\n<|assistant|>\n"
    inputs = processor(images=[PIL.new("RGB", (112, 112), (220, 40, 40))], text=[text], return_tensors="pt")
    assert int((inputs["input_ids"] == image_id).sum()) == TOKENS_PER_IMAGE
    assert tuple(inputs["pixel_values"].shape) == (1, 3, IMAGE_SIZE, IMAGE_SIZE)
    with torch.no_grad():
        first = model.generate(**inputs, max_new_tokens=4, do_sample=False)
        second = model.generate(**inputs, max_new_tokens=4, do_sample=False)
    assert inputs["input_ids"].shape[1] < first.shape[1] <= inputs["input_ids"].shape[1] + 4
    assert torch.equal(first, second)  # greedy: the same answer every time


def test_tasks_are_written_deterministically_and_idempotently(mm_tasks: Path, tmp_path: Path) -> None:
    other = demo.write_vlm_tasks(tmp_path / "other")
    mine = {p.relative_to(mm_tasks).as_posix(): p.read_bytes() for p in mm_tasks.rglob("*") if p.is_file()}
    theirs = {p.relative_to(other).as_posix(): p.read_bytes() for p in other.rglob("*") if p.is_file()}
    assert set(mine) == set(theirs)
    for name, data in mine.items():
        if name.endswith((".yaml", ".jsonl")):  # they name their own folder
            data = data.replace(str(mm_tasks).encode(), b"@")
            theirs[name] = theirs[name].replace(str(other).encode(), b"@")
        assert data == theirs[name], name
    times = {p: p.stat().st_mtime_ns for p in mm_tasks.rglob("*") if p.is_file()}
    demo.write_vlm_tasks(mm_tasks)
    assert times == {p: p.stat().st_mtime_ns for p in mm_tasks.rglob("*") if p.is_file()}
    assert {p.stem for p in mm_tasks.glob("*.yaml")} == set(MM_TASKS)


@pytest.mark.parametrize("task", MM_TASKS)
def test_records_are_in_meras_multimodal_format(task: str, mm_tasks: Path) -> None:
    records = read_test_records(task, mm_tasks)
    assert len(records) == 6 and [r["meta"]["id"] for r in records] == list(range(6))
    for record in records:
        assert set(record) == {"instruction", "inputs", "outputs", "meta"}
        keys = [k for k in record["inputs"] if k.startswith("image")]
        assert len(keys) == IMAGES_PER_DOC[task] == len(re.findall(r"<image>", record["instruction"]))
        assert isinstance(record["outputs"], str) and record["outputs"]
        assert "{question}" in record["instruction"] and record["inputs"]["question"]
        assert set(record["meta"]["image"]) == {"synt_source", "source", "type", "content", "context"}
        contents = record["meta"]["image"]["content"]
        for key, content in zip(keys, contents):
            value = record["inputs"][key]
            data = value["bytes"] if isinstance(value, dict) else Path(value).read_bytes()
            image = PIL.open(io.BytesIO(data))
            assert image.format == "PNG" and image.size == (112, 112)
            figures = content.split(", ")
            if record["inputs"]["question"].startswith("Сколько"):
                assert record["outputs"] == str(len(figures))  # the answer is what was drawn
            elif task == "rucommonvqa":
                assert figures[0].endswith(record["outputs"])


def test_the_task_helpers_open_both_ways_images_are_stored(mm_tasks: Path) -> None:
    sys.path.insert(0, str(mm_tasks))
    try:
        spec = importlib.util.spec_from_file_location("mm_utils_test", mm_tasks / "mm_utils.py")
        assert spec is not None and spec.loader is not None
        utils = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(utils)
    finally:
        sys.path.remove(str(mm_tasks))
    for task in MM_TASKS:
        record = read_test_records(task, mm_tasks)[0]
        images = utils.doc_to_image(record)
        assert len(images) == IMAGES_PER_DOC[task] and all(i.mode == "RGB" for i in images)
        prompt = utils.doc_to_text(record)
        assert prompt.count("<image>") == IMAGES_PER_DOC[task] and record["inputs"]["question"] in prompt
    yaml = (mm_tasks / "ruclevr.yaml").read_text(encoding="utf-8")
    assert "dataset_path: parquet" in yaml and "doc_to_image: !function mm_utils.doc_to_image" in yaml
    assert json.loads(json.dumps(read_test_records("ruclevr", mm_tasks)[0]["meta"]))["id"] == 0
