"""Where lm_eval is installed and which version it is, found without importing it."""

from __future__ import annotations

import contextlib
import importlib.util
from dataclasses import dataclass
from functools import cache
from pathlib import Path


def lm_eval_dir() -> Path | None:
    """The installed lm_eval package folder (found without importing it)."""
    spec = importlib.util.find_spec("lm_eval")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


@cache
def lm_eval_version() -> str:
    """The installed lm_eval's version string (``0.4.13``), from its distribution metadata."""
    from importlib.metadata import PackageNotFoundError, version

    for dist in ("lm_eval", "lm-eval"):
        with contextlib.suppress(PackageNotFoundError):
            return version(dist)
    return "unknown"


def version_tuple(text: str | None = None) -> tuple[int, ...]:
    """``"0.4.8.dev0"`` -> ``(0, 4, 8)``."""
    parts = []
    for piece in (text or lm_eval_version()).split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


@dataclass(frozen=True)
class Capabilities:
    """What the installed lm_eval offers, read from its files (nothing imported).

    Decided by what the files contain rather than by version numbers, so a fork with a stock version string
    (MERA's are 0.4.4- and 0.4.8-based) is described by what it really has.
    """

    version: str
    folder: Path | None
    #: how its CLI body is reached: ``"run"`` (``lm_eval._cli.run.Run._execute``, 0.4.10+) or
    #: ``"cli_evaluate"`` (``lm_eval.__main__.cli_evaluate(args)``, 0.4.4-0.4.9)
    cli: str
    #: ``import lm_eval`` stays light (0.4.10+); older packages import the evaluator and torch in __init__
    light_import: bool

    @property
    def label(self) -> str:
        """``lm_eval 0.4.13`` (for messages)."""
        return f"lm_eval {self.version}"


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return ""


@cache
def capabilities() -> Capabilities:
    """The :class:`Capabilities` of the installed lm_eval."""
    folder = lm_eval_dir()
    if folder is None:
        return Capabilities("not installed", None, "run", True)
    has_run = (folder / "_cli" / "run.py").is_file()
    # a top-level `from .evaluator import ...` (not one inside the lazy __getattr__) imports torch with lm_eval
    heavy = any(line.startswith(("from .evaluator import", "import lm_eval.evaluator", "from lm_eval.evaluator"))
                for line in _read(folder / "__init__.py").splitlines())
    return Capabilities(lm_eval_version(), folder, "run" if has_run else "cli_evaluate", not heavy)
