"""Running from the panel the way a ``%%mera`` cell runs: one run at a time, live progress, a Stop button.

A click on Run reaches the kernel as a widget message, and the kernel handles it like a cell: it is busy until
the run ends, so the run is :func:`mera_magic.runner.run` itself (same checks, environment, worker thread,
progress, failure messages).  Its live progress HTML is handed to :attr:`RunControls.progress` (a display
handle would not update inside a widget output).

- Run is disabled (and says "Running…") for the whole run; a click that the browser sent before the run ended
  (the message was queued while the kernel was busy) is recognised by its send time and ignored.
- Stop and the kernel's stop button both interrupt the kernel: a busy kernel cannot receive a widget message, so
  Stop is a small page script that asks the Jupyter server to interrupt this kernel (as the toolbar button
  does), or presses the notebook's own interrupt button where the server cannot be asked.  The runner turns the
  interrupt into status "stopped" within seconds.  The click may be handled in a kernel subshell thread
  (ipykernel 7 with JupyterLab 4), where the interrupt, which only the main thread receives, would be ignored;
  so during a panel run the main thread gets a SIGINT handler that sets a flag, and the next progress update
  raises KeyboardInterrupt in the run's own thread, where the runner's loop stops the evaluation.  The same flag
  covers an interrupt swallowed on its way by library code.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import signal
import threading
from typing import Any, Callable, Optional

import ipywidgets as W

_STOP_JS = """(async function (button) {
  button.disabled = true;
  const kernel = %(kernel)s;
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const panelEl = button.closest('.mera-panel');
  const progress = panelEl && panelEl.querySelector('.mera-run-progress');
  const running = () => !progress || progress.textContent.includes('— running');
  let config = {};
  try { config = JSON.parse(document.getElementById('jupyter-config-data').textContent); } catch (e) {}
  const base = (config.baseUrl || document.body.dataset.baseUrl || '/').replace(/\\/?$/, '/');
  const xsrf = (document.cookie.match(/(?:^|; )_xsrf=([^;]*)/) || [])[1];
  const headers = {};
  if (config.token) headers['Authorization'] = 'token ' + config.token;
  if (xsrf) headers['X-XSRFToken'] = decodeURIComponent(xsrf);
  let asked = false;
  for (let attempt = 0; attempt < 5 && kernel; attempt++) {  // again while the run still says "running"
    try {
      const reply = await fetch(base + 'api/kernels/' + kernel + '/interrupt',
        { method: 'POST', headers: headers, credentials: 'same-origin' });
      if (!reply.ok) { console.warn('mera-magic: the server did not interrupt the kernel', reply.status); break; }
      asked = true;
    } catch (e) { console.warn('mera-magic: interrupting through the server failed', e); break; }
    await sleep(3000);
    if (!running()) return;
  }
  if (asked) return;
  const panel = button.closest('.jp-NotebookPanel');
  const press = panel && panel.querySelector("[data-command='notebook:interrupt-kernel']");
  if (press) { press.dispatchEvent(new MouseEvent('mousedown', { bubbles: true, cancelable: true, button: 0 }));
               return; }
  button.disabled = false;
  button.title = %(manual)s;
})(this); return false;"""


def kernel_id() -> Optional[str]:
    """The id of this kernel as the Jupyter server knows it (from the connection file name), or None."""
    try:
        from ipykernel.connect import get_connection_file

        name = get_connection_file()
    except Exception:  # noqa: BLE001 - not in a kernel (tests, a terminal)
        return None
    stem = name.rsplit("/", 1)[-1]
    if stem.startswith("kernel-") and stem.endswith(".json"):
        return stem[len("kernel-"):-len(".json")]
    return None


def stop_button_html(label: str, tooltip: str, manual: str) -> str:
    """The Stop button: an HTML button whose click interrupts this kernel from the page (see the module doc)."""
    script = _STOP_JS % {"kernel": json.dumps(kernel_id()), "manual": json.dumps(manual)}
    return (f'<button class="mera-stop jupyter-button mod-danger" title="{html.escape(tooltip)}" '
            f'style="height:28px;padding:0 12px" onclick="{html.escape(script)}">'
            f'<i class="fa fa-stop"></i> {html.escape(label)}</button>')


def message_sent_at() -> Optional[dt.datetime]:
    """When the front end sent the message the kernel is handling now (a button click), or None."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return None
    kernel = getattr(get_ipython(), "kernel", None)
    if kernel is None:
        return None
    try:
        parent = kernel.get_parent("shell")
    except Exception:  # noqa: BLE001 - older ipykernel, or no message
        return None
    date = (parent or {}).get("header", {}).get("date")
    if isinstance(date, str):
        try:
            date = dt.datetime.fromisoformat(date.replace("Z", "+00:00"))
        except ValueError:
            return None
    return date if isinstance(date, dt.datetime) else None


def now() -> dt.datetime:
    """The current time, timezone-aware (comparable with message dates)."""
    return dt.datetime.now(dt.timezone.utc)


