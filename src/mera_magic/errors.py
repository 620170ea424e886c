"""The project's error types.

Every failure that a user can cause (a bad command, a missing file, a model that fails to load) is raised as
a :class:`MeraError` subclass carrying one short message that names what is wrong and how to fix it.  In a
notebook they are shown without a traceback (``_render_traceback_``) and still fail the cell; set
``%config MeraMagic.short_errors = False`` to see the full traceback.  Messages, hints and the full traceback
are masked (:func:`mera_magic.secrets.mask_text`): an error never shows a secret.
"""

from __future__ import annotations


class MeraError(Exception):
    """Base class of every error mera-magic raises on purpose."""

    #: when False, IPython shows the normal traceback instead of the short message
    short: bool = True

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        from .secrets import mask_text

        message = mask_text(str(message))
        hint = None if hint is None else mask_text(str(hint))
        self.message = message
        self.hint = hint
        super().__init__(message if not hint else f"{message}\n{hint}")

    def _render_traceback_(self) -> list[str]:
        """IPython hook: show only the message, in red, instead of a traceback."""
        from .secrets import mask_text

        if not MeraError.short:
            import traceback

            return [mask_text(part) for part in traceback.format_exception(type(self), self, self.__traceback__)]
        name = type(self).__name__
        return [f"\x1b[0;31m{name}\x1b[0m: {line}" if i == 0 else line
                for i, line in enumerate(mask_text(str(self)).splitlines())]


class ParseError(MeraError):
    """The cell text is not a command mera-magic (or lm_eval) understands."""


class CheckError(MeraError):
    """``check`` found errors: the run would fail, so it is not started."""

    def __init__(self, message: str, findings: list | None = None, *, hint: str | None = None) -> None:
        self.findings = findings or []
        super().__init__(message, hint=hint)


class RunError(MeraError):
    """The evaluation started but failed (model or task failed to load, out of memory, server down, ...)."""


class RunInterrupted(MeraError):
    """The run was stopped by the user (kernel interrupt); the environment was restored."""


class ResultsError(MeraError):
    """A results folder or file could not be read (names the file and, for JSONL, the line)."""


class SubmissionError(MeraError):
    """The MERA submission archive cannot be built as the website would accept it."""


class CompatibilityError(MeraError):
    """The installed lm_eval cannot load any task of a task folder (e.g. MERA fork-only keys on stock lm_eval)."""
