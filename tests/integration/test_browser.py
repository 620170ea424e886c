"""The run panel in a real JupyterLab, driven in headless Debian Chromium by Playwright (no network).

The test starts JupyterLab in a temporary home, opens a notebook that shows
``mera_magic.widgets.panel("lm_eval --model hf --model_args pretrained=x --tasks a")``, runs it, and then works
the panel as a person would: switches the backend, edits fields, edits the command text, types an HF token,
clicks "Insert as cell".  Each step asserts the exact command text (computed here with the same lm_eval) and
screenshots go to ``artifacts/browser/``.  Skipped only when Chromium is not installed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from mera_magic import parse
from mera_magic.spec import RunSpec

from .jupyterlab import CHROMIUM_ARGS, JupyterLab, chromium_path, require_browser

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "browser"
START = "lm_eval --model hf --model_args pretrained=x --tasks a"
TOKEN = "hf_browserTestSecret123"
COMMAND = ".mera-panel .mera-command textarea"
WAIT_MS = 60_000


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterLab]:
    require_browser()
    server = JupyterLab.start(tmp_path_factory.mktemp("lab"))
    try:
        yield server
    finally:
        server.stop()


def _wait_command(page, expected: str) -> None:
    page.wait_for_function("([sel, want]) => document.querySelector(sel).value === want", arg=[COMMAND, expected],
                           timeout=WAIT_MS)


def _cells(page) -> list[str]:
    return page.eval_on_selector_all(
        ".jp-Notebook .jp-Cell",
        "els => els.map(e => Array.from(e.querySelectorAll('.jp-InputArea .cm-line')).map(l => l.textContent).join('\\n'))")


def _run_first_cell(page) -> None:
    """Run the panel cell; a click that lands before the kernel is wired up runs nothing, so try again."""
    page.wait_for_selector("text=Python 3 (ipykernel) | Idle", timeout=120_000)
    for _ in range(4):
        page.click(".jp-Notebook .jp-Cell >> nth=0 >> .cm-content")
        page.keyboard.press("Shift+Enter")
        try:
            page.wait_for_selector(COMMAND, timeout=30_000)
            return
        except Exception:  # playwright's TimeoutError: run the cell again
            continue
    page.screenshot(path=str(ARTIFACTS / "failed-to-run.png"))
    pytest.fail("the panel cell did not render (see artifacts/browser/failed-to-run.png)")


def test_panel_in_jupyterlab(lab: JupyterLab) -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = lab.write_notebook("panel.ipynb", [f'import mera_magic.widgets\nmera_magic.widgets.panel("{START}")'])
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 2400})
        console: list[str] = []
        page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
        try:
            page.goto(lab.url("lab/tree/panel.ipynb"))
            page.wait_for_selector(".jp-Notebook .jp-Cell .cm-content", timeout=120_000)
            _run_first_cell(page)

            # the preview is the command the panel was given
            _wait_command(page, parse(START).to_command())

            # switch the backend: vllm's fields appear, pretrained is kept
            page.select_option(".mera-panel .mera-field-model select", "vllm")
            _wait_command(page, RunSpec(model="vllm", model_args={"pretrained": "x"}, tasks=["a"]).to_command())
            page.wait_for_selector(".mera-field-model-args-tensor-parallel-size input")

            # edit fields: a number and a choice
            page.fill(".mera-field-model-args-tensor-parallel-size input", "2")
            page.select_option(".mera-field-model-args-dtype select", "bfloat16")
            expected = RunSpec(model="vllm", model_args={"pretrained": "x", "tensor_parallel_size": 2,
                                                         "dtype": "bfloat16"}, tasks=["a"])
            _wait_command(page, expected.to_command())
            page.locator(".mera-panel").screenshot(path=str(ARTIFACTS / "panel-model-vllm.png"))

            # a field error is shown next to its field: --fewshot_as_multiturn without --apply_chat_template
            page.click(".mera-panel .lm-TabBar-tab >> nth=2")
            page.select_option(".mera-field-options-fewshot-as-multiturn select", "true")
            page.wait_for_selector(".mera-field-options-fewshot-as-multiturn "
                                   ".mera-finding[data-code='multiturn-without-chat-template']", timeout=WAIT_MS)
            page.locator(".mera-panel").screenshot(path=str(ARTIFACTS / "panel-options-finding.png"))

            # edit the command text: the fields follow
            new = "lm_eval --model hf --model_args pretrained=y,dtype=float16 --num_fewshot 3 --tasks b"
            page.fill(COMMAND, new)
            page.keyboard.press("Tab")  # the text is read when it loses focus
            page.click(".mera-panel .lm-TabBar-tab >> nth=0")
            page.wait_for_function(
                "() => { const p = document.querySelector('.mera-field-model-args-pretrained input');"
                " return p && p.value === 'y'; }", timeout=WAIT_MS)
            _wait_command(page, parse(new).to_command())
            assert page.input_value(".mera-field-model select") == "hf"
            assert page.input_value(".mera-field-model-args-pretrained input") == "y"
            assert page.input_value(".mera-field-model-args-dtype select") == "float16"

            # the HF token: typed into a password input, never shown, written as $HF_TOKEN
            page.click(".mera-panel .lm-TabBar-tab >> nth=3")
            page.fill(".mera-field-env-HF-TOKEN input[type=password]", TOKEN)
            page.keyboard.press("Enter")
            with_token = parse(new)
            with_token.env["HF_TOKEN"] = TOKEN
            _wait_command(page, with_token.to_command())
            assert "HF_TOKEN=$HF_TOKEN" in page.input_value(COMMAND)
            assert page.input_value(".mera-field-env-HF-TOKEN input[type=password]") == ""
            assert TOKEN not in page.content()
            page.locator(".mera-panel").screenshot(path=str(ARTIFACTS / "panel-environment.png"))

            # "Insert as cell": a new %%mera cell below the panel holds exactly the command
            command = page.input_value(COMMAND)
            page.click(".mera-panel button:has-text('Вставить ячейкой'), .mera-panel button:has-text('Insert as cell')")
            page.wait_for_function(
                "want => Array.from(document.querySelectorAll('.jp-Notebook .jp-Cell')).some(c => "
                "Array.from(c.querySelectorAll('.jp-InputArea .cm-line')).map(l => l.textContent).join('\\n') === want)",
                arg=f"%%mera\n{command}", timeout=WAIT_MS)
            cells = _cells(page)
            assert cells[1] == f"%%mera\n{command}", cells

            # the saved notebook does not hold the token
            page.keyboard.press("Control+s")
            page.wait_for_function("() => !document.querySelector('.jp-mod-dirty')", timeout=WAIT_MS)
            page.screenshot(path=str(ARTIFACTS / "notebook.png"))
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "failure.png"))
            print("browser console:", *console[-40:], sep="\n")
            raise
        finally:
            browser.close()
    saved = path.read_text(encoding="utf-8")
    assert TOKEN not in saved
    source = json.loads(saved)["cells"][1]["source"]
    assert "".join(source) == f"%%mera\n{command}"


# -- a panel run is a cell run ------------------------------------------------------------------------------------------
PROGRESS = ".mera-panel .mera-run-progress"
RUN_BUTTON = ".mera-panel button.mod-primary"


def _progress_says(page, word: str, timeout: int = 180_000) -> None:
    page.wait_for_function("([sel, word]) => { const p = document.querySelector(sel);"
                           " return p && p.textContent.includes('— ' + word); }",
                           arg=[PROGRESS, word], timeout=timeout)


def _no_horizontal_scroll(page) -> None:
    """The panel fits the notebook's width: nothing in it is wider than its output area."""
    over = page.evaluate("""() => {
      const panel = document.querySelector('.mera-panel');
      const area = panel.closest('.jp-OutputArea-output') || panel.parentElement;
      return { panel: panel.scrollWidth, area: area.clientWidth, scroll: area.scrollWidth > area.clientWidth + 1 }; }""")
    assert not over["scroll"] and over["panel"] <= over["area"] + 1, over


