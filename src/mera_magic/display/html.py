"""Static HTML for results: the metrics table, a page of samples, config and environment, whole pages.

Everything here is plain HTML with one small scoped stylesheet and no script, so it reads the same live, in a
saved notebook opened without a kernel, in nbconvert output and on GitHub.  Long prompts are collapsed in
``<details>`` and capped, so a page stays small whatever the run's size.

The stylesheet also hides, in JupyterLab, a control widget that cannot render next to these outputs (the kernel
is gone and the notebook was saved without widget state): the widget area would say "Error displaying widget:
model not found" (or "Loading widget..." with no kernel at all); the content is in the plain outputs around it,
so the control is simply left out.  The rule matches only a widget area holding nothing but that text, and only
in an output area that holds one of these outputs.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..results.export import NOT_SCORED, arrow, fmt_value

if TYPE_CHECKING:
    from ..results.compare import Comparison
    from ..results.model import RunResult

#: characters of one prompt kept in a page (the rest is cut, and the cut is said)
PROMPT_CAP = 4000
#: characters of a prompt shown before it is expanded
SUMMARY_CHARS = 110

STYLE = """<style>
.mera-res{font-family:var(--jp-content-font-family,system-ui,sans-serif);font-size:13px;line-height:1.4}
.mera-res table{border-collapse:collapse;margin:4px 0 10px 0}
.mera-res table th,.mera-res table td{border-bottom:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
.mera-res table th{background:rgba(127,127,127,.12)}
.mera-res table td.num{text-align:right;font-variant-numeric:tabular-nums}
.mera-res .ns{color:#888;font-style:italic}
.mera-res .grp{font-weight:600}
.mera-res .sub{padding-left:18px}
.mera-res .ok{color:#1a7f37}.mera-res .bad{color:#cf222e}.mera-res .na{color:#888}
.mera-res .note{background:rgba(84,174,255,.12);padding:4px 8px;margin:4px 0;border-radius:4px}
.mera-res .warn{background:rgba(255,196,0,.18);padding:4px 8px;margin:4px 0;border-radius:4px}
.mera-res pre{white-space:pre-wrap;word-break:break-word;margin:2px 0;max-width:900px}
.mera-res details summary{cursor:pointer;color:#555;white-space:pre-wrap;word-break:break-word}
.mera-res .choice{white-space:nowrap}
.mera-res .badge{display:inline-block;padding:0 6px;border-radius:8px;background:#eee;color:#444;font-size:11px}
.mera-res .cap{margin:6px 0 2px 0}
.mera-res .bar{display:inline-block;height:9px;vertical-align:middle;margin-right:6px;opacity:.85}
.jp-OutputArea:has(.mera-res) > .jp-OutputArea-child > .jp-OutputArea-output.jupyter-widgets:not(:has(*)),
.jp-OutputArea:has(.mera-res) > .jp-OutputArea-child > .jp-OutputArea-output.lm-Panel:not(:has(*)){display:none}
</style>"""


def esc(value: Any) -> str:
    """HTML-escape any value as text."""
    return html.escape("" if value is None else str(value), quote=True)


def missing(value: Any) -> bool:
    """True for None, NaN and pandas' NA (list-likes are never missing)."""
    if value is None:
        return True
    if isinstance(value, (list, tuple, dict)):
        return False
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def wrap(body: str) -> str:
    """Wrap a fragment in the scoped style and container."""
    return f'{STYLE}<div class="mera-res">{body}</div>'


def table(header: Iterable[str], rows: Iterable[Iterable[str]], classes: Iterable[str] | None = None) -> str:
    """An HTML table from already-escaped cells (``classes``: one CSS class per column, '' for none)."""
    cls = list(classes or [])
    labels = list(header)
    head = "".join(f"<th>{h}</th>" for h in labels)
    body = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            c = cls[i] if i < len(cls) and cls[i] else ""
            cells.append(f'<td class="{c}">{cell}</td>' if c else f"<td>{cell}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    thead = f"<thead><tr>{head}</tr></thead>" if any(labels) else ""
    return f"<table>{thead}<tbody>{''.join(body)}</tbody></table>"


# ---------------------------------------------------------------------------------------------------------
# metrics


def metrics_table(metrics: pd.DataFrame, groups: dict[str, list[str]] | None = None) -> str:
    """The metrics as an HTML table: groups bold, subtasks indented, predict-only rows "not scored locally"."""
    if metrics.empty:
        return '<p class="ns">No metrics in this run.</p>'
    present = set(metrics["task"])
    members = {t for g, subs in (groups or {}).items() if g in present for t in subs}
    rows = []
    last = None
    for row in metrics.itertuples(index=False):
        name = str(row.task)
        css = "grp" if row.is_group else ("sub" if name in members else "")
        task_cell = f'<span class="{css}">{esc(name)}</span>' if css else esc(name)
        if name == last:
            task_cell = ""
        last = name
        if row.scored_locally:
            value = fmt_value(row.value)
            stderr = fmt_value(row.stderr)
            pm = "±" if stderr else ""
        else:
            value, pm, stderr = f'<span class="ns">{NOT_SCORED}</span>', "", ""
        n_shot = "" if missing(row.n_shot) else esc(row.n_shot)
        n = "" if missing(row.n_samples) else esc(row.n_samples)
        if not missing(row.n_available) and not missing(row.n_samples) and row.n_available != row.n_samples:
            n += f" / {esc(row.n_available)}"
        rows.append(
            [
                task_cell,
                esc(row.filter),
                n_shot,
                esc(row.metric),
                arrow(row.higher_is_better),
                value,
                pm,
                stderr,
                n,
            ]
        )
    return table(
        ["Task", "Filter", "n-shot", "Metric", "", "Value", "", "Stderr", "Samples"],
        rows,
        ["", "", "num", "", "", "num", "", "num", "num"],
    )


# ---------------------------------------------------------------------------------------------------------
# samples


def collapsible(text: Any, cap: int = PROMPT_CAP) -> str:
    """Long text collapsed in ``<details>``: the summary shows its end (where the question is)."""
    if missing(text):
        return '<span class="na">—</span>'
    text = str(text)
    if len(text) <= SUMMARY_CHARS and "\n" not in text.strip():
        return f"<pre>{esc(text)}</pre>"
    tail = " ".join(text[-SUMMARY_CHARS:].split())
    shown = text if len(text) <= cap else text[:cap]
    cut = (
        "" if len(text) <= cap else f'\n<span class="na">… {len(text) - cap} more characters not shown</span>'
    )
    return f"<details><summary>…{esc(tail)}</summary><pre>{esc(shown)}{cut}</pre></details>"


def _short(value: Any, limit: int = 300) -> str:
    if missing(value):
        return '<span class="na">—</span>'
    text = value if isinstance(value, str) else repr(value)
    if len(text) > limit:
        return f"<pre>{esc(text[:limit])}</pre><span class='na'>… ({len(text)} characters)</span>"
    return f"<pre>{esc(text)}</pre>"


def answer_cell(row: dict[str, Any]) -> str:
    """The model's answer: for multiple choice every choice with its log-likelihood, the pick in bold with ◀
    and the gold answer tagged; for generation the raw response and, when it differs, the filtered one."""
    choices = row.get("choices")
    if isinstance(choices, (list, tuple)) and len(choices) > 1:
        lls = row.get("loglikelihoods") or []
        pred = row.get("pred_index")
        gold = row.get("gold_index")
        items = []
        for i, choice in enumerate(choices):
            if i >= 12:
                items.append(f"<div class='na'>… {len(choices) - 12} more</div>")
                break
            picked = not missing(pred) and i == pred
            is_gold = not missing(gold) and i == gold
            ll = fmt_value(lls[i], 3) if i < len(lls) else ""
            label = f"<b>{esc(choice)}</b>" if picked else esc(choice)
            marks = (" ◀" if picked else "") + (" <span class='badge'>gold</span>" if is_gold else "")
            items.append(f"<div class='choice'>{label} <span class='na'>{ll}</span>{marks}</div>")
        return "".join(items)
    raw, filtered = row.get("response"), row.get("filtered")
    out = _short(raw)
    if not missing(filtered) and filtered != raw:
        out += f"<span class='na'>filtered:</span>{_short(filtered)}"
    return out


def _metric_cells(row: dict[str, Any], metric_names: list[str]) -> str:
    parts = []
    for name in metric_names:
        value = row.get(name)
        if missing(value):
            continue
        shown = (
            fmt_value(value, 3)
            if isinstance(value, (int, float)) and not isinstance(value, bool)
            else repr(value)
        )
        parts.append(f"{esc(name)}={esc(shown[:40])}")
    return "<br>".join(parts)


def correct_cell(value: Any) -> str:
    """✓ / ✗ / — (no gold answer)."""
    if missing(value):
        return '<span class="na" title="no gold answer">—</span>'
    return '<span class="ok">✓</span>' if bool(value) else '<span class="bad">✗</span>'


def samples_table(
    rows: list[dict[str, Any]], metric_names: list[str] | None = None, *, cap: int = PROMPT_CAP
) -> str:
    """A page of samples as an HTML table (prompts collapsed and capped at ``cap`` characters)."""
    if not rows:
        return '<p class="ns">No samples match.</p>'
    if metric_names is None:
        from ..results.samples import BASE_COLUMNS, TAIL_COLUMNS

        known = set(BASE_COLUMNS) | set(TAIL_COLUMNS)
        metric_names = []
        for row in rows:
            metric_names.extend(k for k in row if k not in known and k not in metric_names)
    out = [sample_cells(row, metric_names, cap=cap) for row in rows]
    return table(SAMPLE_COLUMNS, out, ["num", "", "", "", "", ""])


#: the columns of a samples page
SAMPLE_COLUMNS = ["doc", "prompt", "target", "answer", "metrics", "✓"]


def sample_cells(row: dict[str, Any], metric_names: list[str], *, cap: int = PROMPT_CAP) -> list[str]:
    """One sample's cells in a samples page (:data:`SAMPLE_COLUMNS`), each already HTML."""
    return [
        esc(row.get("doc_id")),
        collapsible(row.get("prompt"), cap),
        _short(row.get("target"), 200),
        answer_cell(row),
        _metric_cells(row, metric_names),
        correct_cell(row.get("correct")),
    ]


# ---------------------------------------------------------------------------------------------------------
# config, environment, notes


def kv_table(values: dict[str, Any]) -> str:
    """A two-column key / value table (long values collapsed)."""
    rows = []
    for key, value in values.items():
        text = value if isinstance(value, str) else repr(value)
        cell = (
            collapsible(text, 20000)
            if len(text) > SUMMARY_CHARS or "\n" in text
            else f"<code>{esc(text)}</code>"
        )
        rows.append([f"<b>{esc(key)}</b>", cell])
    return table(["", ""], rows)


def config_section(result: RunResult) -> str:
    """The run's configuration and environment (secrets already masked by the result)."""
    config = dict(result.config)
    command = config.pop("command", None)
    parts = []
    if command:
        parts.append(f"<h4>Command</h4><pre>{esc(command)}</pre>")
    parts.append("<h4>Configuration</h4>" + kv_table(config))
    env = dict(result.env)
    info = env.pop("pretty_env_info", None)
    parts.append("<h4>Environment</h4>" + kv_table(env))
    if info:
        parts.append(f"<details><summary>System details</summary><pre>{esc(info)}</pre></details>")
    if result.files:
        listed = "".join(f"<li><code>{esc(p)}</code></li>" for p in result.files[:50])
        more = f"<li>… {len(result.files) - 50} more</li>" if len(result.files) > 50 else ""
        parts.append(f"<h4>Files</h4><ul>{listed}{more}</ul>")
    return "".join(parts)


def notes_section(notes: list[str], problems: list[Any], limit: int = 20) -> str:
    """Notes (blue) and read problems (yellow, each naming the file and line)."""
    parts = [f'<div class="note">{esc(n)}</div>' for n in notes]
    if problems:
        items = "".join(f"<li><code>{esc(p)}</code></li>" for p in problems[:limit])
        more = f"<li>… {len(problems) - limit} more (see .problems)</li>" if len(problems) > limit else ""
        parts.append(f'<div class="warn">Skipped what could not be read:<ul>{items}{more}</ul></div>')
    return "".join(parts)


def header(result: RunResult) -> str:
    """One line naming the model, the date, the run and a predict-only badge."""
    bits = [f"<b>{esc(result.model_name or 'model')}</b>"]
    if result.date:
        bits.append(esc(result.date.strftime("%Y-%m-%d %H:%M:%S")))
    bits.append(f"{len(result.tasks)} task(s)")
    if result.predict_only:
        bits.append('<span class="badge">predict only: scored by MERA after submission</span>')
    if result.output_dir:
        bits.append(f"<code>{esc(result.output_dir)}</code>")
    return "<div>" + " · ".join(bits) + "</div>"


# ---------------------------------------------------------------------------------------------------------
# whole views


def config_details(result: RunResult) -> str:
    """The configuration and environment, collapsed (a click opens it; no script needed)."""
    return f"<details><summary>Configuration and environment</summary>{config_section(result)}</details>"


def summary_html(result: RunResult) -> str:
    """What a run's display shows first: header, notes, the metrics table, the configuration (collapsed)."""
    parts = [header(result), notes_section(result.notes, result.problems)]
    parts.append("<h4>Metrics</h4>" + metrics_table(result.metrics, result.groups))
    parts.append(config_details(result))
    return wrap("".join(parts))


def result_html(result: RunResult, *, sample_rows: int = 3, sample_tasks: int = 8, cap: int = 1500) -> str:
    """The static view of a run (what a notebook saved without widget state, nbconvert or GitHub show):
    header, notes, metrics, the first few samples of the first tasks, configuration.  Bounded in size."""
    parts = [header(result), notes_section(result.notes, result.problems)]
    parts.append("<h4>Metrics</h4>" + metrics_table(result.metrics, result.groups))
    tasks = result.sample_tasks
    if tasks:
        peeks = []
        for task in tasks[:sample_tasks]:
            source = result.source(task)
            rows = source.head(sample_rows, result.filters(task)[0])
            if not rows:
                rows = source.head(sample_rows)
            count = source.count_hint()
            peeks.append(
                f"<details><summary>{esc(task)}: first {len(rows)} of about {count} sample rows</summary>"
                f"{samples_table(rows, cap=cap)}</details>"
            )
        more = (
            f"<p class='na'>… {len(tasks) - sample_tasks} more tasks</p>" if len(tasks) > sample_tasks else ""
        )
        parts.append("<h4>Samples</h4>" + "".join(peeks) + more)
    parts.append(config_details(result))
    return wrap("".join(parts))


def result_page(result: RunResult) -> str:
    """A standalone HTML document for a run (``mera_magic.display.to_html``)."""
    title = esc(f"{result.model_name or 'lm_eval run'} — MERA results")
    body = [header(result), notes_section(result.notes, result.problems)]
    body.append("<h3>Metrics</h3>" + metrics_table(result.metrics, result.groups))
    body.append("<h3>Configuration</h3>" + config_section(result))
    return f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title></head><body>{wrap(''.join(body))}</body></html>"


def comparison_table(comparison: Comparison) -> str:
    """The comparison table: one value column per run, the difference to the first and its p-value."""
    frame = comparison.table
    if frame.empty:
        return '<p class="ns">Nothing to compare.</p>'
    names = comparison.names
    header_cells = ["Task", "Filter", "Metric", ""] + [esc(n) for n in names]
    for name in names[1:]:
        header_cells += [f"Δ {esc(name)}", "p"]
    rows = []
    for row in frame.to_dict("records"):
        cells = [esc(row["task"]), esc(row["filter"]), esc(row["metric"]), arrow(row["higher_is_better"])]
        for name in names:
            value = row.get(name)
            stderr = row.get(f"{name} stderr")
            if missing(value):
                cells.append(f'<span class="ns">{NOT_SCORED}</span>' if row.get("not_scored") else "")
            else:
                cells.append(
                    fmt_value(value)
                    + (f" <span class='na'>± {fmt_value(stderr)}</span>" if not missing(stderr) else "")
                )
        for name in names[1:]:
            delta = row.get(f"Δ {name}")
            p = row.get(f"p {name}")
            css = _delta_class(delta, row["higher_is_better"], p)
            cells.append(f'<span class="{css}">{_signed(delta)}</span>' if not missing(delta) else "")
            cells.append(_p_text(p))
        rows.append(cells)
    classes = ["", "", "", ""] + ["num"] * (len(names) + 2 * (len(names) - 1))
    note = f'<p class="na">{esc(comparison.test_description)}</p>'
    return table(header_cells, rows, classes) + note


def _signed(value: Any) -> str:
    if missing(value):
        return ""
    return f"{float(value):+.4f}"


def _p_text(p: Any) -> str:
    if missing(p):
        return ""
    star = " *" if float(p) < 0.05 else ""
    return f"{float(p):.3g}{star}"


def _delta_class(delta: Any, higher_is_better: Any, p: Any) -> str:
    if missing(delta) or missing(p) or float(p) >= 0.05 or higher_is_better is None or float(delta) == 0:
        return ""
    better = (float(delta) > 0) == bool(higher_is_better)
    return "ok" if better else "bad"


def differences_table(frame: pd.DataFrame, names: list[str], *, cap: int = PROMPT_CAP) -> str:
    """A page of the documents where the runs answered differently."""
    if frame.empty:
        return '<p class="ns">The runs answered every matched document the same way.</p>'
    rows = []
    for row in frame.to_dict("records"):
        cells = [esc(row.get("doc_id")), collapsible(row.get("prompt"), cap), _short(row.get("target"), 200)]
        for name in names:
            mark = correct_cell(row.get(f"correct {name}"))
            cells.append(f"{_short(row.get(f'answer {name}'), 300)} {mark}")
        rows.append(cells)
    return table(["doc", "prompt", "target", *[esc(n) for n in names]], rows, ["num"])


def comparison_html(comparison: Comparison) -> str:
    """The static view of a comparison: the runs and the table (the chart and the differences are outputs of
    their own in the live view)."""
    runs = "".join(
        f"<li><b>{esc(n)}</b>: {esc(r.model_name)} {esc(r.date.strftime('%Y-%m-%d %H:%M') if r.date else '')}</li>"
        for n, r in zip(comparison.names, comparison.results)
    )
    return wrap(
        f"<div>Comparison of {len(comparison.names)} runs<ul>{runs}</ul></div>{comparison_table(comparison)}"
    )


def comparison_page(comparison: Comparison) -> str:
    """A standalone HTML document for a comparison (``mera_magic.display.to_html``)."""
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>MERA comparison</title></head>"
        f"<body>{comparison_html(comparison)}</body></html>"
    )


def is_nan(value: Any) -> bool:
    """True for a float NaN."""
    return isinstance(value, float) and math.isnan(value)
