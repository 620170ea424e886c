"""Display of results: static HTML and text, the views (plain outputs and the controls that update them), the
samples browser, charts with their static fallback, exports; in a real kernel (nbclient): the outputs a result
writes, the page a control last showed is the one saved, nbconvert's HTML with no network holds the content, and
a notebook showing a 100,000-sample run saves under 1 MB."""

from __future__ import annotations

import html as htmllib
import io
import json
from pathlib import Path

import pandas as pd
import pytest
from results_fixtures import LIMIT, replicate_run

from mera_magic.display import browser as browser_module
from mera_magic.display import charts, html, to_html, view
from mera_magic.results import RunResult, compare, load

pytestmark = pytest.mark.slow
# the shared fixtures (real lm_eval runs made once per session)

ONE_MB = 1_000_000


def test_static_html_shows_metrics_samples_and_config(out_scored: Path) -> None:
    result = load(out_scored)
    page = html.result_html(result)
    assert "<script" not in page
    for row in result.metrics.itertuples(index=False):
        assert htmllib.escape(row.task) in page
        assert f"{row.value:.4f}" in page
    first = result.samples("rcb").iloc[0]
    assert htmllib.escape(first["prompt"], quote=True) in page  # the full prompt, inside <details>
    assert "<details><summary>…" in page
    assert "✓" in page or "✗" in page
    assert "pretrained=" not in page or "dtype" in page
    assert htmllib.escape(str(result.config["model_args"]["pretrained"])) in page
    assert len(page) < 200_000


def test_static_html_of_predict_only_run(out_predict: Path) -> None:
    result = load(out_predict)
    page = html.result_html(result)
    assert page.count("not scored locally") == len(result.metrics)
    assert ">999<" not in page and "999.0" not in page
    assert "predict only" in page
    figure = charts.tasks_figure(result.metrics)
    assert not figure.data and "No metric was scored locally" in figure.layout.annotations[0].text


def test_bundle_without_a_kernel_is_html_and_text(out_scored: Path) -> None:
    result = load(out_scored)
    assert not view.widgets_available()
    bundle = view.result_bundle(result)
    assert set(bundle) == {"text/plain", "text/html"}
    assert bundle["text/plain"] == repr(result)
    assert bundle["text/plain"].startswith("RunResult(model=")
    assert "| Task | Filter | n-shot | Metric |" in bundle["text/plain"]


def test_ipython_shows_results_through_the_registered_formatters(out_scored: Path, out_zero: Path) -> None:
    """In IPython without a kernel (a terminal), display() of a result goes through the formatters that
    mera_magic.display registered: one static bundle."""
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.display import display
    from IPython.utils.capture import capture_output

    from mera_magic.display import register

    shell = InteractiveShell.instance()
    assert register(shell)
    result = load(out_scored)
    comparison = compare(load(out_zero), result, names=["zero", "one"])
    with capture_output() as captured:
        display(result)
        display(comparison)
    assert [o.data for o in captured.outputs] == [view.result_bundle(result), view.comparison_bundle(comparison)]
    assert shell.display_formatter.formatters["text/html"](result) == html.result_html(result)


def test_results_never_import_display() -> None:
    """The data side knows nothing of the display side: no import of mera_magic.display in results/."""
    import ast

    import mera_magic.results as results_package

    folder = Path(results_package.__file__).parent
    for path in folder.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                target = "." * node.level + (node.module or "")
                assert "display" not in target, f"{path.name} imports {target}"
            elif isinstance(node, ast.Import):
                assert not any("display" in a.name for a in node.names), f"{path.name} imports display"


def _page(browser: browser_module.SamplesBrowser | browser_module.DifferencesBrowser) -> str:
    return browser.pager.text


