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


def fallback_html(title: str, command: str, findings: Sequence[Finding]) -> str:
    """The panel as static HTML: the command and the check's findings (for nbconvert, GitHub, ...)."""
    from ._fields import findings_html

    return (f'<div class="mera-panel-static"><div><b>{html.escape(title)}</b></div>'
            f'<pre style="white-space:pre-wrap">{html.escape(cell_source(command))}</pre>'
            f"{findings_html(findings)}</div>")


def fallback_text(title: str, command: str, findings: Sequence[Finding]) -> str:
    """The panel as plain text: the command and the check's findings."""
    lines = [title, cell_source(command)]
    lines += [f"{f.level}: {f.message}" for f in findings]
    return "\n".join(lines)


def display_javascript(code: str) -> Any:
    """Display a script (inside the current output context)."""
    from IPython.display import Javascript, display

    return display(Javascript(code))
