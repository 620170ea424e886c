"""What the panel asks of the notebook front end: a new ``%%mera`` cell, and a text form where widgets cannot render.

Inserting a cell.  IPython's ``shell.set_next_input`` is delivered with the reply to an *execute* request, so it
works while a cell runs (``panel(...).insert_cell()`` in code) but not from a button click, which reaches the
kernel as a widget comm message with no execute reply to carry it.  For clicks the panel displays a small
script in its output area instead.  JupyterLab 4 and Notebook 7 do not expose their application object to page
scripts, so the script works the notebook's own controls: it makes the panel's cell the active one, presses the
"insert a cell below" toolbar button (``data-command='notebook:insert-cell-below'``) and pastes the command into
the new cell's editor, then checks that the new cell holds exactly the command.  Where that does not work (VS Code, other front ends) it copies
the command to the clipboard and says so.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from typing import Any

from ..findings import Finding

#: the cell magic the inserted cell starts with
CELL_MAGIC = "%%mera"


def cell_source(command: str) -> str:
    """The source of the cell that runs ``command``."""
    return f"{CELL_MAGIC}\n{command}"


def in_execute_request() -> bool:
    """True while the kernel is executing a cell (not handling a widget message)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    kernel = getattr(shell, "kernel", None)
    if kernel is None:
        return shell is not None  # a terminal IPython: set_next_input works there
    try:
        parent = kernel.get_parent("shell")
    except TypeError:  # ipykernel < 6.? has get_parent() without a channel
        parent = kernel.get_parent()
    except Exception:
        return False
    return (parent or {}).get("header", {}).get("msg_type") == "execute_request"


def set_next_input(source: str) -> bool:
    """Ask IPython to put ``source`` in a new cell below the running one; False when there is no IPython."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False
    shell.set_next_input(source, replace=False)
    return True


_INSERT_JS = """
(async function (element) {
  const source = %(source)s, okText = %(ok)s, manualText = %(manual)s;
  const say = (text) => { const p = document.createElement('div'); p.className = 'mera-insert-status';
    p.textContent = text; p.style.fontSize = '90%%'; p.style.color = '#555'; element.appendChild(p); };
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const cellOf = (node) => node && node.closest ? node.closest('.jp-Cell') : null;
  const sourceOf = (cell) => {
    const cm = cell && cell.querySelector('.cm-content');
    return cm ? Array.from(cm.querySelectorAll('.cm-line')).map((l) => l.textContent).join('\\n') : null; };
  try {
    for (let i = 0; i < 50 && !element.isConnected; i++) await sleep(50);  // rendered before it is attached
    const cell = cellOf(element);
    const notebook = cell && cell.closest('.jp-Notebook');
    const panel = cell && cell.closest('.jp-NotebookPanel');
    if (cell && notebook && panel) {
      const press = (node) => node.dispatchEvent(new MouseEvent('mousedown',
        { bubbles: true, cancelable: true, button: 0 }));
      const cells = () => Array.from(notebook.querySelectorAll('.jp-Cell'));
      if (!cell.classList.contains('jp-mod-active')) {  // make the panel's cell the active one
        const prompt = cell.querySelector('.jp-InputPrompt') || cell;
        press(prompt);
        prompt.dispatchEvent(new MouseEvent('mouseup', { bubbles: true, cancelable: true, button: 0 }));
        await sleep(100);
      }
      const insert = "[data-command='notebook:insert-cell-below']";
      const buttons = [panel.querySelector('.jp-NotebookPanel-toolbar ' + insert), cell.querySelector(insert)];
      const count = cells().length;
      let button = null;
      for (button of buttons.filter((b) => b)) {  // toolbar buttons act on mousedown, some on click
        press(button);
        await sleep(300);
        if (cells().length > count) break;
        button.click();
        await sleep(300);
        if (cells().length > count) break;
      }
      const added = cells()[cells().indexOf(cell) + 1];
      if (cells().length === count + 1 && added && sourceOf(added) === '') {
        const editor = added.querySelector('.cm-content');
        editor.focus();
        await sleep(100);
        const data = new DataTransfer();
        data.setData('text/plain', source);
        editor.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
        await sleep(100);
        if (sourceOf(added) === source) { say(okText); return; }
      }
      console.warn('mera-magic: no cell inserted', { button: !!button, before: count, after: cells().length,
        added: added ? sourceOf(added) : null });
    } else {
      console.warn('mera-magic: the panel is not in a JupyterLab notebook cell');
    }
  } catch (err) { console.warn('mera-magic: inserting a cell failed', err); }
  try { await navigator.clipboard.writeText(source); } catch (err) { /* the text is shown below anyway */ }
  say(manualText);
})(element);
"""


def insert_cell_script(source: str, ok_text: str, manual_text: str) -> str:
    """The JavaScript that inserts ``source`` as a new cell below the panel's cell (see the module docstring)."""
    return _INSERT_JS % {"source": json.dumps(source), "ok": json.dumps(ok_text), "manual": json.dumps(manual_text)}


