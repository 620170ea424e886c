"""The multimodal demo task folder: small image tasks in MERA_MULTIMODAL's record format, images drawn by code.

Each record is shaped like MERA's multimodal datasets (``instruction`` with ``<image>`` tags, ``inputs`` with
``image`` (or ``image_1``, ``image_2``) and ``question``, ``outputs``, ``meta`` with ``id``, ``categories`` and an
``image`` description), split into ``shots`` (few-shot examples) and ``test`` as MERA's are. The pictures are
coloured circles, squares and triangles on a light background, drawn with Pillow from a seeded generator, so
the folder is the same on every machine (as ruCLEVR's scenes are generated):

* ``ruclevr``: "how many figures?" / "what colour is the square?"; the images are PNG bytes in Parquet
  (``{"bytes", "path"}``, the way MERA's datasets hold them), so lm_eval's samples file keeps only their hash
  and the samples browser finds them again in the data set by ``doc_id``;
* ``rucommonvqa``: "which figure is drawn?"; the images are PNG files named by path in the JSONL records, so the
  samples file keeps the path;
* ``mm_demo_pairs`` (a demo task, not a MERA one): two images per document, "which picture has more figures?",
  the case ``max_images`` is about.

Tag ``mera_mm_demo`` runs all three. :func:`write_vlm_tasks` writes the YAMLs, ``mm_utils.py`` and the data with
absolute paths; pass the folder as ``--include_path``.
"""

from __future__ import annotations

import io
import json
import random
from pathlib import Path
from typing import Any, Union

from mera_magic.demo._resources import cache_root
from mera_magic.demo.tasks import _write_if_changed

#: tag that runs every multimodal demo task
MM_TAG = "mera_mm_demo"
#: the multimodal demo tasks, in the order they are written
MM_TASKS: tuple[str, ...] = ("ruclevr", "rucommonvqa", "mm_demo_pairs")
#: images per document of each task
IMAGES_PER_DOC: dict[str, int] = {"ruclevr": 1, "rucommonvqa": 1, "mm_demo_pairs": 2}
#: side of the drawn pictures, in pixels
IMAGE_SIDE = 112

_FORMAT = 1
_SIZES = {"shots": 2, "test": 6}
_COLORS = {"красный": (220, 40, 40), "зелёный": (40, 170, 60), "синий": (40, 80, 220), "жёлтый": (230, 200, 30)}
_SHAPES = ("круг", "квадрат", "треугольник")
_CATEGORIES = {"ruclevr": "Spatial object relationship, Static counting", "rucommonvqa": "Object recognition",
               "mm_demo_pairs": "Comparison"}

_UTILS = '''"""Helpers of the mera-magic multimodal demo tasks (``!function mm_utils.<name>``); no mera_magic import."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image


def _open(value: Any) -> Image.Image:
    """A record's image: PNG bytes in ``{"bytes", "path"}`` (as MERA's datasets hold them) or a file path."""
    if isinstance(value, dict):
        data = value.get("bytes")
        image = Image.open(io.BytesIO(data)) if data else Image.open(value["path"])
    else:
        image = Image.open(str(value))
    return image.convert("RGB")


def image_keys(doc: dict[str, Any]) -> list[str]:
    """The ``inputs`` keys holding images, in prompt order (``image``, or ``image_1``, ``image_2``, ...)."""
    keys = [k for k in doc["inputs"] if k == "image" or k.startswith("image_")]
    return sorted(keys, key=lambda k: int(k.split("_")[1]) if "_" in k else 0)


def doc_to_image(doc: dict[str, Any]) -> list[Image.Image]:
    """The document's images, in the order of its ``<image>`` tags."""
    return [_open(doc["inputs"][k]) for k in image_keys(doc)]


def doc_to_text(doc: dict[str, Any]) -> str:
    """MERA's prompt: the instruction filled with the text inputs (the ``<image>`` tags stay)."""
    inputs = {k: v for k, v in doc["inputs"].items() if k not in image_keys(doc)}
    return doc["instruction"].format(**inputs).strip()
'''

