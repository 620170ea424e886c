"""What ``%%mera --dry-run`` and ``%mera check`` show: the parsed configuration (secrets masked), what each
part means, and the findings.  Runs nothing."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from .findings import Finding
from .lmeval.parser import option_info
from .spec import RunSpec


def _meaning(key: str) -> str:
    from .session import SESSION
    from .texts import text

    try:
        return text(key, SESSION.config.language) or ""
    except (KeyError, LookupError):
        return ""


def _t(key: str) -> str:
    """The frame's text ``dryrun.<key>`` in the session's language."""
    from .session import SESSION
    from .texts import text

    return text(f"dryrun.{key}", SESSION.config.language)


def _findings_text(findings: list[Finding]) -> list[str]:
    return [f"  {_t('level.' + f.level).upper():<8} {f.message}" for f in findings] or [f"  {_t('no-problems')}"]


def _findings_html(findings: list[Finding]) -> str:
    colors = {"error": "#c62828", "warning": "#ef6c00", "info": "#1565c0"}
    return "".join(
        f"<li><b style='color:{colors[f.level]}'>{_t('level.' + f.level)}</b> <code>{html.escape(f.code)}</code> "
        f"{html.escape(f.message)}</li>" for f in findings) or f"<li style='color:#2e7d32'>{_t('no-problems')}</li>"


def _rows(spec: RunSpec) -> list[tuple[str, str, str, str]]:
    """(section, name, value, meaning) for every part of the (masked) spec."""
    masked = spec.masked()
    rows: list[tuple[str, str, str, str]] = []
    for name, value in masked.env.items():
        rows.append(("environment", name, value, _meaning(f"env.{name}")))
    if masked.launcher:
        rows.append(("program", "launcher", " ".join(masked.launcher), _t("launcher")))
    rows.append(("model", "--model", masked.model, _meaning("options.model")))
    for key, value in masked.model_args.items():
        rows.append(("model_args", key, repr(value) if not isinstance(value, str) else value,
                     _meaning(f"model_args.{masked.model}.{key}") or _meaning(f"model_args.{key}")))
    rows.append(("tasks", "--tasks", ", ".join(masked.tasks), _meaning("options.tasks")))
    for dest, value in masked.options.items():
        info = option_info(dest)
        flag = info.flag if info else f"--{dest}"
        rows.append(("options", flag, "" if value is True else str(value), _meaning(f"options.{dest}") or (info.help if info else "")))
    return rows


@dataclass
class DryRun:
    """A checked, not-run command: shows as a compact table (HTML in notebooks, text elsewhere)."""

    spec: RunSpec
    findings: list[Finding]

    @property
    def ok(self) -> bool:
        """No errors among the findings."""
        return not any(f.level == "error" for f in self.findings)

    def __str__(self) -> str:
        lines = [self.spec.to_command(), ""]
        for section, name, value, meaning in _rows(self.spec):
            lines.append(f"  {section:<12} {name:<28} {value}" + (f"   # {meaning}" if meaning else ""))
        lines.append("")
        lines += _findings_text(self.findings)
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        esc = html.escape
        body = "".join(
            f"<tr><td style='color:#777'>{esc(s)}</td><td><code>{esc(n)}</code></td>"
            f"<td style='text-align:left'><code>{esc(v)}</code></td>"
            f"<td style='text-align:left;color:#555'>{esc(m)}</td></tr>"
            for s, n, v, m in _rows(self.spec))
        verdict = _t("would-run") if self.ok else _t("would-not-run")
        return (f"<div class='mera-dryrun'><b>{_t('title')}</b> — {verdict}; {_t('nothing-run')}."
                f"<pre style='white-space:pre-wrap'>{esc(self.spec.to_command())}</pre>"
                f"<table><thead><tr><th></th><th>{_t('name')}</th><th>{_t('value')}</th><th>{_t('meaning')}</th>"
                f"</tr></thead><tbody>{body}</tbody></table><ul>{_findings_html(self.findings)}</ul></div>")

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/plain": str(self), "text/html": self._repr_html_()}


def dry_run(text: str, namespace: Any = None) -> DryRun:
    """What ``%%mera --dry-run`` shows for ``text``, as a value: the parsed command, what each part means and the
    findings.  Unlike the magic it does not fail on errors (look at ``.ok``), so a notebook can show a command's
    mistakes and go on."""
    from .checks import check
    from .command import parse_command
    from .session import SESSION

    parsed = parse_command(text, namespace, SESSION.secrets)
    return DryRun(parsed.spec, check(parsed, namespace=namespace))


class SuiteDryRun:
    """``%%mera --suite SUITE --dry-run``: the suite's plan (tasks in MERA's order, few-shot, generation settings,
    what resume would skip and why, tasks that cannot load) and the findings of the command; runs nothing."""

    def __init__(self, plan: Any, findings: list[Finding] | None = None) -> None:
        from .checks import check

        self.plan = plan
        if findings is None:
            runnable = [t.task for t in plan.tasks if t.status == "would run"]
            findings = []
            if runnable:
                spec = plan.base.copy()
                spec.tasks = runnable
                findings = check(spec)
        self.findings = findings
        plan.title = _t("suite-title")

    @property
    def ok(self) -> bool:
        """No errors among the findings."""
        return not any(f.level == "error" for f in self.findings)

    def __str__(self) -> str:
        return "\n".join([str(self.plan), "", *_findings_text(self.findings)])

    __repr__ = __str__

    def _repr_html_(self) -> str:
        said = _t("suite-findings") if self.findings else ""
        return (f"<div class='mera-dryrun'>{self.plan._repr_html_()}<p>{_t('suite-nothing-run')} {said}</p>"
                f"<ul>{_findings_html(self.findings)}</ul></div>")

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/plain": str(self), "text/html": self._repr_html_()}