_TOKEN = re.compile(r"""(?P<space>\s+)|(?P<word>(?:'[^']*'|"(?:\\.|[^"\\])*"|\\.|[^\s'"\\])+)|(?P<other>.)""", re.S)
_HIGHLIGHT = {"magic": "color:#7b1fa2;font-weight:bold", "program": "color:#1565c0;font-weight:bold",
              "flag": "color:#00695c;font-weight:bold", "env": "color:#6a1b9a", "value": "color:#333"}


def command_html(command: str) -> str:
    """The cell source of ``command`` as highlighted HTML: the magic, the program, flags, variables, values."""
    out: list[str] = []
    program_seen = False
    for line in cell_source(command).split("\n"):
        if line.startswith("%%"):
            out.append(f'<span style="{_HIGHLIGHT["magic"]}">{html.escape(line)}</span>')
            continue
        parts: list[str] = []
        for match in _TOKEN.finditer(line):
            text = match.group(0)
            if match.lastgroup != "word":
                parts.append(html.escape(text))
                continue
            if text.startswith("-") and text != "-m":
                kind = "flag"
                program_seen = True
            elif not program_seen and re.match(r"[A-Za-z_][A-Za-z0-9_]*=", text):
                kind = "env"
            elif text in ("lm_eval", "lm-eval", "accelerate", "python", "python3", "-m", "launch"):
                kind = "program"
            else:
                kind = "value"
            parts.append(f'<span style="{_HIGHLIGHT[kind]}">{html.escape(text)}</span>')
        out.append("".join(parts))
    return "\n".join(out)


#: the static record is hidden while the live panel shows in the same output area, and the widget's
#: "Error displaying widget" / "Loading widget..." placeholder is hidden where the record stands in for it
#: (CSS cannot nest ``:has``, so "a widget output that holds no live panel" is said with ``:not(:has())``)
_RECORD_STYLE = """<style>
.jp-OutputArea:has(.mera-panel) > .jp-OutputArea-child:has(.mera-panel-static) { display: none; }
.jp-OutputArea:has(.mera-panel-static) > .jp-OutputArea-child:has(> .jp-OutputArea-output.jupyter-widgets, > [data-mime-type="application/vnd.jupyter.widget-view+json"]):not(:has(.mera-panel)) { display: none; }
</style>"""


def fallback_html(title: str, command: str, findings: Sequence[Finding], summary: str = "",
                  run_html: str = "") -> str:
    """The panel as static HTML: the command (highlighted) and the check's findings, and the last run's results.

    What a saved notebook shows where the panel cannot render (kernel gone, nbconvert, GitHub).
    """
    from ._fields import findings_html

    head = f'<div style="font-weight:bold;margin-bottom:2px">{html.escape(title)}</div>'
    code = (f'<pre class="mera-command-static" style="white-space:pre-wrap;word-break:break-word;margin:2px 0;'
            f'padding:6px;background:#f7f7f7;border:1px solid #e0e0e0;border-radius:3px">{command_html(command)}</pre>')
    said = f'<div style="font-size:90%;color:#555">{html.escape(summary)}</div>' if summary else ""
    return (f'<div class="mera-panel-static">{_RECORD_STYLE}{head}{code}{said}{findings_html(findings)}'
            f"{run_html}</div>")


def fallback_text(title: str, command: str, findings: Sequence[Finding], run_text: str = "") -> str:
    """The panel as plain text: the command and the check's findings (and the last run's results)."""
    lines = [title, cell_source(command)]
    lines += [f"{f.level}: {f.message}" for f in findings]
    if run_text:
        lines += ["", run_text]
    return "\n".join(lines)


def display_javascript(code: str) -> Any:
    """Display a script (inside the current output context)."""
    from IPython.display import Javascript, display

    return display(Javascript(code))


_WRITEBACK_JS = """(async function (button) {
  const source = %(source)s, doneText = %(done)s;
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const cell = button.closest('.jp-Cell');
  const editor = cell && cell.querySelector('.jp-InputArea .cm-content');
  const text = () => Array.from(editor.querySelectorAll('.cm-line')).map((l) => l.textContent).join('\\n');
  if (editor) {
    editor.focus();
    await sleep(50);
    const range = document.createRange();
    range.selectNodeContents(editor);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    await sleep(100);
    const data = new DataTransfer();
    data.setData('text/plain', source);
    editor.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
    await sleep(100);
    if (text() === source) { button.textContent = doneText; button.disabled = true; return; }
  }
  try { await navigator.clipboard.writeText(source); } catch (err) { /* shown in the command box anyway */ }
  console.warn('mera-magic: the cell could not be rewritten; the command was copied to the clipboard');
})(this); return false;"""


def writeback_html(source: str, label: str, tooltip: str, done: str) -> str:
    """A button that replaces the source of the panel's own cell with ``source`` (its ``%%mera --panel`` text)."""
    script = _WRITEBACK_JS % {"source": json.dumps(source), "done": json.dumps(done)}
    return (f'<button class="mera-writeback jupyter-button" title="{html.escape(tooltip)}" '
            f'style="height:28px;padding:0 12px" onclick="{html.escape(script)}">'
            f'<i class="fa fa-pencil"></i> {html.escape(label)}</button>')
