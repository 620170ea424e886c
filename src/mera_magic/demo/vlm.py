"""A tiny LLaVA vision-language model and processor built offline, deterministically, in seconds on a CPU.

For ``--model hf-multimodal`` (and ``vllm-vlm``) runs of the multimodal demo tasks (:mod:`.vlm_tasks`):

* vision: a 2-layer CLIP vision tower (hidden 64, 2 heads), 56 px images in 14 px patches: 16 image tokens;
* language: a 2-layer Llama (hidden 128, 2 heads of 64) over a byte-level BPE tokenizer trained on the demo
  corpus plus the multimodal records, with ``<image>`` as a special token;
* ``LlavaProcessor`` = ``CLIPImageProcessor`` (Pillow only, no torchvision) + that tokenizer, with a chat
  template that places images where lm_eval's ``--apply_chat_template`` puts them.

Random weights (seeded): the answers are noise, the run and its files are real. LLaVA loads with
``AutoModelForImageTextToText`` / ``AutoProcessor`` on transformers 4.4x-4.5x and 5.x alike. Cached like
:func:`mera_magic.demo.build_model` (a folder keyed by the settings, a stamp file written last).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Union

from mera_magic.demo._resources import cache_root
from mera_magic.demo.model import (
    DemoModelError,
    _deterministic_torch,
    _make_tokenizer,
    _portable_tokenizer_config,
    _quiet_transformers,
    cached_build,
)

#: bump when the recipe changes, so cached builds are not reused
_RECIPE = 1
#: the image placeholder token (lm_eval's and LLaVA's)
IMAGE_TOKEN = "<image>"
#: image side the vision tower sees, and its patch size (16 patches: 16 image tokens per image)
IMAGE_SIZE = 56
PATCH_SIZE = 14

#: chat template of the processor: ``<|role|>\n`` then the text and ``<image>`` parts in order, ``</s>\n``
VLM_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>\\n' }}"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}{{ '<image>\\n' }}{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}"
    "{{ '</s>\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}"
)


def build_vlm(path: Union[str, Path, None] = None, *, seed: int = 0) -> Path:
    """Build (or reuse) the tiny LLaVA model and processor; return the folder for ``pretrained=<folder>``.

    ``path`` defaults to ``<cache>/demo-vlm-<key>``. A folder that already holds a complete build with the same
    settings is returned as is. Two builds with the same settings and library versions give identical files.
    """
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise DemoModelError(f"seed must be an integer, got {seed!r}.")
    docs = _documents()
    settings = _settings(docs, seed)
    folder = Path(path).expanduser() if path is not None else cache_root() / f"demo-vlm-{settings['key']}"
    return cached_build(folder, settings, lambda staging: _build_into(staging, docs, seed), "demo VLM")


def _documents() -> list[str]:
    from mera_magic.demo._corpus import documents
    from mera_magic.demo.vlm_tasks import corpus_texts

    return documents() + corpus_texts()


def _settings(docs: list[str], seed: int) -> dict[str, Any]:
    from importlib.metadata import version

    settings: dict[str, Any] = {
        "recipe": _RECIPE,
        "kind": "llava",
        "seed": seed,
        "corpus_sha256": hashlib.sha256("\x00".join(docs).encode("utf-8")).hexdigest(),
        "transformers_major": int(version("transformers").split(".")[0]),
    }
    settings["key"] = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]
    return settings


def _build_into(folder: Path, docs: list[str], seed: int) -> None:
    import torch
    from tokenizers import AddedToken

    with _deterministic_torch(seed), _quiet_transformers():
        tokenizer = _make_tokenizer(docs)
        tokenizer.add_tokens([AddedToken(IMAGE_TOKEN, special=True, normalized=False)])
        tokenizer.chat_template = VLM_CHAT_TEMPLATE
        processor = _make_processor(tokenizer)
        model = _make_model(tokenizer)
        model.eval()
        with torch.no_grad():
            model.save_pretrained(folder)
        processor.save_pretrained(folder)
        # transformers 4.x reads the image processor from its own file (5.x nests it in processor_config.json)
        processor.image_processor.save_pretrained(folder)
    _portable_tokenizer_config(folder)
    for item in folder.iterdir():
        item.chmod(0o644)


def _make_processor(tokenizer: Any) -> Any:
    from transformers import CLIPImageProcessor, LlavaProcessor

    image_processor = CLIPImageProcessor(
        size={"shortest_edge": IMAGE_SIZE},
        crop_size={"height": IMAGE_SIZE, "width": IMAGE_SIZE},
        do_center_crop=True,
        do_convert_rgb=True,
    )
    return LlavaProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        patch_size=PATCH_SIZE,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,
        image_token=IMAGE_TOKEN,
        chat_template=VLM_CHAT_TEMPLATE,
    )


def _make_model(tokenizer: Any) -> Any:
    from transformers import CLIPVisionConfig, LlamaConfig, LlavaConfig, LlavaForConditionalGeneration

    vision = CLIPVisionConfig(
        hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=2,
        image_size=IMAGE_SIZE, patch_size=PATCH_SIZE, projection_dim=64,
    )
    text = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=128, intermediate_size=256, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=2, head_dim=64, max_position_embeddings=2048,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    config = LlavaConfig(
        vision_config=vision, text_config=text,
        image_token_index=tokenizer.convert_tokens_to_ids(IMAGE_TOKEN),
        vision_feature_select_strategy="default", vision_feature_layer=-1,
        image_seq_length=(IMAGE_SIZE // PATCH_SIZE) ** 2,
    )
    model = LlavaForConditionalGeneration(config)
    if model.generation_config is not None:
        model.generation_config.pad_token_id = tokenizer.pad_token_id
        model.generation_config.eos_token_id = tokenizer.eos_token_id
    return model
