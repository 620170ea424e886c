"""Display of results: static HTML and text, the Tab view and its samples browser, plotly charts, exports,
and the size of a saved notebook showing a 100,000-sample run (real kernel via nbclient)."""

from __future__ import annotations

import html as htmllib
import io
import json
from pathlib import Path

import pandas as pd
import pytest
from results_fixtures import LIMIT, replicate_run

from mera_magic.display import charts, html, view
from mera_magic.results import load

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
    bundle = result._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html"}
    assert bundle["text/plain"].startswith("RunResult(model=")
    assert "| Task | Filter | n-shot | Metric |" in bundle["text/plain"]


def test_tab_view_and_samples_browser(out_scored: Path) -> None:
    result = load(out_scored)
    tab = result.widget()
    assert [tab.get_title(i) for i in range(4)] == ["Metrics", "Samples", "Config", "Charts"]
    assert f"{result.metrics['value'].iloc[0]:.4f}" in tab.children[0].value
    browser = tab._mera_browser
    assert list(browser.task.options) == result.sample_tasks
    first = result.samples(browser.task.value, browser.filter.value)
    assert len(first) > 10
    assert f"rows 1–10 of about {len(first)}" in browser.pager.status.value
    assert browser.pager.table.value.count("<tr>") == 11
    assert htmllib.escape(first["prompt"].iloc[0]) in browser.pager.table.value

    browser.task.value = "rcb"
    frame = result.samples("rcb", "scoring")
    browser.wrong_only.value = True
    wrong = int((frame["correct"] == False).sum())  # noqa: E712
    assert 0 < wrong < len(frame)
    assert f"of {wrong}" in browser.pager.status.value
    assert browser.pager.table.value.count('class="bad"') == min(wrong, 10)
    browser.wrong_only.value = False
    needle = frame["prompt"].iloc[3].splitlines()[-2][-12:]
    browser.search.value = needle
    expected = int(frame["prompt"].str.contains(needle, regex=False).sum())
    assert f"of {expected}" in browser.pager.status.value
    browser.search.value = "no such text anywhere"
    assert "No samples match" in browser.pager.table.value


def test_browser_filter_selection(out_two_filters: Path) -> None:
    result = load(out_two_filters)
    browser = result.widget()._mera_browser
    assert list(browser.filter.options) == ["scoring", "digits"]
    browser.filter.value = "digits"
    digits = result.samples("twofilter_gen", "digits")
    for value in digits["filtered"]:
        assert f"<pre>{htmllib.escape(str(value))}</pre>" in browser.pager.table.value
    assert f"rows 1–{LIMIT} of {LIMIT}" in browser.pager.status.value


def test_paging_through_a_larger_run(memory_run: dict, tmp_path: Path) -> None:
    path = replicate_run(memory_run["folder"], tmp_path / "run", {"bps": 35, "twofilter_gen": 46})
    result = load(path)
    browser = result.widget()._mera_browser
    pager = browser.pager
    assert "rows 1–10 of about 35" in pager.status.value and pager.prev.disabled
    pager.next.click()
    assert "rows 11–20" in pager.status.value and not pager.prev.disabled
    pager.go(3)
    assert "rows 31–35 of 35" in pager.status.value and pager.next.disabled
    assert pager.table.value.count("<tr>") == 6
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
        assert f'<td class="num">{doc_id}</td>' in pager.table.value


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

    bundle = view.figure_bundle(figure)
    import plotly.io as pio

    reopened = pio.from_json(json.dumps(bundle["application/vnd.plotly.v1+json"]))
    assert [t.name for t in reopened.data] == [t.name for t in figure.data]
    assert list(reopened.data[0].y) == list(figure.data[0].y)


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
    assert result.to_html(tmp_path / "r.html") is None
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and f"{first['value']:.4f}" in page


NOTEBOOK_CODE = """\
from mera_magic.results import load
result = load({path!r})
result
"""


def test_saved_notebook_of_100k_samples_stays_small(memory_run: dict, tmp_path: Path) -> None:
    """A real kernel displays a 100,000-sample run; the notebook saved with its widget state is < 1 MB."""
    import nbformat
    from nbclient import NotebookClient

    path = replicate_run(memory_run["folder"], tmp_path / "big", {"bps": 50_000, "twofilter_gen": 50_000})
    assert sum(1 for p in path.parent.glob("samples_*") for _ in p.open("rb")) == 100_000
    notebook = nbformat.v4.new_notebook()
    notebook.cells.append(nbformat.v4.new_code_cell(NOTEBOOK_CODE.format(path=str(path))))
    client = NotebookClient(notebook, timeout=300, kernel_name="python3", store_widget_state=True)
    client.execute(cwd=str(tmp_path))
    saved = tmp_path / "saved.ipynb"
    nbformat.write(notebook, saved)
    size = saved.stat().st_size
    assert size < ONE_MB, f"saved notebook is {size:,} bytes"

    outputs = notebook.cells[0].outputs
    assert len(outputs) == 1
    data = outputs[0]["data"]
    assert {"application/vnd.jupyter.widget-view+json", "text/html", "text/plain"} <= set(data)
    assert "bps: first 3 of about 50000 sample rows" in data["text/html"]
    state = notebook.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    values = [m["state"].get("value", "") for m in state.values() if m["model_name"] == "HTMLModel"]
    assert any("rows 1–10 of about 50,000" in str(v) for v in values)
    plots = [
        o for m in state.values() if m["model_name"] == "OutputModel" for o in m["state"].get("outputs", [])
    ]
    assert plots and "application/vnd.plotly.v1+json" in plots[0]["data"]
