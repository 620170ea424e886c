"""Teach IPython to show results: the display side registers itself for the result types, so
:mod:`mera_magic.results` never imports :mod:`mera_magic.display` (data flows one way).

:func:`register` adds, by type name (nothing is imported until a result is shown), an IPython display
formatter for ``RunResult`` and ``Comparison`` that writes their outputs (:mod:`.view`), and ``text/html``
formatters for the same types (what ``IPython.display.HTML``-style consumers and exporters ask for).  It is
called by ``%load_ext mera_magic`` and when ``mera_magic`` is imported inside IPython.
"""

from __future__ import annotations

from typing import Any

TYPES = {
    "RunResult": ("mera_magic.results.model", "RunResult"),
    "Comparison": ("mera_magic.results.compare", "Comparison"),
}


def _show(obj: Any) -> bool:
    """IPython display formatter: write the object's outputs; True tells IPython it was shown."""
    from .view import show_comparison, show_result

    if type(obj).__name__ == "Comparison":
        show_comparison(obj)
    else:
        show_result(obj)
    return True


def _html(obj: Any) -> str:
    from .outputs import masked
    from .view import comparison_bundle, result_bundle

    bundle = comparison_bundle(obj) if type(obj).__name__ == "Comparison" else result_bundle(obj)
    return str(masked(bundle)["text/html"])


def register(shell: Any = None) -> bool:
    """Register the formatters with ``shell`` (default: the running IPython); False when there is none."""
    if shell is None:
        try:
            from IPython import get_ipython
        except ImportError:  # pragma: no cover - IPython is a dependency
            return False
        shell = get_ipython()
    formatter = getattr(shell, "display_formatter", None)
    if formatter is None:
        return False
    for module, name in TYPES.values():
        formatter.ipython_display_formatter.for_type_by_name(module, name, _show)
        formatter.formatters["text/html"].for_type_by_name(module, name, _html)
    return True
