"""compare(): side-by-side table with differences and z-test p-values, chart, sample-level differences."""

from __future__ import annotations

import io
import math
from pathlib import Path
from statistics import NormalDist

import pandas as pd
import pytest

from mera_magic.errors import ResultsError
from mera_magic.results import compare, load
from mera_magic.results.compare import p_value

pytestmark = pytest.mark.slow
# the shared fixtures (real lm_eval runs made once per session)


def test_p_value_is_a_two_sided_z_test() -> None:
    z = 0.1 / math.sqrt(0.05**2 + 0.05**2)
    assert p_value(0.1, 0.05, 0.05) == pytest.approx(2 * (1 - NormalDist().cdf(z)))
    assert p_value(-0.1, 0.05, 0.05) == pytest.approx(p_value(0.1, 0.05, 0.05))
    assert math.isnan(p_value(0.1, math.nan, 0.05)) and math.isnan(p_value(0.1, 0.0, 0.0))


def test_table_has_each_run_the_difference_and_its_p_value(out_scored: Path, out_zero: Path) -> None:
    one, zero = load(out_scored), load(out_zero)
    comparison = compare(zero, one, names=["0-shot", "1-shot"])
    table = comparison.table
    assert list(table.columns[:4]) == ["task", "filter", "metric", "higher_is_better"]
    assert {"0-shot", "1-shot", "0-shot stderr", "1-shot stderr", "Δ 1-shot", "p 1-shot"} <= set(
        table.columns
    )
    keyed = table.set_index(["task", "filter", "metric"])
    for name, result in (("0-shot", zero), ("1-shot", one)):
        for row in result.metrics.itertuples(index=False):
            assert keyed.loc[(row.task, row.filter, row.metric), name] == pytest.approx(row.value)
    for row in table.to_dict("records"):
        a, b = row["0-shot"], row["1-shot"]
        se_a, se_b = row["0-shot stderr"], row["1-shot stderr"]
        assert row["Δ 1-shot"] == pytest.approx(b - a)
        if math.isnan(se_a) or math.isnan(se_b) or se_a == se_b == 0:
            assert math.isnan(row["p 1-shot"])
        else:
            expected = 2 * (1 - NormalDist().cdf(abs(b - a) / math.sqrt(se_a**2 + se_b**2)))
            assert row["p 1-shot"] == pytest.approx(expected)
    assert not table["not_scored"].any()
    assert "two-sided z-test" in comparison.test_description

    markdown = comparison.to_markdown()
    assert markdown.splitlines()[0] == "| Task | Filter | Metric |  | 0-shot | 1-shot | Δ 1-shot | p |"
    assert "two-sided z-test" in markdown
    back = pd.read_csv(io.StringIO(comparison.to_csv() or ""))
    assert back["Δ 1-shot"].tolist() == pytest.approx(table["Δ 1-shot"].tolist(), nan_ok=True)

    figure = comparison.figure()
    assert [trace.name for trace in figure.data] == ["0-shot", "1-shot"]
    assert len(figure.data[0].x) == len(figure.data[1].x)


def test_differences_are_the_documents_answered_differently(out_scored: Path, out_zero: Path) -> None:
    one, zero = load(out_scored), load(out_zero)
    comparison = compare(out_zero, out_scored)  # paths work too; names come from the model and date
    assert len(set(comparison.names)) == 2
    a_name, b_name = comparison.names
    for task in ("rcb", "simplear", "parus_gen"):
        diff = comparison.differences(task)
        assert diff.attrs["matched_by"] == "doc_hash"
        a = zero.samples(task, zero.filters(task)[0]).set_index("doc_id")
        b = one.samples(task, one.filters(task)[0]).set_index("doc_id")
        column = "pred_choice" if "pred_choice" in a else "filtered"
        expected = sorted(i for i in a.index if str(a.loc[i, column]) != str(b.loc[i, column]))
        assert sorted(diff["doc_id"]) == expected
        for row in diff.to_dict("records"):
            assert row[f"answer {a_name}"] == str(a.loc[row["doc_id"], column])
            assert row[f"answer {b_name}"] == str(b.loc[row["doc_id"], column])
        everything = comparison.differences(task, only_different=False)
        assert len(everything) == len(a)


def test_comparison_with_a_predict_only_run(out_scored: Path, out_predict: Path) -> None:
    comparison = compare(load(out_scored), load(out_predict), names=["scored", "closed"])
    table = comparison.table.set_index(["task", "filter", "metric"])
    bypass = table.loc[("simplear", "scoring", "bypass")]
    assert bool(bypass["not_scored"]) and math.isnan(bypass["closed"])
    assert "not scored locally" in comparison.to_markdown()
    from mera_magic.display.html import comparison_html

    page = comparison_html(comparison)
    assert "not scored locally" in page and ">999<" not in page


def test_static_bundle_and_view(out_scored: Path, out_zero: Path) -> None:
    from mera_magic.display import to_html, view

    comparison = compare(load(out_zero), load(out_scored), names=["zero", "one"])
    bundle = view.comparison_bundle(comparison)
    assert set(bundle) == {"text/plain", "text/html"}
    assert bundle["text/plain"] == repr(comparison) and bundle["text/plain"].startswith("Comparison(zero, one)")
    assert "Δ one" in bundle["text/html"] and "<script" not in bundle["text/html"]
    page = to_html(comparison) or ""
    assert page.startswith("<!DOCTYPE html>") and "Δ one" in page

    shown = view.ComparisonView(comparison)
    assert shown.summary == bundle
    chart = shown.charts.output.bundle
    assert "application/vnd.plotly.v1+json" in chart and "Comparison" in chart["text/html"]
    differences = shown.differences
    assert "not computed yet" in differences.pager.text  # nothing read until asked
    assert not differences._frames
    differences.button.click()
    task = differences.task.value
    expected = len(comparison.differences(task))
    assert f"Documents answered differently: {task} ({expected:,}, matched by doc_hash)" in differences.pager.text
    assert expected > 0  # the 0-shot and 1-shot runs answer some documents differently
    assert differences.pager.text.count("<tr>") == min(expected, 10) + 1


def test_bad_arguments(out_scored: Path) -> None:
    result = load(out_scored)
    with pytest.raises(ResultsError, match="at least two runs"):
        compare(result)
    with pytest.raises(ResultsError, match="2 runs but 1 names"):
        compare(result, result, names=["a"])
    with pytest.raises(ResultsError, match="different from each other"):
        compare(result, result, names=["a", "a"])
    same = compare(result, result)
    assert same.names[0] != same.names[1]
    assert (same.table[f"Δ {same.names[1]}"].fillna(0) == 0).all()