def test_result_view_outputs_and_samples_browser(out_scored: Path) -> None:
    result = load(out_scored)
    shown = view.ResultView(result)
    summary = shown.summary
    assert set(summary) == {"text/plain", "text/html"} and "<script" not in summary["text/html"]
    assert f"{result.metrics['value'].iloc[0]:.4f}" in summary["text/html"]
    assert "Configuration and environment" in summary["text/html"]
    browser = shown.browser
    assert list(browser.task.options) == result.sample_tasks
    first = result.samples(browser.task.value, browser.filter.value)
    assert len(first) > 10
    assert f"rows 1–10 of about {len(first)}" in browser.pager.status.value
    page = browser.pager.output.bundle
    assert set(page) == {"text/plain", "text/html"} and "<script" not in page["text/html"]
    assert f"Samples: {browser.task.value}" in page["text/html"]
    assert f"rows 1–10 of about {len(first)}" in page["text/html"]
    assert page["text/html"].count("<tr>") == 11
    assert htmllib.escape(first["prompt"].iloc[0]) in page["text/html"]
    assert page["text/plain"].splitlines()[1].startswith(f"doc {first['doc_id'].iloc[0]}: target=")

    browser.task.value = "rcb"
    frame = result.samples("rcb", "scoring")
    browser.wrong_only.value = True
    wrong = int((frame["correct"] == False).sum())  # noqa: E712
    assert 0 < wrong < len(frame)
    assert f"of {wrong}" in browser.pager.status.value
    assert "Samples: rcb · wrong only" in _page(browser)
    assert _page(browser).count('class="bad"') == min(wrong, 10)
    browser.wrong_only.value = False
    needle = frame["prompt"].iloc[3].splitlines()[-2][-12:]
    browser.search.value = needle
    expected = int(frame["prompt"].str.contains(needle, regex=False).sum())
    assert f"of {expected}" in browser.pager.status.value
    assert htmllib.escape(f"search “{needle}”") in _page(browser)
    browser.search.value = "no such text anywhere"
    assert "No samples match" in _page(browser)


def test_browser_filter_selection(out_two_filters: Path) -> None:
    result = load(out_two_filters)
    browser = view.ResultView(result).browser
    assert list(browser.filter.options) == ["scoring", "digits"]
    browser.filter.value = "digits"
    digits = result.samples("twofilter_gen", "digits")
    for value in digits["filtered"]:
        assert f"<pre>{htmllib.escape(str(value))}</pre>" in _page(browser)
    assert f"rows 1–{LIMIT} of {LIMIT}" in browser.pager.status.value
    assert "filter digits" in _page(browser)


def test_paging_through_a_larger_run(memory_run: dict, tmp_path: Path) -> None:
    path = replicate_run(memory_run["folder"], tmp_path / "run", {"bps": 35, "twofilter_gen": 46})
    result = load(path)
    browser = view.ResultView(result).browser
    pager = browser.pager
    assert "rows 1–10 of about 35" in pager.status.value and pager.prev.disabled
    pager.next.click()
    assert "rows 11–20" in pager.status.value and not pager.prev.disabled
    assert "rows 11–20 of" in _page(browser)  # the plain output follows the controls
    pager.go(3)
    assert "rows 31–35 of 35" in pager.status.value and pager.next.disabled
    assert _page(browser).count("<tr>") == 6
    pager.size.value = 25
    assert "rows 1–25" in pager.status.value
    browser.task.value = "twofilter_gen"
    browser.filter.value = "digits"
    pager.go(5)  # past the end: the last page
    assert "rows 1–23 of 23 · page 1 of 1" in pager.status.value
    pager.size.value = 10
    pager.go(2)
    assert "rows 21–23 of 23" in pager.status.value
    ids = result.samples("twofilter_gen", "digits")["doc_id"].tolist()[20:23]
    for doc_id in ids:
        assert f'<td class="num">{doc_id}</td>' in _page(browser)


def test_a_run_without_samples_says_so(memory_run: dict) -> None:
    result = RunResult.from_memory(memory_run["results"])
    shown = view.ResultView(result)
    assert "kept no samples" in shown.browser.pager.text
    assert "--log_samples" in shown.browser.pager.output.bundle["text/plain"]


