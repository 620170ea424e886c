"""The images, sound and video of a samples page: small thumbnails inline, players or clear placeholders.

lm_eval does not keep media in its samples files: with its default ``LMEVAL_HASHMM`` an image becomes the
sha256 of its PNG, bytes become a hash, and only a path string survives as it is. So each document's media are
looked for, in order:

1. in the logged document itself (``doc.inputs.image``, ``image_1``, ``audio``, ``video``, ...): a path to a file
   that exists, a ``data:`` URL, ``{"bytes", "path"}`` with real bytes or an existing path, MERA's
   ``LOAD_FILES`` shape ``{"type": "image", "image": path}``, decoded audio ``{"array", "sampling_rate"}``;
2. in the task's data set, by ``doc_id``: loaded once per task from the run's own task config (``dataset_path``,
   ``dataset_name``, ``dataset_kwargs``, ``test_split``; a hub data set from the local cache only, never
   downloaded),
   and only used when the record found there is the logged one (same ``meta.id`` / instruction).

What cannot be found is said in place ("only its hash is in the samples file ..."). Thumbnails are at most
:data:`THUMB_SIDE` pixels and :data:`THUMB_MAX_BYTES` bytes (PNG, or JPEG when smaller), and a page embeds at most
:data:`PAGE_BUDGET` bytes of media, so a notebook saved with the page stays small; audio and video are embedded
as players only when small, otherwise named with their size.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import io
import re
import struct
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from .html import answer_cell, collapsible, correct_cell, esc, missing, table

if TYPE_CHECKING:
    from ..results.model import RunResult

#: longest side of a thumbnail, in pixels
THUMB_SIDE = 96
#: most bytes one thumbnail may take (before base64)
THUMB_MAX_BYTES = 12_000
#: most bytes of embedded media (thumbnails, players) in one rendered page
PAGE_BUDGET = 256_000
#: largest audio or video clip embedded as a player
PLAYER_MAX_BYTES = 120_000
#: largest media file read from disk
FILE_MAX_BYTES = 50_000_000

_KINDS = ("image", "audio", "video")
_EXTENSIONS = {
    "image": {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff"},
    "audio": {".wav", ".mp3", ".flac", ".ogg", ".m4a"},
    "video": {".mp4", ".webm", ".mov", ".avi", ".mkv"},
}
_AUDIO_MIME = {".wav": "audio/wav", ".mp3": "audio/mpeg", ".flac": "audio/flac", ".ogg": "audio/ogg",
               ".m4a": "audio/mp4"}
_VIDEO_MIME = {".mp4": "video/mp4", ".webm": "video/webm", ".mov": "video/quicktime", ".avi": "video/x-msvideo",
               ".mkv": "video/x-matroska"}
_HASH = re.compile(r"[0-9a-f]{32,128}")
_DATA_URL = re.compile(r"data:(?P<mime>[\w.+-]+/[\w.+-]+);base64,(?P<data>.*)", re.S)


@dataclass
class MediaItem:
    """One image, audio or video of a document: its bytes when found, else why not."""

    kind: str
    #: where it sits in the document, e.g. ``inputs.image_1``
    key: str
    data: bytes | None = None
    mime: str = ""
    #: a file it was read from, or the path the document names
    path: str | None = None
    #: the hash lm_eval logged instead of the media
    digest: str | None = None

    @property
    def found(self) -> bool:
        """True when the bytes are at hand."""
        return self.data is not None


def media_kind(key: str) -> str | None:
    """``image``/``audio``/``video`` for MERA's media field names (``image``, ``image_2``, ``audio``, ...)."""
    base = key.split(".")[-1].lower()
    for kind in _KINDS:
        if base == kind or re.fullmatch(rf"{kind}s?_?\d*", base):
            return kind
    return None


def find_media(doc: Any) -> list[MediaItem]:
    """The media fields of a document (``inputs.*`` first, then top-level ones), resolved where possible."""
    if not isinstance(doc, dict):
        return []
    items: list[MediaItem] = []
    places = [("inputs.", doc["inputs"])] if isinstance(doc.get("inputs"), dict) else []
    places.append(("", doc))
    for prefix, mapping in places:
        for key in sorted(mapping, key=_field_order):
            kind = media_kind(str(key))
            if kind is None:
                continue
            value = mapping[key]
            values = value if isinstance(value, list) else [value]
            for number, one in enumerate(values):
                name = f"{prefix}{key}" + (f"[{number}]" if len(values) > 1 else "")
                items.append(_resolve(kind, name, one))
    return items


def _field_order(key: Any) -> tuple[str, int]:
    match = re.fullmatch(r"(\D+?)_?(\d+)", str(key))
    return (match.group(1), int(match.group(2))) if match else (str(key), 0)


