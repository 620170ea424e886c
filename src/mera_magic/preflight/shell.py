"""Findings about the command's shell text: variables defined nowhere, backslashes the shell would drop."""

from __future__ import annotations

from collections.abc import Iterable

from ..command import Parsed
from ..findings import Finding
from .say import finding


def check_shell(parsed: Parsed) -> Iterable[Finding]:
    """An error per ``$VARIABLE`` defined nowhere; a warning per unquoted word that lost a backslash."""
    for name in parsed.undefined:
        yield finding("error", "undefined-variable", f"env.{name}", name=name)
    for word in parsed.backslashes:
        became = "".join(ch for i, ch in enumerate(word) if ch != "\\" or (i > 0 and word[i - 1] == "\\"))
        yield finding("warning", "shell-backslash", "", word=word, became=became)