_YAML = """# {comment}
task: {task}
tag: [{tag}]
dataset_path: {loader}
dataset_kwargs:
  data_files:
    shots: "{records}/{task}/shots.{ext}"
    test: "{records}/{task}/test.{ext}"
validation_split: shots
fewshot_split: shots
test_split: test
output_type: generate_until
doc_to_image: !function mm_utils.doc_to_image
doc_to_text: !function mm_utils.doc_to_text
doc_to_target: "{{{{outputs}}}}"
target_delimiter: " "
num_fewshot: 0
generation_kwargs:
  until: ["\\n"]
  do_sample: false
  max_gen_toks: 8
metric_list:
  - metric: exact_match
    aggregation: mean
    higher_is_better: true
    ignore_case: true
    ignore_punctuation: true
metadata:
  version: 1.0
"""

_COMMENTS = {
    "ruclevr": "ruCLEVR (demo): count the figures or name a figure's colour; images as PNG bytes in Parquet.",
    "rucommonvqa": "ruCommonVQA (demo): name the figure drawn; images as PNG files named in the records.",
    "mm_demo_pairs": "Two pictures per document (demo only): which one has more figures.",
}


def default_vlm_tasks_dir() -> Path:
    """The folder :func:`write_vlm_tasks` writes to when no destination is given (under the per-user cache)."""
    return cache_root() / f"demo-mm-tasks-v{_FORMAT}"


def write_vlm_tasks(dest: Union[str, Path, None] = None) -> Path:
    """Write the multimodal demo task folder into ``dest`` and return it (absolute) for ``--include_path``.

    Deterministic and idempotent: the same bytes on every call (files already right are not rewritten, so
    ``datasets``' cache stays valid). Needs Pillow (and pyarrow, which ``datasets`` brings).
    """
    folder = Path(dest if dest is not None else default_vlm_tasks_dir()).expanduser().resolve()
    records_dir = folder / "records"
    quoted = json.dumps(records_dir.as_posix())[1:-1]
    _write_if_changed(folder / "mm_utils.py", _UTILS.encode("utf-8"))
    for task in MM_TASKS:
        parquet = task == "ruclevr"
        text = _YAML.format(comment=_COMMENTS[task], task=task, tag=MM_TAG, records=quoted,
                            loader="parquet" if parquet else "json", ext="parquet" if parquet else "jsonl")
        _write_if_changed(folder / f"{task}.yaml", text.encode("utf-8"))
        for split, size in _SIZES.items():
            rng = random.Random(f"{task}/{split}")
            records = [_record(task, split, i, rng) for i in range(size)]
            if parquet:
                _write_if_changed(records_dir / task / f"{split}.parquet", _parquet_bytes(records))
            else:
                lines = []
                for record in records:
                    for key in [k for k in record["inputs"] if k.startswith("image")]:
                        name = f"{split}_{record['meta']['id']:03d}{key[5:]}.png"
                        _write_if_changed(records_dir / task / "images" / name, record["inputs"][key]["bytes"])
                        record["inputs"][key] = str(records_dir / task / "images" / name)
                    lines.append(json.dumps(record, ensure_ascii=False))
                _write_if_changed(records_dir / task / f"{split}.jsonl", ("\n".join(lines) + "\n").encode("utf-8"))
    return folder


def read_test_records(task: str, folder: Union[str, Path, None] = None) -> list[dict[str, Any]]:
    """The test records of a written multimodal demo task (images as written: bytes or paths)."""
    folder = Path(folder if folder is not None else default_vlm_tasks_dir())
    base = folder / "records" / task
    if (base / "test.parquet").is_file():
        import pyarrow.parquet as pq

        return list(pq.read_table(base / "test.parquet").to_pylist())
    return [json.loads(line) for line in (base / "test.jsonl").read_text(encoding="utf-8").splitlines() if line]


