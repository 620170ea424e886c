"""The ``Submission`` report: per task the file used, its documents and status; then every finding."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from ..catalog import MeraTask
from ..findings import Finding

_STATUS_TEXT = {
    "ok": "ok",
    "missing": "missing",
    "error": "error",
    "left out": "left out",
}
_COLORS = {"ok": "#1a7f37", "missing": "#b35900", "error": "#cf222e", "left out": "#b35900",
           "error-level": "#cf222e", "warning-level": "#b35900", "info-level": "#57606a"}


@dataclass
class TaskEntry:
    """One task of the archive.

    ``status``: "ok" (packed), "missing" (no samples), "error" (samples found but not packable) or "left out"
    (missing or broken, and left out of a partial archive).
    """

    task: MeraTask
    source: str
    file: Optional[Path] = None
    older: list[Path] = field(default_factory=list)
    model: Optional[str] = None
    docs: int = 0
    status: str = "missing"

    @property
    def included(self) -> bool:
        """True when the task's file is in the archive."""
        return self.status == "ok"


@dataclass
class Submission:
    """The outcome of :func:`mera_magic.submission`: the archive's path (None when nothing was written), the
    per-task entries and the findings (errors, warnings, notes) of the website's checks and of ours."""

    output_dir: Path
    gen: bool
    path: Optional[Path] = None
    model: Optional[str] = None
    entries: list[TaskEntry] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    #: "" for MERA's text sets, "multimodal" for MERA_MULTIMODAL's archive
    kind: str = ""

    @property
    def partial(self) -> bool:
        """True when some MERA task of the set is not in the archive."""
        return any(not e.included for e in self.entries)

    @property
    def errors(self) -> list[Finding]:
        """The error findings."""
        return [f for f in self.findings if f.level == "error"]

    @property
    def warnings(self) -> list[Finding]:
        """The warning findings."""
        return [f for f in self.findings if f.level == "warning"]

    @property
    def ok(self) -> bool:
        """True when a complete archive was written with no error."""
        return self.path is not None and not self.partial and not self.errors

    @property
    def set_name(self) -> str:
        """``regular``, ``generative`` or ``multimodal``."""
        if self.kind:
            return self.kind
        return "generative" if self.gen else "regular"

    def summary(self) -> str:
        """One line: what was written (or not), for which model and set."""
        packed = sum(e.included for e in self.entries)
        who = f" of {self.model}" if self.model else ""
        if self.path is None:
            return f"No archive written: MERA {self.set_name} set{who}, {packed} of {len(self.entries)} tasks packable."
        kind = "Partial archive" if self.partial else "Archive"
        return f"{kind} {self.path}: MERA {self.set_name} set{who}, {packed} of {len(self.entries)} tasks."

    def _rel(self, path: Optional[Path]) -> str:
        if path is None:
            return "-"
        try:
            return path.relative_to(self.output_dir.resolve()).as_posix()
        except ValueError:
            return str(path)

    def __repr__(self) -> str:
        rows = [("task", "lm_eval task", "file", "docs", "status")]
        for e in self.entries:
            rows.append((e.task.submission_name, e.source, self._rel(e.file), str(e.docs) if e.docs else "-",
                         _STATUS_TEXT[e.status]))
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        lines = [self.summary(), ""]
        lines += ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r)).rstrip() for r in rows]
        if self.findings:
            lines.append("")
            lines += [f"{f.level}: {f.message}" for f in self.findings]
        return "\n".join(lines)

    __str__ = __repr__

    def _repr_html_(self) -> str:
        esc = html.escape
        head = "".join(f"<th style='text-align:left'>{h}</th>" for h in
                       ("task", "lm_eval task", "file", "docs", "status"))
        body = []
        for e in self.entries:
            older = f" <small>(+{len(e.older)} older)</small>" if e.older else ""
            body.append(
                "<tr>"
                f"<td>{esc(e.task.submission_name)}</td><td><code>{esc(e.source)}</code></td>"
                f"<td><code>{esc(self._rel(e.file))}</code>{older}</td>"
                f"<td style='text-align:right'>{e.docs or '-'}</td>"
                f"<td style='color:{_COLORS[e.status]}'>{esc(_STATUS_TEXT[e.status])}</td>"
                "</tr>")
        notes = "".join(
            f"<li style='color:{_COLORS[f.level + '-level']}'><b>{esc(f.level)}</b>: {esc(f.message)}</li>"
            for f in self.findings)
        return (f"<div class='mera-submission'><p><b>{esc(self.summary())}</b></p>"
                f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
                + (f"<ul>{notes}</ul>" if notes else "") + "</div>")
