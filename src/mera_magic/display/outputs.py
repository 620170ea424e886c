"""Plain outputs that controls update in place.

A :class:`LiveOutput` is one ``display_data`` output holding ``text/html`` + ``text/plain`` (and, for a chart,
plotly's JSON): shown once with a ``display_id``, then replaced in place with ``update_display`` whenever a
control changes what it shows.  Whatever was last shown is what the notebook saves, and every viewer (JupyterLab
without a kernel, nbconvert, GitHub, VS Code) renders it without JavaScript or widget state.
"""

from __future__ import annotations

from typing import Any

Bundle = dict[str, Any]


def masked(bundle: Bundle) -> Bundle:
    """The bundle with every secret masked in its text parts: every output of the results views goes through
    here, so a token in a prompt, an answer or a config value never reaches the saved notebook."""
    from ..secrets import mask_text

    return {mime: mask_text(value) if isinstance(value, str) else value for mime, value in bundle.items()}

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


class LiveOutput:
    """One plain output, shown with :meth:`show` and replaced by :meth:`update`; ``bundle`` is what it holds now."""

    def __init__(self, bundle: Bundle) -> None:
        self.bundle: Bundle = masked(bundle)
        self.handle: Any = None

    def show(self) -> None:
        """Display the bundle as a new output with a display id (later updates replace it in place)."""
        from IPython.display import display

        self.handle = display(self.bundle, raw=True, display_id=True)

    def update(self, bundle: Bundle) -> None:
        """Replace what the output shows (also before it is shown: then :meth:`show` shows this)."""
        self.bundle = masked(bundle)
        if self.handle is not None:
            self.handle.update(self.bundle, raw=True)


def show_bundle(bundle: Bundle) -> None:
    """Display a bundle once (a plain output that never changes)."""
    from IPython.display import display

    display(masked(bundle), raw=True)


def show_controls(widget: Any, text: str = "") -> None:
    """Display a control widget as its own output whose ``text/plain`` is ``text`` (not the widget's repr): a
    viewer without the widget's state shows that line, and the results' stylesheet hides the widget's
    "model not found" in JupyterLab (see :data:`mera_magic.display.html.STYLE`)."""
    from IPython.display import display

    data = widget._repr_mimebundle_()
    if isinstance(data, tuple):  # (data, metadata) from some versions
        data = data[0]
    bundle = {key: value for key, value in (data or {}).items() if key != "text/plain"}
    bundle["text/plain"] = text
    display(masked(bundle), raw=True)


def widgets_available() -> bool:
    """True inside a Jupyter kernel (an IPython shell with a kernel) where ipywidgets imports."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return False
    shell = get_ipython()
    if shell is None or getattr(shell, "kernel", None) is None:
        return False
    try:
        import ipywidgets  # noqa: F401
    except ImportError:  # pragma: no cover - ipywidgets is a dependency
        return False
    return True