# -- drawing and records ------------------------------------------------------------------------------------------
def _scene(rng: random.Random, count: int) -> list[tuple[str, str, tuple[int, int], int]]:
    """``count`` figures (shape, colour name, centre, radius) in distinct cells of a 3x3 grid."""
    cells = rng.sample(range(9), count)
    figures = []
    for cell in cells:
        cx, cy = 19 + 37 * (cell % 3), 19 + 37 * (cell // 3)
        figures.append((rng.choice(_SHAPES), rng.choice(list(_COLORS)), (cx, cy), rng.randint(10, 15)))
    return figures


def _png(figures: list[tuple[str, str, tuple[int, int], int]]) -> bytes:
    """The figures drawn on a light background, as PNG bytes."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (IMAGE_SIDE, IMAGE_SIDE), (245, 245, 240))
    draw = ImageDraw.Draw(image)
    for shape, colour, (cx, cy), r in figures:
        fill = _COLORS[colour]
        if shape == "круг":
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill)
        elif shape == "квадрат":
            draw.rectangle((cx - r, cy - r, cx + r, cy + r), fill=fill)
        else:
            draw.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=fill)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def _image(task: str, split: str, number: int, figures: list[Any], suffix: str = "") -> dict[str, Any]:
    return {"bytes": _png(figures), "path": f"{task}/{split}_{number:03d}{suffix}.png"}


def _describe(figures: list[Any]) -> str:
    return ", ".join(f"{colour} {shape}" for shape, colour, _, _ in figures)


def _record(task: str, split: str, number: int, rng: random.Random) -> dict[str, Any]:
    """One record of ``task`` in MERA's multimodal format."""
    meta: dict[str, Any] = {"id": number, "categories": {"skill": _CATEGORIES[task]}}
    if task == "ruclevr":
        figures = _scene(rng, rng.randint(1, 4))
        if rng.random() < 0.5:
            question, answer = "Сколько фигур на изображении?", str(len(figures))
        else:
            shape, colour, _, _ = rng.choice(figures)
            question = f"Какого цвета {shape} на изображении?"
            answer = next(c for s, c, _, _ in figures if s == shape)
        inputs = {"image": _image(task, split, number, figures), "question": question}
        instruction = "Изображение:\n<image>\nОтветьте на вопрос по изображению одним словом или числом.\n{question}\nОтвет:"
        meta["image"] = {"synt_source": ["mera-magic"], "source": "generated", "type": ["scene"],
                         "content": [_describe(figures)], "context": "no"}
    elif task == "rucommonvqa":
        figures = _scene(rng, 1)
        question, answer = "Какая фигура изображена на картинке?", figures[0][0]
        inputs = {"image": _image(task, split, number, figures), "question": question}
        instruction = "<image>\n{question} Ответьте одним словом.\nОтвет:"
        meta["image"] = {"synt_source": ["mera-magic"], "source": "generated", "type": ["figure"],
                         "content": [_describe(figures)], "context": "no"}
    else:
        first, second = _scene(rng, rng.randint(1, 4)), _scene(rng, rng.randint(1, 4))
        while len(second) == len(first):
            second = _scene(rng, rng.randint(1, 4))
        question = "На каком изображении больше фигур: на первом или на втором? Ответьте 1 или 2."
        answer = "1" if len(first) > len(second) else "2"
        inputs = {"image_1": _image(task, split, number, first, "_1"),
                  "image_2": _image(task, split, number, second, "_2"), "question": question}
        instruction = "Первое изображение:\n<image>\nВторое изображение:\n<image>\n{question}\nОтвет:"
        meta["image"] = {"synt_source": ["mera-magic"], "source": "generated", "type": ["scene", "scene"],
                         "content": [_describe(first), _describe(second)], "context": "no"}
    return {"instruction": instruction, "inputs": inputs, "outputs": answer, "meta": meta}


def _parquet_bytes(records: list[dict[str, Any]]) -> bytes:
    """Records as Parquet with an explicit schema (the image a ``{bytes, path}`` struct, as in MERA's data)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    image = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    schema = pa.schema([
        ("instruction", pa.string()),
        ("inputs", pa.struct([("image", image), ("question", pa.string())])),
        ("outputs", pa.string()),
        ("meta", pa.struct([
            ("id", pa.int64()),
            ("categories", pa.struct([("skill", pa.string())])),
            ("image", pa.struct([("synt_source", pa.list_(pa.string())), ("source", pa.string()),
                                 ("type", pa.list_(pa.string())), ("content", pa.list_(pa.string())),
                                 ("context", pa.string())])),
        ])),
    ])
    table = pa.Table.from_pylist(records, schema=schema)
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="none")
    return buffer.getvalue()


def corpus_texts() -> list[str]:
    """The prompts and answers of every written record (the VLM tokenizer is trained on them)."""
    texts = []
    for task in MM_TASKS:
        for split, size in _SIZES.items():
            rng = random.Random(f"{task}/{split}")
            for i in range(size):
                record = _record(task, split, i, rng)
                inputs = {k: v for k, v in record["inputs"].items() if not k.startswith("image")}
                texts.append(record["instruction"].format(**inputs) + " " + record["outputs"])
    return texts
