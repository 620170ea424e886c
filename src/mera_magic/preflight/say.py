"""Findings worded from the texts table (:mod:`mera_magic.texts_findings`), in the session's language."""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from ..findings import Finding, Level


def finding(level: Level, code: str, where: str, *, text_code: str | None = None, **fields: object) -> Finding:
    """A :class:`Finding` whose message is the text ``finding.<text_code or code>`` with ``fields`` filled in."""
    from ..texts import text

    return Finding(level, code, text(f"finding.{text_code or code}", None, **fields), where)


def maybe(word: str, candidates: Sequence[str]) -> str:
    """`` Did you mean `x`?`` (or its Russian twin) for the closest candidate, or an empty string."""
    from ..texts import text

    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return text("finding.did-you-mean", name=close[0]) if close else ""
