"""mera_magic.display.media: each document's images, audio and video found, thumbnailed and bounded in size.

Documents here are shaped as lm_eval logs them (hash instead of bytes, paths kept) and as MERA's data sets hold
them (``{"bytes", "path"}``, decoded audio); the images are the multimodal demo's own. The lookup in a task's
data set by doc_id is tested on a real run in tests/test_multimodal.py.
"""

from __future__ import annotations

import base64
import io
import math
import random
import re
from pathlib import Path

import pytest

from mera_magic import demo
from mera_magic.display.media import (
    PAGE_BUDGET,
    PLAYER_MAX_BYTES,
    THUMB_MAX_BYTES,
    THUMB_SIDE,
    find_media,
    media_html,
    media_kind,
    thumbnail,
)

PIL = pytest.importorskip("PIL.Image")


@pytest.fixture(scope="module")
def mm_tasks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo.write_vlm_tasks(tmp_path_factory.mktemp("mm_tasks"))


def png_bytes(side: int = 64, noise: bool = False) -> bytes:
    image = PIL.new("RGB", (side, side), (200, 30, 30))
    if noise:
        rng = random.Random(0)
        image.putdata([(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(side * side)])
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def decoded(uri: str) -> PIL.Image:
    return PIL.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))


def test_media_field_names() -> None:
    assert [media_kind(k) for k in ("image", "image_2", "images", "audio", "video", "question", "imagery")] == [
        "image", "image", "image", "audio", "video", None, None]


def test_every_way_a_document_holds_an_image(mm_tasks: Path) -> None:
    record = demo.vlm_tasks.read_test_records("rucommonvqa", mm_tasks)[0]
    path = record["inputs"]["image"]  # the JSONL records name a file
    data = Path(path).read_bytes()
    uri = "data:image/png;base64," + base64.b64encode(data).decode()
    doc = {"inputs": {"image": path, "image_2": {"bytes": data, "path": "x.png"}, "image_3": {"url": uri},
                      "image_4": {"type": "image", "image": path}, "question": "?"}}
    items = find_media(doc)
    assert [i.key for i in items] == ["inputs.image", "inputs.image_2", "inputs.image_3", "inputs.image_4"]
    assert all(i.found and i.data == data for i in items)


def test_what_lm_eval_logs_instead_of_an_image_is_said() -> None:
    digest = "a" * 64
    items = find_media({"inputs": {"image": {"bytes": digest, "path": "ruclevr/test_000.png"}, "question": "?"}})
    assert len(items) == 1 and not items[0].found and items[0].digest == digest
    html = media_html(items)
    assert "only its hash (aaaaaaaaaaaa…)" in html and "<img" not in html
    gone = media_html(find_media({"inputs": {"image": "/no/such/picture.png"}}))
    assert "/no/such/picture.png is not a file here" in gone


def test_thumbnails_are_small(mm_tasks: Path) -> None:
    for data in (png_bytes(1000, noise=True), png_bytes(20)):
        uri = thumbnail(data)
        assert uri is not None and uri.startswith("data:image/")
        assert len(base64.b64decode(uri.split(",", 1)[1])) <= THUMB_MAX_BYTES
        assert max(decoded(uri).size) <= THUMB_SIDE
    assert thumbnail(b"not an image") is None


def test_a_page_embeds_at_most_its_budget() -> None:
    items = find_media({"inputs": {f"image_{i}": {"bytes": png_bytes(200, noise=True), "path": ""}
                                   for i in range(1, 80)}})
    html = media_html(items)
    embedded = re.findall(r'src="(data:[^"]+)"', html)
    assert 0 < len(embedded) < len(items)
    assert sum(len(u) for u in embedded) <= PAGE_BUDGET
    assert "left out to keep the saved notebook small" in html


def test_audio_becomes_a_player_or_a_placeholder() -> None:
    rate = 8000
    tone = [0.5 * math.sin(2 * math.pi * 440 * t / rate) for t in range(rate // 4)]  # 0.25 s
    short = media_html(find_media({"inputs": {"audio": {"array": tone, "sampling_rate": rate}}}))
    assert '<audio controls' in short and "data:audio/wav;base64," in short
    player = re.search(r'src="data:audio/wav;base64,([^"]+)"', short)
    assert player is not None
    import wave

    with wave.open(io.BytesIO(base64.b64decode(player.group(1)))) as clip:
        assert clip.getframerate() == rate and clip.getnframes() == len(tone)
    long = media_html(find_media({"inputs": {"audio": {"array": tone * 40, "sampling_rate": rate}}}))
    assert "<audio" not in long and "too large to embed" in long and len(long) < 1000
    assert len(tone * 40) * 2 > PLAYER_MAX_BYTES


def test_video_file_is_named_with_its_size(tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\x00" * (PLAYER_MAX_BYTES + 1))
    html = media_html(find_media({"inputs": {"video": str(clip)}}))
    assert "<video" not in html and str(clip) in html and "too large to embed" in html
    small = tmp_path / "small.mp4"
    small.write_bytes(b"\x00" * 100)
    assert '<video controls' in media_html(find_media({"inputs": {"video": str(small)}}))
