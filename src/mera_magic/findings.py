"""``Finding``: one thing the checks noticed, the bottom of the package (imports nothing of mera_magic).

Checks, the compatibility diagnosis, the submission checks, the dry run and the panel all speak it.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Level = Literal["error", "warning", "info"]


@dataclass(frozen=True)
class Finding:
    """One thing ``check`` noticed.

    ``code`` is kebab-case (``unknown-task``, ``include-cycle``); the submission checks use the MERA website's
    own error names (``no_task``, ``unreadable_zip``), so that a finding matches what the website would say.
    ``where`` says what it concerns: ``model``, ``model_args.<key>``, ``tasks``, ``env.<NAME>`` or
    ``options.<dest>`` (the lm_eval destination name), so a panel can show it next to its field.
    """

    level: Level
    code: str
    message: str
    where: str = ""

    def __str__(self) -> str:
        return f"{self.level}: {self.message}"


def did_you_mean(word: str, candidates: Sequence[str], n: int = 1) -> str:
    """`` Did you mean `x`?`` or an empty string."""
    close = difflib.get_close_matches(word, list(candidates), n=n, cutoff=0.6)
    return f" Did you mean `{close[0]}`?" if close else ""
