"""mera-magic: evaluate language models on MERA from a Jupyter notebook.

``%load_ext mera_magic`` registers the ``%%mera`` cell magic (``%%mera?`` shows its manual) and the ``%mera``
line magic (``%mera --help``).  Every step is also a plain function::

    import mera_magic as mm
    spec = mm.parse("lm_eval --model hf --model_args pretrained=... --include_path ./benchmark_tasks --tasks parus")
    mm.check(spec)                 # findings, before anything heavy loads
    result = mm.run(spec)          # in this process; the model stays loaded for the next run
    result.metrics                 # DataFrame;  result.samples("parus")
    mm.compare(result, mm.load("other_results")).table
    mm.submission("mera_results")  # MERA's leaderboard archive

Data flows one way: text -> RunSpec -> check -> run -> RunResult -> display.  Heavy modules (lm_eval's
evaluator, torch, transformers) are imported only when a run starts.
"""

from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING, Any

from .checks import check
from .command import parse
from .errors import MeraError
from .findings import Finding
from .spec import RunSpec

if TYPE_CHECKING:  # pragma: no cover
    from .dryrun import dry_run
    from .results import Comparison, RunResult
    from .results.compare import compare
    from .results.load import load
    from .results.runs import runs
    from .runner import run
    from .submission import submission, validate_archive
    from .suite import run_suite
    from .widgets import panel

__all__ = ["Comparison", "Finding", "MeraError", "RunResult", "RunSpec", "catalog", "check", "compare", "demo", "dry_run",
           "load", "load_ipython_extension", "panel", "parse", "run", "run_suite", "runs", "submission", "validate_archive"]
__version__ = "0.1.0"

_LAZY = {
    "run": ("runner", "run"),
    "run_suite": ("suite", "run_suite"),
    "dry_run": ("dryrun", "dry_run"),
    "RunResult": ("results", "RunResult"),
    "Comparison": ("results", "Comparison"),
    "load": ("results", "load"),
    "runs": ("results", "runs"),
    "compare": ("results", "compare"),
    "panel": ("widgets", "panel"),
    "submission": ("submission", "submission"),
    "validate_archive": ("submission", "validate_archive"),
    "catalog": ("catalog", None),
    "demo": ("demo", None),
}


def __getattr__(name: str) -> Any:
    """Import the heavier parts of the facade on first use.

    The value is then bound in this module: importing a subpackage binds the subpackage's name here
    (``mera_magic.submission`` the package), which would shadow a facade function of the same name
    (``mera_magic.submission(...)``) after its first use; binding the function afterwards keeps the facade
    what it says, however it is reached.
    """
    if name not in _LAZY:
        raise AttributeError(f"module 'mera_magic' has no attribute {name!r}")
    import importlib

    module_name, attribute = _LAZY[name]
    module = importlib.import_module(f".{module_name}", __name__)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value
    return value


class _Facade(types.ModuleType):
    """This package's module type: when the import system binds a subpackage whose name is also a facade
    function (``import mera_magic.submission`` binds ``mera_magic.submission``), the function is bound."""

    def __setattr__(self, name: str, value: Any) -> None:
        lazy = _LAZY.get(name)
        if lazy is not None and lazy[1] is not None and isinstance(value, types.ModuleType) \
                and value.__name__ == f"{__name__}.{lazy[0]}" and hasattr(value, lazy[1]):
            value = getattr(value, lazy[1])
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Facade


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext mera_magic``: register the ``%%mera`` and ``%mera`` magics and how results are shown."""
    from .display.formatters import register
    from .magic import MeraMagic

    register(ipython)
    ipython.register_magics(MeraMagic(ipython))


def _register_display() -> None:
    """Inside IPython, show results with mera_magic.display (results never import display themselves)."""
    import sys

    if "IPython" in sys.modules:
        from .display.formatters import register

        register()


_register_display()
