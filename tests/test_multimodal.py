"""Multimodal end to end: ``%%mera`` runs ``hf-multimodal`` in-process on the tiny demo LLaVA and the multimodal
demo tasks, through a real IPython shell, with the real lm_eval; the result's view shows each document's images.

Skipped (as a whole) on an lm_eval without hf-multimodal (0.4.4: it came with 0.4.5).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell

from mera_magic import demo
from mera_magic.display.media import MediaResolver, thumbnail
from mera_magic.errors import CheckError
from mera_magic.lmeval.backends import backend_names
from mera_magic.lmeval.install import version_tuple
from mera_magic.results.model import RunResult

pytestmark = pytest.mark.skipif(
    "hf-multimodal" not in backend_names(),
    reason=f"lm_eval {version_tuple()} has no hf-multimodal backend (it came with 0.4.5)")


@pytest.fixture(scope="module")
def ip() -> InteractiveShell:
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "mera_magic")
    return shell


@pytest.fixture(scope="module")
def mm_tasks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo.write_vlm_tasks(tmp_path_factory.mktemp("mm_tasks"))


@pytest.fixture(scope="module")
def mm_run(ip: InteractiveShell, mm_tasks: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    """One real run of every multimodal demo task (18 documents, about half a minute on a CPU)."""
    vlm = demo.build_vlm()
    out = tmp_path_factory.mktemp("mm_out")
    cell = (f"%%mera -o mm_result\nTOKENIZERS_PARALLELISM=false lm_eval --model hf-multimodal \\\n"
            f"  --model_args pretrained={vlm},max_images=2,dtype=float32 --device cpu --batch_size 2 \\\n"
            f"  --include_path {mm_tasks} --tasks mera_mm_demo --apply_chat_template \\\n"
            f"  --output_path {out} --log_samples --seed 1234")
    executed = ip.run_cell(cell)
    assert executed.error_in_exec is None, executed.error_in_exec
    return ip.user_ns["mm_result"], out


def test_hf_multimodal_runs_in_process_end_to_end(mm_run: tuple[Any, Path]) -> None:
    result, out = mm_run
    assert isinstance(result, RunResult)
    assert set(result.tasks) >= set(demo.MM_TASKS)
    metrics = result.metrics
    assert set(metrics[metrics["metric"] == "exact_match"]["task"]) >= set(demo.MM_TASKS)
    files = sorted(p.name for p in out.rglob("samples_*.jsonl"))
    assert [re.sub(r"_\d{4}-.*", "", f) for f in files] == [f"samples_{t}" for t in sorted(demo.MM_TASKS)]
    # what lm_eval logged for the images: their hashes, as many as each document carries
    for path in out.rglob("samples_*.jsonl"):
        task = re.sub(r"^samples_|_\d{4}-.*$", "", path.name)
        lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        assert len(lines) == 6
        visual = lines[0]["arguments"]["gen_args_0"]["arg_2"]["visual"]
        assert len(visual) == demo.vlm_tasks.IMAGES_PER_DOC[task]
        assert all(re.fullmatch(r"[0-9a-f]{64}", v) for v in visual)


def _page(result: RunResult, task: str) -> str:
    from mera_magic.display.browser import SamplesBrowser

    browser = SamplesBrowser(result)
    browser.task.value = task
    return browser.pager.text


def test_the_results_view_shows_each_documents_images(mm_run: tuple[Any, Path], mm_tasks: Path) -> None:
    result, _ = mm_run
    for task in demo.MM_TASKS:
        page = _page(result, task)
        thumbs = re.findall(r'<img src="(data:image/[^"]+)"', page)
        assert len(thumbs) == 6 * demo.vlm_tasks.IMAGES_PER_DOC[task], task  # every document of the page
        records = demo.vlm_tasks.read_test_records(task, mm_tasks)
        first = records[0]["inputs"]
        key = "image" if "image" in first else "image_1"
        data = first[key]["bytes"] if isinstance(first[key], dict) else Path(first[key]).read_bytes()
        assert thumbs[0] == thumbnail(data)  # the document's own picture
        assert "<th>question</th>" in page and "<th>target</th>" in page and "<th>answer</th>" in page
        assert records[0]["inputs"]["question"] in page
        assert f"<pre>{records[0]['outputs']}</pre>" in page
        assert len(page) < 60_000  # one page with its thumbnails stays small in a saved notebook


def test_hashed_images_are_found_in_the_data_set_only_for_the_same_document(mm_run: tuple[Any, Path]) -> None:
    result, _ = mm_run
    rows = result.source("ruclevr").head(2)
    logged = rows[0]["doc"]["inputs"]["image"]
    assert re.fullmatch(r"[0-9a-f]{64}", logged["bytes"])  # the samples file holds a hash, not the picture
    resolver = MediaResolver(result)
    assert resolver.media("ruclevr", rows[0])[0].found
    other = dict(rows[0], doc_id=1)  # doc 1 of the data set is not this document
    assert not resolver.media("ruclevr", other)[0].found


def test_a_multimodal_check_fails_the_cell_before_loading(ip: InteractiveShell, mm_tasks: Path, english: None,
                                                          demo_model: Path) -> None:
    executed = ip.run_cell(f"%%mera\nlm_eval --model hf --model_args pretrained={demo_model} --include_path {mm_tasks} "
                           "--tasks ruclevr")
    assert isinstance(executed.error_in_exec, CheckError)
    assert "text-only backend" in str(executed.error_in_exec) and "hf-multimodal" in str(executed.error_in_exec)
    assert ip.run_cell("1 + 1").result == 2


def test_images_of_a_hub_data_set_not_in_the_cache_are_said_missing(
        mm_run: tuple[Any, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    import datasets

    from mera_magic.results import load

    _, out = mm_run
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    results = next(copy.rglob("results_*.json"))
    raw = json.loads(results.read_text(encoding="utf-8"))
    raw["configs"]["ruclevr"].update(dataset_path="MERA-evaluation/ruCLEVR", dataset_kwargs={})
    results.write_text(json.dumps(raw), encoding="utf-8")
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", False)  # as in a kernel that is online
    page = _page(load(copy), "ruclevr")
    assert "<img" not in page and "only its hash" in page
    assert "could not be loaded here" in page
    assert datasets.config.HF_HUB_OFFLINE is False  # the lookup went offline for itself only
