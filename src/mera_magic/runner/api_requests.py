"""The API backends' requests inside a run: counted as they are answered, all settled when the run ends.

lm_eval's API backends (``TemplateAPI``) send concurrent requests with
``asyncio.run(... tqdm_asyncio.gather(*tasks))``.  When one request fails for good, ``gather`` raises at once and
the other tasks are left to their retries; ``asyncio.run`` cancels the pending ones, but the exceptions of those
that already failed are never retrieved, so when they are garbage-collected, later, asyncio logs "Task exception
was never retrieved" with an aiohttp/tenacity traceback for each, into whatever cell runs then.

:func:`settled_requests` replaces that ``gather`` for the duration of a run (lm_eval 0.4.4 to 0.4.13 call it the
same way): every answered request advances the cell's progress ("Requesting API", done/total), and however the
gather ends (an error, the stop button) the remaining requests are cancelled and every outcome is retrieved
before the run returns.  :func:`requests_done` reads the count back for the failure message.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import Awaitable, Iterator
from typing import Any

from .progress import Progress, ProgressTqdm

__all__ = ["REQUEST_PHASE", "requests_done", "settled_requests"]

#: the name of lm_eval's own request bar (sequential path), used for the concurrent one too
REQUEST_PHASE = "Requesting API"
#: loggers lm_eval's API code logs through (0.4.10+: per module; before: "lm-eval")
_API_LOGGERS = ("lm_eval.models.api_models", "lm-eval")


class _DropCancelled(logging.Filter):
    """While pending requests are being cancelled, lm_eval logs "Exception:CancelledError(), retrying" for each."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "CancelledError" not in record.getMessage()


class _SettledGather:
    """Stands in for ``tqdm.asyncio.tqdm_asyncio`` in ``lm_eval.models.api_models`` (only ``gather`` is used)."""

    @staticmethod
    async def gather(*aws: Awaitable[Any], desc: str | None = None, **_: Any) -> list[Any]:
        tasks = [asyncio.ensure_future(a) for a in aws]
        bar = ProgressTqdm(total=len(tasks), desc=desc or REQUEST_PHASE)

        def answered(task: asyncio.Future[Any]) -> None:
            if not task.cancelled() and task.exception() is None:  # .exception() also marks it retrieved
                bar.update(1)

        for task in tasks:
            task.add_done_callback(answered)
        try:
            return list(await asyncio.gather(*tasks))
        except BaseException:
            quiet = _DropCancelled()
            loggers = [logging.getLogger(name) for name in _API_LOGGERS]
            for logger in loggers:
                logger.addFilter(quiet)
            try:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)  # wait for them; retrieves every outcome
            finally:
                for logger in loggers:
                    logger.removeFilter(quiet)
            raise
        finally:
            bar.close()

    def __getattr__(self, name: str) -> Any:  # anything else lm_eval might use from tqdm_asyncio
        from tqdm.asyncio import tqdm_asyncio

        return getattr(tqdm_asyncio, name)


@contextlib.contextmanager
def settled_requests(enabled: bool = True) -> Iterator[None]:
    """During the block, lm_eval's API requests are counted and always settled (see the module docstring).

    On exit, garbage is collected while the run's output capture is still in place, so anything asyncio or
    aiohttp still has to say about this run lands in this run's log, not in the next cell's.
    """
    if not enabled:
        yield
        return
    try:
        import lm_eval.models.api_models as api_models
    except ImportError:  # lm-eval without its [api] extra: lm_eval itself says what to install
        yield
        return
    had = hasattr(api_models, "tqdm_asyncio")
    real = getattr(api_models, "tqdm_asyncio", None)
    api_models.tqdm_asyncio = _SettledGather()  # type: ignore[attr-defined]
    try:
        yield
    finally:
        if had:
            api_models.tqdm_asyncio = real  # type: ignore[attr-defined]
        else:  # pragma: no cover - every supported lm_eval has it
            delattr(api_models, "tqdm_asyncio")
        gc.collect()


def requests_done(progress: Progress) -> tuple[int, int | None] | None:
    """``(answered, total)`` of the run's API requests so far (summed over its request phases), or None."""
    phases = [p for p in progress.phases if p.name.startswith(REQUEST_PHASE)]
    if not phases:
        return None
    done = sum(p.done for p in phases)
    totals = [p.total for p in phases]
    return done, (sum(t for t in totals if t is not None) if all(t is not None for t in totals) else None)