def test_charts(out_scored: Path) -> None:
    result = load(out_scored)
    figure = result.figure("tasks")
    metrics = result.metrics
    by_metric = {trace.name: trace for trace in figure.data}
    assert set(by_metric) == {"acc", "exact_match", "f1"}
    acc = metrics[(metrics["metric"] == "acc")]
    assert list(by_metric["acc"].y) == pytest.approx(acc["value"].tolist())
    assert list(by_metric["acc"].error_y.array) == pytest.approx(acc["stderr"].fillna(0).tolist())
    domains = result.figure("domains", task="rummlu_localscore")
    parts = metrics[metrics["metric"].str.startswith("acc.") & (metrics["task"] == "rummlu_localscore")]
    assert sorted(domains.data[0].y) == sorted(m.split(".", 1)[1] for m in parts["metric"])
    assert len(result.figures()) == 2  # per task, and the one task with domains

    bundle = charts.figure_bundle(figure)
    import plotly.io as pio

    reopened = pio.from_json(json.dumps(bundle["application/vnd.plotly.v1+json"]))
    assert [t.name for t in reopened.data] == [t.name for t in figure.data]
    assert list(reopened.data[0].y) == list(figure.data[0].y)
    # the static fallback: the same numbers in a table, no script
    static = bundle["text/html"]
    assert "<script" not in static and "Metrics per task" in static
    for trace in figure.data:
        assert htmllib.escape(trace.name) in static
        for value in trace.y:
            assert f"{value:.4f}" in static
            assert f"={value:.4f}" in bundle["text/plain"]
    horizontal = charts.figure_bundle(domains)["text/html"]
    for label, value in zip(domains.data[0].y, domains.data[0].x):
        assert htmllib.escape(label) in horizontal and f"{value:.4f}" in horizontal

    shown = view.ResultView(result).charts
    assert shown.selector is not None and len(shown.selector.options) == 2
    assert "Metrics per task" in shown.output.bundle["text/html"]
    shown.selector.value = 1
    assert "rummlu_localscore: per-domain breakdown" in shown.output.bundle["text/html"]


def test_empty_chart_says_why(out_predict: Path) -> None:
    bundle = charts.figure_bundle(load(out_predict).figure("tasks"))
    assert "No metric was scored locally" in bundle["text/html"] and "<table" not in bundle["text/html"]


def test_breakdown_recognises_mera_metric_names() -> None:
    from mera_magic.results.metrics import split_metric

    names = {"acc", "acc_women", "acc_lgbt", "acc_norm", "mcc_good_law", "grade_norm", "grade_norm.task8_0"}
    assert split_metric("acc.anatomy", names) == ("acc", "anatomy")
    assert split_metric("grade_norm.task8_0", names) == ("grade_norm", "task8_0")
    assert split_metric("acc_women", names) == ("acc", "women")
    assert split_metric("em_migrants", {"em"}) == ("em", "migrants")
    assert split_metric("acc_helpful", names) == ("acc", "helpful")
    assert split_metric("mcc_good_law", names) == ("mcc_good", "law")
    assert split_metric("acc_norm", names) is None
    assert split_metric("exact_match", names) is None


def test_exports(out_scored: Path, tmp_path: Path) -> None:
    result = load(out_scored)
    text = result.to_csv()
    assert text is not None
    back = pd.read_csv(io.StringIO(text))
    assert back["value"].tolist() == pytest.approx(result.metrics["value"].tolist())
    assert result.to_csv(tmp_path / "m" / "metrics.csv") is None
    assert pd.read_csv(tmp_path / "m" / "metrics.csv")["metric"].tolist() == result.metrics["metric"].tolist()
    markdown = result.to_markdown()
    lines = markdown.strip().splitlines()
    assert lines[0] == "| Task | Filter | n-shot | Metric |  | Value |  | Stderr |"
    assert len(lines) == 2 + len(result.metrics)
    first = result.metrics.iloc[0]
    assert (
        f"| {first['task']} | {first['filter']} | 1 | {first['metric']} | ↑ | {first['value']:.4f} |"
        in markdown
    )
    assert to_html(result, tmp_path / "r.html") is None
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and f"{first['value']:.4f}" in page


WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def _execute(cells: list[str], cwd: Path, timeout: int = 300):  # -> NotebookNode
    """Run ``cells`` in a real kernel (widget state stored, as JupyterLab's "save widget state" would)."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    NotebookClient(notebook, timeout=timeout, kernel_name="python3", store_widget_state=True).execute(cwd=str(cwd))
    return notebook


def _plain(outputs: list) -> list[dict]:
    """The outputs that are plain content (not a control widget)."""
    return [o for o in outputs if o.get("output_type") == "display_data" and WIDGET_MIME not in o["data"]]


def test_in_a_kernel_content_is_plain_outputs_and_controls_update_them(out_scored: Path, out_zero: Path,
                                                                       tmp_path: Path) -> None:
    """A real kernel: a run and a comparison write plain outputs next to their controls; working a control
    (here from a later cell, as a click would) replaces the page in place, and that page is what is saved and
    what nbconvert exports with no network."""
    import nbformat
    from nbconvert import HTMLExporter

    cells = [
        f"import mera_magic\nfrom mera_magic.results import load, compare\nr = load({str(out_scored)!r})\nr",
        f"c = compare(load({str(out_zero)!r}), r, names=['zero', 'one'])\nc",
        "import mera_magic.display as d\nview = d.show(r)\n"
        "view.browser.pager.next.click()\nview.charts.selector.value = 1\ncview = d.show(c)\ncview.differences.load()",
    ]
    notebook = _execute(cells, tmp_path)
    result = load(out_scored)
    run_outputs = notebook.cells[0].outputs
    assert not [o for o in run_outputs if o["output_type"] == "execute_result"]  # shown as outputs, not one repr
    plain = _plain(run_outputs)
    assert len(plain) == 3  # summary, samples page, chart
    summary, page, chart = plain
    for row in result.metrics.itertuples(index=False):
        assert f"{row.value:.4f}" in summary["data"]["text/html"]
    assert summary["data"]["text/plain"] == repr(result)
    first = result.sample_tasks[0]
    assert f"Samples: {first}" in page["data"]["text/html"] and "rows 1–10" in page["data"]["text/html"]
    assert "application/vnd.plotly.v1+json" in chart["data"] and "Metrics per task" in chart["data"]["text/html"]
    controls = [o for o in run_outputs if WIDGET_MIME in o.get("data", {})]
    assert len(controls) == 2 and all(o["data"]["text/plain"] == "" for o in controls)  # samples, chart selector

    # the third cell worked the controls of a second view: its outputs (in that cell) were updated in place
    shown = _plain(notebook.cells[2].outputs)
    assert f"Samples: {first}" in shown[1]["data"]["text/html"]
    assert "rows 11–" in shown[1]["data"]["text/html"], shown[1]["data"]["text/plain"]
    assert "per-domain breakdown" in shown[2]["data"]["text/html"]
    differences = shown[-1]["data"]["text/html"]
    task = result.sample_tasks[0]
    expected = len(compare(load(out_zero), result).differences(task))
    assert f"Documents answered differently: {task} ({expected:,}, matched by doc_hash)" in differences

    compared = _plain(notebook.cells[1].outputs)
    assert "Δ one" in compared[0]["data"]["text/html"] and compared[0]["data"]["text/plain"].startswith(
        "Comparison(zero, one)"
    )
    assert "application/vnd.plotly.v1+json" in compared[1]["data"]
    assert "not computed yet" in compared[2]["data"]["text/html"]

    # nbconvert's HTML (no network needed: nothing is fetched) holds the same content
    saved = tmp_path / "saved.ipynb"
    nbformat.write(notebook, saved)
    exported, _ = HTMLExporter().from_filename(str(saved))
    for text in (f"Samples: {first}", "rows 11–", "per-domain breakdown", "Δ one", "Metrics per task"):
        assert htmllib.escape(text, quote=False) in exported or text in exported, text
    for row in result.metrics.itertuples(index=False):
        assert f"{row.value:.4f}" in exported


NOTEBOOK_CODE = """\
from mera_magic.results import load
result = load({path!r})
result
"""


def test_saved_notebook_of_100k_samples_stays_small(memory_run: dict, tmp_path: Path) -> None:
    """A real kernel displays a 100,000-sample run; the notebook saved with its widget state is < 1 MB."""
    path = replicate_run(memory_run["folder"], tmp_path / "big", {"bps": 50_000, "twofilter_gen": 50_000})
    assert sum(1 for p in path.parent.glob("samples_*") for _ in p.open("rb")) == 100_000
    notebook = _execute([NOTEBOOK_CODE.format(path=str(path))], tmp_path)
    import nbformat

    saved = tmp_path / "saved.ipynb"
    nbformat.write(notebook, saved)
    size = saved.stat().st_size
    assert size < ONE_MB, f"saved notebook is {size:,} bytes"

    outputs = notebook.cells[0].outputs
    plain = _plain(outputs)
    assert len(plain) == 3
    assert "rows 1–10 of about 50,000" in plain[1]["data"]["text/html"]
    assert "application/vnd.plotly.v1+json" in plain[2]["data"]
    assert notebook.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]


def test_sample_line_of_a_generative_task_shows_its_answer() -> None:
    from mera_magic.display.browser import sample_line

    # a generative task's row holds no choice: its pred_choice column is missing (NaN in the frame)
    line = sample_line({"doc_id": 3, "target": "11", "pred_choice": float("nan"), "filtered": "10", "correct": False})
    assert line == "doc 3: target=11 answer=10 ✗"
    assert "answer=B" in sample_line({"doc_id": 1, "target": "B", "pred_choice": "B", "filtered": "x", "correct": True})