def _resolve(kind: str, key: str, value: Any) -> MediaItem:
    item = MediaItem(kind, key)
    if isinstance(value, (bytes, bytearray)):
        item.data = bytes(value)
        return item
    if _is_pil(value):
        buffer = io.BytesIO()
        value.save(buffer, format="PNG")
        item.data, item.mime = buffer.getvalue(), "image/png"
        return item
    if isinstance(value, dict):
        if kind == "audio" and "array" in value and "sampling_rate" in value:
            item.data, item.mime = _wav(value["array"], value["sampling_rate"]), "audio/wav"
            return item
        raw = value.get("bytes")
        if isinstance(raw, (bytes, bytearray)) and raw:
            item.data, item.path = bytes(raw), value.get("path")
            return item
        if isinstance(raw, str) and _HASH.fullmatch(raw):
            item.digest = raw
        for field in ("url", "path", kind):
            inner = value.get(field)
            if isinstance(inner, str) and inner:
                resolved = _resolve(kind, key, inner)
                if resolved.found:
                    return resolved
                item.path = item.path or resolved.path
                item.digest = item.digest or resolved.digest
        return item
    if isinstance(value, str):
        match = _DATA_URL.match(value)
        if match:
            try:
                item.data, item.mime = base64.b64decode(match.group("data")), match.group("mime")
            except (binascii.Error, ValueError):
                pass
            return item
        if _HASH.fullmatch(value):
            item.digest = value
            return item
        item.path = value
        path = Path(value).expanduser()
        if path.suffix.lower() in set().union(*_EXTENSIONS.values()) and path.is_file():
            if path.stat().st_size <= FILE_MAX_BYTES:
                item.data = path.read_bytes()
            item.mime = _AUDIO_MIME.get(path.suffix.lower()) or _VIDEO_MIME.get(path.suffix.lower(), "")
    return item


def _is_pil(value: Any) -> bool:
    return type(value).__module__.startswith("PIL.") and hasattr(value, "save")


def _wav(array: Any, rate: Any) -> bytes:
    """Mono 16-bit WAV of float samples in [-1, 1] (what ``datasets`` decodes audio to)."""
    samples = [float(x) for x in (array.tolist() if hasattr(array, "tolist") else array)]
    if samples and isinstance(samples[0], list):  # several channels: keep the first
        samples = [float(x[0]) for x in samples]  # type: ignore[index]
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(int(rate))
        out.writeframes(b"".join(struct.pack("<h", int(max(-1.0, min(1.0, s)) * 32767)) for s in samples))
    return buffer.getvalue()


def thumbnail(data: bytes, side: int = THUMB_SIDE, max_bytes: int = THUMB_MAX_BYTES) -> str | None:
    """A ``data:`` URL of the image scaled to at most ``side`` pixels and ``max_bytes`` bytes; None if unreadable."""
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow comes with the multimodal extra
        return None
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except Exception:  # noqa: BLE001 - any undecodable bytes
        return None
    base = image.convert("RGBA" if image.mode in ("RGBA", "LA", "P") else "RGB")
    while side >= 16:
        small = base.copy()
        small.thumbnail((side, side))
        for fmt, options in (("PNG", {"optimize": True}), ("JPEG", {"quality": 75}), ("JPEG", {"quality": 50})):
            buffer = io.BytesIO()
            (small.convert("RGB") if fmt == "JPEG" else small).save(buffer, format=fmt, **options)
            if buffer.tell() <= max_bytes:
                encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
                return f"data:image/{fmt.lower()};base64,{encoded}"
        side //= 2
    return None


class _Budget:
    def __init__(self, total: int) -> None:
        self.left = total

    def take(self, size: int) -> bool:
        if size > self.left:
            return False
        self.left -= size
        return True


