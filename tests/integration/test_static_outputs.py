"""Results that outlive the kernel: the quickstart in a real JupyterLab, driven in headless Chromium (no network).

The test runs ``examples/quickstart.ipynb`` top to bottom, works r1's samples browser (picks ``simplear``, goes
to page 2), saves, shuts the kernel down and reloads the page: the metrics table, the samples page last viewed
and the comparison must be on the page, and no "Error displaying widget" may be visible (the controls' widget
models are gone: the notebook was saved without widget state, JupyterLab's default).  Then
``jupyter nbconvert --to html`` of that saved notebook (nothing fetched from a network) must hold the same
content, and the saved notebook stays under 1 MB.  Screenshots go to ``artifacts/browser/static-*.png``.
Skipped only when Chromium is not installed.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .jupyterlab import CHROMIUM_ARGS, JupyterLab, chromium_path, require_browser, write_lab_settings

pytestmark = [pytest.mark.browser, pytest.mark.timeout(1200)]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "browser"
WAIT_MS = 60_000
RUN_ALL_MS = 600_000
ONE_MB = 1_000_000


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterLab]:
    require_browser()
    tmp = tmp_path_factory.mktemp("lab-static")
    # every cell in the DOM (no virtual scrolling), so the page text holds the whole notebook
    write_lab_settings(tmp, "@jupyterlab/notebook-extension:tracker", {"windowingMode": "none"})
    server = JupyterLab.start(tmp)
    try:
        yield server
    finally:
        server.stop()


def _cell_by_text(page, text: str):  # noqa: ANN001, ANN202
    return page.locator(".jp-Notebook .jp-CodeCell").filter(has_text=text).first


def _visible_text(page) -> str:  # noqa: ANN001
    """What a reader sees: ``innerText`` leaves out what CSS hides."""
    return page.inner_text(".jp-Notebook")


def _metric_values(path: Path) -> list[str]:
    """The values column of r1's metrics table in the saved notebook (its text/plain is the Markdown table)."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    outputs = next(c for c in cells if "".join(c["source"]).startswith("%%mera -o r1"))["outputs"]
    text = next("".join(o["data"]["text/plain"]) for o in outputs
                if "".join(o.get("data", {}).get("text/plain", "")).startswith("RunResult("))
    return re.findall(r"\| (\d\.\d{4}) \|", text)


def _run_all(page) -> None:  # noqa: ANN001
    page.wait_for_selector("text=Python 3 (ipykernel) | Idle", timeout=120_000)
    page.click(".jp-Notebook .jp-Cell >> nth=0")
    page.click("li.lm-MenuBar-item:has-text('Run')")
    page.click(".lm-Menu-item:has-text('Run All Cells')")
    # the last cell prints the version: everything before it has run
    page.wait_for_function(
        "() => { const cells = document.querySelectorAll('.jp-Notebook .jp-CodeCell');"
        " const last = cells[cells.length - 1];"
        " return last && /'\\d+\\.\\d+\\.\\d+'/.test(last.querySelector('.jp-OutputArea')?.innerText || ''); }",
        timeout=RUN_ALL_MS,
    )