def _run_cell(page, index: int) -> None:
    page.click(f".jp-Notebook .jp-Cell >> nth={index} >> .cm-content")
    page.keyboard.press("Shift+Enter")


def test_a_panel_run_is_a_cell_run(lab: JupyterLab, demo_model: Path, demo_tasks: Path, tmp_path: Path) -> None:
    """Progress and "done", Stop and "stopped", one run per double click, a bad value blocks Run, a backend switch
    keeps values, the language toggle keeps the tab body, and the saved notebook shows the configured command."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    out = tmp_path / "results"
    start = (f"lm_eval --model hf --model_args pretrained={demo_model},dtype=float32 --device cpu "
             f"--include_path {demo_tasks} --tasks parus,rcb,simplear,bps,rumultiar,rummlu_localscore "
             f"--output_path {out} --log_samples")
    lab.write_notebook("run.ipynb", [f'import mera_magic.widgets\np = mera_magic.widgets.panel("{start}")\np',
                                     "print('runs', p.controls.runs, 'ignored', p.controls.ignored_clicks)"])
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 2000})
        console: list[str] = []
        page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
        page.on("response", lambda r: console.append(f"response {r.status} {r.url}") if "interrupt" in r.url else None)
        try:
            page.goto(lab.url("lab/workspaces/panel-run/tree/run.ipynb?reset"))  # only this notebook open
            page.wait_for_selector(".jp-Notebook .jp-Cell .cm-content", timeout=120_000)
            _run_first_cell(page)
            _wait_command(page, parse(start).to_command())
            _no_horizontal_scroll(page)
            page.locator(".mera-panel").screenshot(path=str(ARTIFACTS / "run-panel-ru.png"))

            # the language toggle keeps the tab body visible
            page.click(".mera-panel .widget-toggle-buttons button:has-text('en')")
            page.wait_for_selector(".mera-panel .lm-TabBar-tab:has-text('Model')", timeout=WAIT_MS)
            page.wait_for_selector(".mera-field-model-args-pretrained input", state="visible", timeout=WAIT_MS)
            page.locator(".mera-panel").screenshot(path=str(ARTIFACTS / "run-panel-en.png"))

            # a backend switch and back keeps the values both backends share (and those set aside)
            page.select_option(".mera-panel .mera-field-model select", "gguf")
            page.wait_for_selector(".mera-field-model-args-base-url input", timeout=WAIT_MS)
            assert "base_url *" in page.inner_text(".mera-field-model-args-base-url")  # required, marked
            page.wait_for_selector(".mera-field-model-args-base-url .mera-finding[data-code='missing-model-arg']",
                                   timeout=WAIT_MS)
            page.locator(".mera-panel").screenshot(path=str(ARTIFACTS / "run-panel-gguf.png"))
            page.select_option(".mera-panel .mera-field-model select", "hf")
            _wait_command(page, parse(start).to_command())
            assert page.input_value(".mera-field-model-args-dtype select") == "float32"

            # batch_size=abc: an error at its field, in the command, on the tab, and Run does not start
            page.click(".mera-panel .lm-TabBar-tab >> nth=2")
            page.fill(".mera-field-options-batch-size input", "abc")
            page.wait_for_selector(".mera-field-options-batch-size .mera-finding[data-code='invalid-value']",
                                   timeout=WAIT_MS)
            assert "--batch_size abc" in page.input_value(COMMAND)
            assert "✖" in page.inner_text(".mera-panel .lm-TabBar-tab >> nth=2")
            page.click(RUN_BUTTON)
            page.wait_for_selector(".mera-panel .jp-OutputArea-output:has-text('fix the errors')", timeout=WAIT_MS)
            assert page.inner_text(PROGRESS).strip() == ""
            page.locator(".mera-panel").screenshot(path=str(ARTIFACTS / "run-blocked.png"))
            page.fill(".mera-field-options-batch-size input", "")
            _wait_command(page, parse(start).to_command())

            # a double click runs once; the run shows its progress and ends in "done" with the results
            page.dblclick(RUN_BUTTON)
            _progress_says(page, "running")
            assert page.is_disabled(RUN_BUTTON)
            page.wait_for_selector(".mera-panel .mera-stop", state="visible", timeout=WAIT_MS)
            page.locator(".mera-panel").screenshot(path=str(ARTIFACTS / "run-progress.png"))
            _progress_says(page, "done", timeout=500_000)
            page.wait_for_selector(".mera-panel .jp-OutputArea-output:has-text('parus')", timeout=WAIT_MS)
            page.locator(".mera-panel").screenshot(path=str(ARTIFACTS / "run-done.png"))
            _run_cell(page, 1)
            page.wait_for_selector(".jp-Notebook .jp-Cell >> nth=1 >> text=/runs \\d+ ignored \\d+/", timeout=WAIT_MS)
            said = page.inner_text(".jp-Notebook .jp-Cell >> nth=1 >> .jp-OutputArea")
            assert said.strip().startswith("runs 1 "), said  # one run for the double click

            # Stop during a run: status "stopped" within seconds, Run enabled again
            page.click(RUN_BUTTON)
            _progress_says(page, "running")
            page.click(".mera-panel .mera-stop")
            _progress_says(page, "stopped", timeout=60_000)
            page.wait_for_function(f"() => !document.querySelector('{RUN_BUTTON}').disabled", timeout=WAIT_MS)
            page.locator(".mera-panel").screenshot(path=str(ARTIFACTS / "run-stopped.png"))

            # save, shut the kernel down, reload: the configured command and the results are there, no widget error
            page.keyboard.press("Control+s")
            page.wait_for_function("() => !document.querySelector('.jp-mod-dirty')", timeout=WAIT_MS)
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "run-failure.png"))
            print("browser console:", *console[-40:], sep="\n")
            print("jupyterlab log:", lab.log.read_text(encoding="utf-8", errors="replace")[-3000:])
            raise
        finally:
            browser.close()
        _shutdown_kernels(lab)
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1600})
        try:
            page.goto(lab.url("lab/workspaces/panel-reopen/tree/run.ipynb?reset"))
            page.wait_for_selector(".jp-Notebook .jp-Cell .mera-panel-static", timeout=120_000)
            page.wait_for_timeout(3000)  # let the widget manager give up on the saved widget
            text = page.inner_text(".jp-Notebook .jp-Cell >> nth=0 >> .jp-OutputArea")
            assert "%%mera" in text and "--tasks parus,rcb" in text and "--log_samples" in text
            assert "Last run from the panel: stopped" in text and "parus" in text
            assert "Error displaying widget" not in text
            page.screenshot(path=str(ARTIFACTS / "run-reopened.png"))
        finally:
            browser.close()


def _shutdown_kernels(lab: JupyterLab) -> None:
    import urllib.request

    with urllib.request.urlopen(lab.url("api/kernels"), timeout=10) as reply:
        kernels = json.loads(reply.read())
    for kernel in kernels:
        request = urllib.request.Request(lab.url(f"api/kernels/{kernel['id']}"), method="DELETE")
        urllib.request.urlopen(request, timeout=30).close()
