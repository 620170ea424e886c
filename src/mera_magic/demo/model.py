"""A tiny Llama-architecture causal LM built offline, deterministically, in seconds on a CPU.

:func:`build_model` trains a byte-level BPE tokenizer on our own small ru+en corpus (see ``_corpus.py``),
initialises a 2-layer Llama (hidden 64, 2 heads of 32, tied embeddings), optionally trains it for a few
hundred AdamW steps on prompts shaped like the demo tasks' (answers weighted up), and saves model and ``PreTrainedTokenizerFast`` (with bos/eos/pad/unk
and a system/user/assistant chat template) with ``save_pretrained``. Nothing is downloaded.

The result is cached: the default folder is keyed by the build settings under the per-user cache
(``$MERA_MAGIC_CACHE`` overrides it), and a folder whose stamp file matches the settings is returned as is.
Two builds with the same settings and library versions give byte-identical files.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterator, Union

from mera_magic.demo._corpus import CHAT_TEMPLATE, ROLES, chat_turn, documents, general_texts, task_examples
from mera_magic.demo._resources import cache_root
from mera_magic.errors import MeraError

#: bump when the recipe changes (architecture, tokenizer, training), so cached builds are not reused
_RECIPE = 1
#: name of the stamp file written last into a complete build
STAMP_NAME = "mera_magic_demo.json"

_VOCAB_SIZE = 1024
_BLOCK = 256
_BATCH = 8
_LEARNING_RATE = 6e-3
_ANSWER_WEIGHT = 10.0
_HINT = "Pass a writable path= or set MERA_MAGIC_CACHE to a writable folder."
_SPECIAL_TOKENS = ("<pad>", "<s>", "</s>", "<unk>") + tuple(f"<|{role}|>" for role in ROLES)


class DemoModelError(MeraError):
    """The demo model could not be built or saved (bad arguments, unwritable folder)."""


def build_model(path: Union[str, Path, None] = None, *, train_steps: int = 300, seed: int = 0) -> Path:
    """Build (or reuse) the tiny demo model and return its folder, ready for ``--model_args pretrained=<folder>``.

    ``path`` defaults to ``<cache>/demo-model-<key>``, the key being a hash of the settings, the recipe, the
    training text and the transformers major version. ``train_steps`` AdamW steps (0 = untrained, random
    weights) on the demo corpus; ``seed`` seeds everything. If ``path`` already holds a complete build with the
    same settings (its stamp file says so and every listed file is intact), it is returned without rebuilding.
    The build runs single-threaded with deterministic algorithms and its own RNG state; the caller's thread
    count, determinism setting and RNG state are restored afterwards.
    """
    if not isinstance(train_steps, int) or isinstance(train_steps, bool) or train_steps < 0:
        raise DemoModelError(f"train_steps must be a non-negative integer, got {train_steps!r}.")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise DemoModelError(f"seed must be an integer, got {seed!r}.")
    docs = documents()
    settings = _settings(docs, train_steps=train_steps, seed=seed)
    folder = Path(path).expanduser() if path is not None else cache_root() / f"demo-model-{settings['key']}"
    return cached_build(folder, settings, lambda staging: _build_into(staging, docs, train_steps=train_steps, seed=seed),
                        "demo model")


def cached_build(folder: Path, settings: dict[str, Any], build: Callable[[Path], None], what: str) -> Path:
    """``folder`` holding what ``build(staging)`` writes, made at most once per ``settings``: a complete earlier
    build is returned as is; otherwise the build goes to a staging folder beside it, is stamped with ``settings``
    and the files' digests, and is moved into place whole (a half-written folder is never returned)."""
    folder = folder.resolve()
    if is_complete(folder, settings):
        return folder
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.build-", dir=folder.parent))
        staging.chmod(0o755)
    except OSError as err:
        raise DemoModelError(f"Cannot create the {what} folder {folder}: {err}.", hint=_HINT) from err
    try:
        build(staging)
        _write_stamp(staging, settings)
        _install(staging, folder, settings)
    except OSError as err:
        raise DemoModelError(f"Cannot write the {what} into {folder}: {err}.", hint=_HINT) from err
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def is_complete(folder: Path, settings: dict[str, Any]) -> bool:
    """True when ``folder`` holds a finished build made with ``settings`` whose files are all intact."""
    try:
        stamp = json.loads((folder / STAMP_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(stamp, dict) or stamp.get("settings") != settings:
        return False
    files = stamp.get("files")
    if not isinstance(files, dict) or not files:
        return False
    return all(
        (folder / name).is_file() and _sha256(folder / name) == digest for name, digest in files.items()
    )


def _settings(docs: list[str], *, train_steps: int, seed: int) -> dict[str, Any]:
    """What a build depends on, with ``key``: a short hash of everything else."""
    from importlib.metadata import version

    corpus_hash = hashlib.sha256("\x00".join(docs).encode("utf-8")).hexdigest()
    settings: dict[str, Any] = {
        "recipe": _RECIPE,
        "train_steps": train_steps,
        "seed": seed,
        "corpus_sha256": corpus_hash,
        "transformers_major": int(version("transformers").split(".")[0]),
    }
    settings["key"] = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]
    return settings


def _build_into(folder: Path, docs: list[str], *, train_steps: int, seed: int) -> None:
    """Train the tokenizer, build and train the model, and save both into ``folder``."""
    import torch

    with _deterministic_torch(seed), _quiet_transformers():
        tokenizer = _make_tokenizer(docs)
        model = _make_model(tokenizer)
        if train_steps:
            _train(model, tokenizer, steps=train_steps, seed=seed)
        model.eval()
        with torch.no_grad():
            model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
    _portable_tokenizer_config(folder)
    for item in folder.iterdir():
        item.chmod(0o644)


@contextlib.contextmanager
def _quiet_transformers() -> Iterator[None]:
    """No transformers progress bars ("Writing model shards") during the build; restored afterwards."""
    from transformers.utils import logging as hf_logging

    enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            hf_logging.enable_progress_bar()


@contextlib.contextmanager
def _deterministic_torch(seed: int) -> Iterator[None]:
    """Seeded, single-threaded, deterministic torch for the build; restores the caller's settings after."""
    import torch

    threads = torch.get_num_threads()
    deterministic = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        torch.set_num_threads(1)
        torch.use_deterministic_algorithms(True)
        try:
            yield
        finally:
            torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)
            torch.set_num_threads(threads)