def test_saved_quickstart_shows_results_without_a_kernel(lab: JupyterLab) -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "examples" / "quickstart.ipynb", lab.root / "quickstart.ipynb")
    saved_path = lab.root / "quickstart.ipynb"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1600})
        console: list[str] = []
        page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
        try:
            page.goto(lab.url("lab/tree/quickstart.ipynb"))
            page.wait_for_selector(".jp-Notebook .jp-CodeCell .cm-content", timeout=120_000)
            _run_all(page)
            errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']")
            assert errors.count() == 0, errors.first.inner_text()

            # r1: pick simplear in the samples browser and go to page 2 (the controls are live widgets)
            r1 = _cell_by_text(page, "%%mera -o r1")
            r1.locator(".mera-controls select").first.select_option("simplear")
            page.wait_for_function(
                "() => document.body.innerText.includes('Samples: simplear · rows 1–10 of')", timeout=WAIT_MS
            )
            r1.locator(".mera-controls button", has_text="▶").first.click()
            page.wait_for_function(
                "() => document.body.innerText.includes('Samples: simplear · rows 11–16 of 16')", timeout=WAIT_MS
            )
            r1.screenshot(path=str(ARTIFACTS / "static-live-r1.png"))
            live = _visible_text(page)
            assert "Metrics" in live and "Δ chat" in live

            page.keyboard.press("Control+s")
            page.wait_for_function("() => !document.querySelector('.jp-mod-dirty')", timeout=WAIT_MS)
            values = _metric_values(saved_path)
            assert values
            assert lab.shutdown_kernels() >= 1
            page.reload()
            page.wait_for_selector(".jp-Notebook .jp-CodeCell .cm-content", timeout=120_000)
            page.wait_for_function(
                "() => document.body.innerText.includes('Samples: simplear · rows 11–16 of 16')", timeout=WAIT_MS
            )
            page.wait_for_timeout(3000)  # let the widget manager give up on the models it cannot find
            page.screenshot(path=str(ARTIFACTS / "static-reloaded.png"), full_page=True)
            _cell_by_text(page, "%%mera -o r1").screenshot(path=str(ARTIFACTS / "static-reloaded-r1.png"))
            _cell_by_text(page, "cmp = mera_magic.compare").screenshot(
                path=str(ARTIFACTS / "static-reloaded-compare.png")
            )
            text = _visible_text(page)
            assert "Error displaying widget" not in text
            assert "Samples: simplear · rows 11–16 of 16 · page 2 of 2" in text
            for needle in ("Metrics", "Configuration and environment", "Comparison of 2 runs", "Δ chat",
                           "Partial archive"):
                assert needle in text, needle
            # the charts: drawn by JupyterLab's plotly renderer from the saved figure
            assert page.locator(".jp-Notebook .jp-RenderedPlotly").count() >= 4  # r1, r2, the comparison, r3
            chart = _cell_by_text(page, "%%mera -o r1").locator(".jp-RenderedPlotly").first
            chart.scroll_into_view_if_needed()
            # drawn from the saved figure: plotly's graph, or the picture the renderer keeps of it
            page.wait_for_function(
                "el => el.querySelector('.plot-container') || "
                "(el.querySelector('img.plot-img')?.src || '').startsWith('data:image/png')",
                arg=chart.element_handle(), timeout=WAIT_MS)
            r1_text = _cell_by_text(page, "%%mera -o r1").inner_text()
            for value in values:  # the metrics table of r1, as the kernel had shown it
                assert value in r1_text, value
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "static-failure.png"), full_page=True)
            print("browser console:", *console[-40:], sep="\n")
            raise
        finally:
            browser.close()

    saved = json.loads(saved_path.read_text(encoding="utf-8"))
    assert saved_path.stat().st_size < ONE_MB
    r1_outputs = next(c for c in saved["cells"] if "".join(c["source"]).startswith("%%mera -o r1"))["outputs"]
    pages = [o for o in r1_outputs if "Samples: simplear" in "".join(o.get("data", {}).get("text/html", ""))]
    assert len(pages) == 1 and "rows 11–16 of 16" in "".join(pages[0]["data"]["text/plain"])

    # nbconvert with no network: the saved content is in the page, no widget manager needed
    out = saved_path.with_suffix(".html")
    done = subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "html", str(saved_path)],
                          capture_output=True, text=True, timeout=300, cwd=saved_path.parent)
    assert done.returncode == 0, done.stderr[-2000:]
    exported = out.read_text(encoding="utf-8")
    for needle in ("Samples: simplear</b> · rows 11–16 of 16 · page 2 of 2", "Comparison of 2 runs", "Δ chat", "Metrics per task",
                   "Configuration and environment", "Partial archive"):
        assert needle in exported, needle
    for value in values:
        assert value in exported, value