def _size(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB" if n >= 1_000_000 else f"{max(n // 1000, 1)} kB"


def media_html(items: list[MediaItem], budget: _Budget | None = None) -> str:
    """The media of one document: thumbnails, players or placeholders, each labelled with its field."""
    budget = budget or _Budget(PAGE_BUDGET)
    parts = []
    for item in items:
        label = esc(item.key)
        if item.data is None:
            parts.append(f'<div class="ns">{esc(item.kind)} {label}: {esc(_why_missing(item))}</div>')
            continue
        if item.kind == "image":
            uri = thumbnail(item.data)
            if uri is None:
                parts.append(f'<div class="ns">image {label}: not a readable image ({_size(len(item.data))}).</div>')
            elif not budget.take(len(uri)):
                parts.append(f'<div class="ns">image {label}: left out to keep the saved notebook small.</div>')
            else:
                parts.append(f'<img src="{uri}" alt="{label}" title="{label}" '
                             f'style="max-width:{THUMB_SIDE}px;max-height:{THUMB_SIDE}px;margin:2px;'
                             'border:1px solid #ccc;image-rendering:auto">')
            continue
        mime = item.mime or ("audio/wav" if item.kind == "audio" else "video/mp4")
        tag = "audio" if item.kind == "audio" else "video"
        if len(item.data) <= PLAYER_MAX_BYTES and budget.take(len(item.data) * 4 // 3 + 64):
            encoded = base64.b64encode(item.data).decode("ascii")
            size = ' style="max-width:240px"' if tag == "video" else ""
            parts.append(f'<div><{tag} controls preload="none" title="{label}"{size} '
                         f'src="data:{esc(mime)};base64,{encoded}"></{tag}></div>')
        else:
            where = f" ({esc(item.path)})" if item.path else ""
            parts.append(f'<div class="ns">{"🔊" if tag == "audio" else "🎞"} {tag} {label}{where}, '
                         f"{_size(len(item.data))}: too large to embed in the notebook.</div>")
    return "".join(parts)


def _why_missing(item: MediaItem) -> str:
    if item.digest:
        return (f"only its hash ({item.digest[:12]}…) is in the samples file, and the task's data set is not at "
                "hand to look it up.")
    if item.path:
        return f"{item.path} is not a file here."
    return "not stored in the samples file."


class MediaResolver:
    """Finds the media of a run's documents (in the logged document, else in the task's data set by doc_id)."""

    def __init__(self, result: RunResult) -> None:
        self.result = result
        self._datasets: dict[str, Any] = {}
        self._errors: dict[str, str] = {}

    def media(self, task: str, row: dict[str, Any]) -> list[MediaItem]:
        """The media of one samples row of ``task``."""
        items = find_media(row.get("doc"))
        if not items or all(i.found for i in items):
            return items
        record = self._record(task, row)
        if record is None:
            return items
        again = {i.key: i for i in find_media(record)}
        return [i if i.found or i.key not in again or not again[i.key].found else again[i.key] for i in items]

    def _record(self, task: str, row: dict[str, Any]) -> Any:
        dataset = self._dataset(task)
        doc_id = row.get("doc_id")
        if dataset is None or not isinstance(doc_id, int) or not 0 <= doc_id < len(dataset):
            return None
        record = dataset[doc_id]
        return record if _same_document(record, row.get("doc")) else None

    def _dataset(self, task: str) -> Any:
        if task in self._datasets or task in self._errors:
            return self._datasets.get(task)
        config = (self.result.task_configs or {}).get(task) or {}
        path = config.get("dataset_path")
        if not path:
            self._errors[task] = "no dataset_path in the run's task config"
            return None
        try:
            import datasets

            with _offline(local=str(path) in _LOCAL_LOADERS or Path(str(path)).expanduser().exists()):
                loaded = datasets.load_dataset(path, config.get("dataset_name"), **(config.get("dataset_kwargs") or {}))
            self._datasets[task] = loaded[config.get("test_split") or "test"]
        except Exception as exc:  # noqa: BLE001 - offline, not cached, renamed: say so in place, never fail the page
            self._errors[task] = f"{type(exc).__name__}: {exc}"
            return None
        return self._datasets[task]

    def samples_table(self, rows: list[dict[str, Any]], task: str | None) -> str | None:
        """A page of samples with each document's media, question, answer and target; None when no row of the
        page has media fields (then the plain samples table is the right view)."""
        if not task or not any(find_media(r.get("doc")) for r in rows):
            return None
        budget = _Budget(PAGE_BUDGET)
        out = []
        for row in rows:
            question = _question(row.get("doc"))
            prompt = collapsible(row.get("prompt"))
            out.append([
                esc(row.get("doc_id")),
                media_html(self.media(task, row), budget) or '<span class="na">—</span>',
                (f"<div>{esc(question)}</div>" if question else "") + prompt,
                answer_cell(row),
                "<pre>" + esc(row.get("target")) + "</pre>" if not missing(row.get("target")) else
                '<span class="na">—</span>',
                correct_cell(row.get("correct")),
            ])
        note = ""
        if task in self._errors:
            note = (f'<p class="ns">The media of {esc(task)} were looked up in its data set, which could not be '
                    f"loaded here: {esc(self._errors[task][:300])}</p>")
        return note + table(["doc", "media", "question", "answer", "target", "✓"], out,
                            ["num", "", "", "", "", ""])


#: ``datasets`` loaders that read local files only
_LOCAL_LOADERS = {"json", "parquet", "csv", "text", "arrow", "imagefolder", "audiofolder", "videofolder"}


@contextlib.contextmanager
def _offline(local: bool) -> Iterator[None]:
    """Hub data sets are looked up in the local cache only (browsing a page never downloads a data set)."""
    if local:
        yield
        return
    import sys

    saved: list[tuple[Any, Any]] = []
    for module_name in ("datasets.config", "huggingface_hub.constants"):
        module: Any = sys.modules.get(module_name)
        if module is not None and hasattr(module, "HF_HUB_OFFLINE"):
            saved.append((module, module.HF_HUB_OFFLINE))
            module.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        for module, value in saved:
            module.HF_HUB_OFFLINE = value


def _question(doc: Any) -> str:
    if isinstance(doc, dict) and isinstance(doc.get("inputs"), dict):
        value = doc["inputs"].get("question") or doc["inputs"].get("text")
        return str(value) if value else ""
    return ""


def _same_document(record: Any, doc: Any) -> bool:
    """The data-set record is the logged document: same ``meta.id`` and instruction where both have them."""
    if not isinstance(record, dict) or not isinstance(doc, dict):
        return False
    for get in (lambda d: (d.get("meta") or {}).get("id") if isinstance(d.get("meta"), dict) else None,
                lambda d: d.get("instruction")):
        a, b = get(record), get(doc)
        if a is not None and b is not None and a != b:
            return False
    return True
