"""What could not be read: problems collected while loading, and the warning that reports them.

Reading never stops at the first bad line: every line that can be read is shown, and each one that cannot
becomes a :class:`Problem` naming the file and line.  ``RunResult.problems`` lists them and the display shows
them.  A folder with no results at all raises :class:`mera_magic.errors.ResultsError`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

from ..errors import ResultsError


class ResultsWarning(UserWarning):
    """Part of a results folder could not be read (the rest is still shown)."""


@dataclass(frozen=True)
class Problem:
    """One thing that could not be read: the file, the 1-based line (None for a whole file) and why."""

    path: Path
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else str(self.path)
        return f"{where}: {self.message}"

    def error(self) -> ResultsError:
        """This problem as the project's error type (to raise it)."""
        return ResultsError(str(self))


def warn_problems(problems: list[Problem], what: str) -> None:
    """Warn once about ``problems`` met while reading ``what`` (nothing when the list is empty)."""
    if not problems:
        return
    first = problems[0]
    more = f" (and {len(problems) - 1} more; see .problems)" if len(problems) > 1 else ""
    warnings.warn(f"{what}: skipped what could not be read: {first}{more}", ResultsWarning, stacklevel=3)