def _make_tokenizer(docs: list[str]) -> Any:
    """A byte-level BPE ``PreTrainedTokenizerFast`` trained on ``docs`` (digits split one by one)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE(unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)]
    )
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=_VOCAB_SIZE,
        special_tokens=list(_SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(docs, trainer=trainer)
    bos_id = backend.token_to_id("<s>")
    backend.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", bos_id)]
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
        model_max_length=2048,
        model_input_names=["input_ids", "attention_mask"],
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def _make_model(tokenizer: Any) -> Any:
    """A randomly initialised 2-layer Llama sized for ``tokenizer`` (head_dim 32, so vLLM-CPU can serve it)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=192,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = LlamaForCausalLM(config)
    if model.generation_config is not None:  # typed Optional in transformers 4.x
        model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model


def _train(model: Any, tokenizer: Any, *, steps: int, seed: int) -> None:
    """``steps`` AdamW steps on episodes shaped like the demo tasks' prompts (see :func:`_episode`)."""
    import torch

    rng = random.Random(seed)
    general = [_encode(tokenizer, text) + [tokenizer.eos_token_id] for text in general_texts()]
    encoded = _EncodedExamples(tokenizer, task_examples())
    optimizer = torch.optim.AdamW(model.parameters(), lr=_LEARNING_RATE, weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0 - step / (steps + 1))
    model.train()
    for _ in range(steps):
        batch = [_episode(rng, general, encoded) for _ in range(_BATCH)]
        length = max(len(ids) for ids, _ in batch)
        input_ids = torch.full((_BATCH, length), tokenizer.pad_token_id, dtype=torch.long)
        weights = torch.zeros((_BATCH, length))
        for row, (ids, token_weights) in enumerate(batch):
            input_ids[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
            weights[row, : len(ids)] = torch.tensor(token_weights)
        logits = model(input_ids=input_ids).logits[:, :-1]
        losses = torch.nn.functional.cross_entropy(
            logits.reshape(-1, logits.size(-1)), input_ids[:, 1:].reshape(-1), reduction="none"
        )
        target_weights = weights[:, 1:].reshape(-1)
        loss = (losses * target_weights).sum() / target_weights.sum()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()


class _EncodedExamples:
    """The task examples as (context ids, answer ids) pairs, in plain form (as few-shot prompts join them)
    and in chat form."""

    def __init__(self, tokenizer: Any, examples: dict[str, list[tuple[str, str]]]) -> None:
        self.datasets = sorted(examples)
        self.plain: dict[str, list[tuple[list[int], list[int]]]] = {}
        self.chat: dict[str, list[tuple[list[int], list[int]]]] = {}
        for dataset in self.datasets:
            pairs = examples[dataset]
            self.plain[dataset] = [(_encode(tokenizer, p), _encode(tokenizer, f" {a}\n\n")) for p, a in pairs]
            chat = [chat_turn(p, a) for p, a in pairs]
            self.chat[dataset] = [(_encode(tokenizer, c), _encode(tokenizer, r)) for c, r in chat]


def _episode(
    rng: random.Random, general: list[list[int]], encoded: _EncodedExamples
) -> tuple[list[int], list[float]]:
    """One training sequence and its per-token loss weights.

    Mostly a task record (prompt + answer, 30 % in chat form), the answer tokens weighted ``_ANSWER_WEIGHT``
    so that the few hundred steps go to the answers; SimpleAr records get 0-2 shots before them as its
    2-shot prompts do; sometimes a line of general text.
    """
    if rng.random() < 0.15:
        line = rng.choice(general)
        return line[:_BLOCK], [1.0] * min(len(line), _BLOCK)
    dataset = rng.choice(encoded.datasets)
    pool = encoded.chat[dataset] if rng.random() < 0.3 else encoded.plain[dataset]
    index = rng.randrange(len(pool))
    shots = rng.randint(0, 2) if dataset == "simplear" else 0
    chosen = rng.sample([i for i in range(len(pool)) if i != index], shots) + [index]
    ids: list[int] = []
    weights: list[float] = []
    for i in chosen:
        context, answer = pool[i]
        ids += context + answer
        weights += [1.0] * len(context) + [_ANSWER_WEIGHT] * len(answer)
    return ids[:_BLOCK], weights[:_BLOCK]


def _encode(tokenizer: Any, text: str) -> list[int]:
    """Token ids of ``text`` without special tokens added around it."""
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def _portable_tokenizer_config(folder: Path) -> None:
    """Name the tokenizer class ``PreTrainedTokenizerFast``, which transformers 4.x and 5.x both load.

    transformers 5 writes ``TokenizersBackend``, a class transformers 4 does not know.
    """
    config_path = folder / "tokenizer_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    if config.get("tokenizer_class") != "PreTrainedTokenizerFast":
        config["tokenizer_class"] = "PreTrainedTokenizerFast"
        config_path.write_text(
            json.dumps(config, indent=2, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8"
        )


def _write_stamp(folder: Path, settings: dict[str, Any]) -> None:
    """Record the settings and every file's sha256; written last, it marks the build complete."""
    import tokenizers
    import torch
    import transformers

    files = {p.name: _sha256(p) for p in sorted(folder.iterdir()) if p.is_file() and p.name != STAMP_NAME}
    stamp = {
        "settings": settings,
        "versions": {
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "tokenizers": tokenizers.__version__,
        },
        "files": files,
    }
    (folder / STAMP_NAME).write_text(json.dumps(stamp, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _install(staging: Path, folder: Path, settings: dict[str, Any]) -> None:
    """Move a finished build from ``staging`` to ``folder`` (a rename when ``folder`` does not exist yet)."""
    if not folder.exists():
        try:
            staging.rename(folder)
            return
        except OSError:
            if is_complete(folder, settings):  # another process finished the same build first
                return
    folder.mkdir(parents=True, exist_ok=True)
    (folder / STAMP_NAME).unlink(missing_ok=True)
    for item in sorted(staging.iterdir()):
        if item.name != STAMP_NAME:
            os.replace(item, folder / item.name)
    os.replace(staging / STAMP_NAME, folder / STAMP_NAME)


def _sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()
