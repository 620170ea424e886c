"""mera-magic: evaluate language models on MERA from a Jupyter notebook.

``%load_ext mera_magic`` registers the ``%%mera`` cell magic (see ``%%mera?`` for its manual) and the ``%mera``
line magic.  The same steps are plain functions::

    spec = mera_magic.parse("lm_eval --model hf --model_args pretrained=... --tasks parus")
    findings = mera_magic.check(spec)

Data flows one way: text -> RunSpec -> check -> run -> RunResult -> display.
"""

from __future__ import annotations

from typing import Any

from .checks import Finding, check
from .command import parse
from .errors import MeraError
from .spec import RunSpec

__all__ = ["Finding", "MeraError", "RunSpec", "check", "load_ipython_extension", "parse"]
__version__ = "0.1.0"


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext mera_magic``: register the ``%%mera`` and ``%mera`` magics."""
    from .magic import MeraMagic

    ipython.register_magics(MeraMagic(ipython))