class RunControls:
    """Run / Stop buttons, the live progress area and the run's output, with the one-run-at-a-time rule."""

    def __init__(self, texts: Callable[..., str]) -> None:
        self.texts = texts
        self.run_button = W.Button(icon="play", button_style="primary", layout=W.Layout(width="auto"))
        self.stop = W.HTML(layout=W.Layout(display="none"))
        self.progress = W.HTML(layout=W.Layout(width="100%", margin="2px 0"))
        self.progress.add_class("mera-run-progress")
        self.output = W.Output(layout=W.Layout(width="100%", margin="2px 0"))
        self.running = False
        self.runs = 0
        self.ignored_clicks = 0
        self.last_status: Optional[str] = None
        self.stop_requested = False
        self._handler_installed = False
        self._run_thread: Optional[threading.Thread] = None
        self._ended_at: Optional[dt.datetime] = None
        self.relabel()

    def relabel(self) -> None:
        """Button texts in the current language."""
        if self.running:
            self.run_button.description = self.texts("ui.running")
        else:
            self.run_button.description = self.texts("ui.run")
        self.run_button.tooltip = self.texts("ui.run.help")
        self.stop.value = stop_button_html(self.texts("ui.stop"), self.texts("ui.stop.help"),
                                           self.texts("ui.stop.help"))

    def stale_click(self) -> bool:
        """True for a click that arrives during a run, or that was sent before the last run ended."""
        if self.running:
            return True
        sent = message_sent_at()
        if sent is None or self._ended_at is None:
            return False
        if sent.tzinfo is None:
            sent = sent.replace(tzinfo=dt.timezone.utc)
        return sent < self._ended_at

    def show_progress(self, text: str) -> None:
        """The runner's live progress HTML (called from the runner's loop, where an interrupt is handled)."""
        self.progress.value = text
        status = _status_of(text)
        if status:
            self.last_status = status
        if self._handler_installed and threading.current_thread() is threading.main_thread():
            # a library loaded during the run may have put its own C-level SIGINT handler in place: ours again
            signal.signal(signal.SIGINT, self._interrupted)
        if self.stop_requested and status == "running":
            raise KeyboardInterrupt  # an interrupt that was swallowed on its way: raise it where the runner stops

    def _interrupted(self, signum: int, frame: Any) -> None:
        self.stop_requested = True
        if threading.current_thread() is self._run_thread:
            raise KeyboardInterrupt  # the run is in this (main) thread: stop it here and now

    def _on_main_thread(self, action: Callable[[], None]) -> bool:
        """Do ``action`` in the main thread: now if this is it, else through the kernel's event loop."""
        if threading.current_thread() is threading.main_thread():
            action()
            return True
        try:
            from IPython import get_ipython

            loop = get_ipython().kernel.io_loop  # type: ignore[union-attr]
        except Exception:  # noqa: BLE001 - no kernel: no main-thread loop to ask
            return False
        loop.add_callback(action)
        return True

    def begin(self) -> None:
        """Enter the running state: Run disabled and busy, Stop shown."""
        self.running = True
        self.runs += 1
        self.last_status = "running"
        self.run_button.disabled = True
        self.run_button.icon = "hourglass-half"
        self.run_button.description = self.texts("ui.running")
        self.stop.layout.display = None
        self.relabel()

    def end(self) -> None:
        """Leave the running state."""
        self.running = False
        self._ended_at = now()
        self.run_button.disabled = False
        self.run_button.icon = "play"
        self.stop.layout.display = "none"
        self.relabel()

    def run(self, work: Callable[[Callable[[str], None]], Any]) -> Any:
        """Call ``work(progress_sink)`` in the running state; KeyboardInterrupt counts as "stopped"."""
        self.begin()
        self.stop_requested = False
        self._run_thread = threading.current_thread()
        previous: list[Any] = []

        def install() -> None:
            if self.running and not previous:
                previous.append(signal.signal(signal.SIGINT, self._interrupted))

        def restore() -> None:
            if previous:
                signal.signal(signal.SIGINT, previous.pop())

        self._handler_installed = self._on_main_thread(install)
        try:
            result = work(self.show_progress)
            if self.last_status == "running":  # it ended before the runner's progress said how
                self.last_status = "done" if result is not None else "failed"
            return result
        except KeyboardInterrupt:  # an interrupt outside the runner's loop (before or after the evaluation)
            self.last_status = "stopped"
            self.progress.value = self.progress.value.replace("</b> — running", "</b> — stopped", 1)
            return None
        finally:
            self._handler_installed = False
            self.end()
            self._on_main_thread(restore)


def _status_of(progress_html: str) -> Optional[str]:
    """The status word of the runner's progress block (``running``, ``stopping``, ``done``, ``failed``, ``stopped``)."""
    marker = "</b> — "
    at = progress_html.find(marker)
    if at < 0:
        return None
    word = progress_html[at + len(marker):].split(",", 1)[0].strip()
    return word or None
