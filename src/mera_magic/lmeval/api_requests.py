"""The API backends' requests inside a run: counted as they are answered, all settled when the run ends.

lm_eval's API backends (``TemplateAPI``) send concurrent requests with
``asyncio.run(... tqdm_asyncio.gather(*tasks))``.  When one request fails for good, ``gather`` raises at once and
the other tasks are left to their retries; ``asyncio.run`` cancels the pending ones, but the exceptions of those
that already failed are never retrieved, so when they are garbage-collected, later, asyncio logs "Task exception
was never retrieved" with an aiohttp/tenacity traceback for each, into whatever cell runs then.

:class:`SettledGather` replaces that ``gather`` for the duration of a run (lm_eval 0.4.4 to 0.4.13 call it the
same way; :class:`~.hooks.RunHooks` installs it for an API backend): every answered request advances the cell's
progress (a bar named :data:`REQUEST_PHASE`, done/total), and however the gather ends (an error, the stop button)
the remaining requests are cancelled and every outcome is retrieved before the run returns.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable
from typing import Any

__all__ = ["REQUEST_PHASE", "SettledGather"]

#: the name of lm_eval's own request bar (sequential path), used for the concurrent one too
REQUEST_PHASE = "Requesting API"
#: loggers lm_eval's API code logs through (0.4.10+: per module; before: "lm-eval")
_API_LOGGERS = ("lm_eval.models.api_models", "lm-eval")


class _DropCancelled(logging.Filter):
    """While pending requests are being cancelled, lm_eval logs "Exception:CancelledError(), retrying" for each."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "CancelledError" not in record.getMessage()


class SettledGather:
    """Stands in for ``tqdm.asyncio.tqdm_asyncio`` in ``lm_eval.models.api_models`` (only ``gather`` is used).

    ``bar`` is the run's tqdm class (its bars feed the cell's progress); each gather counts in ``fired``.
    """

    def __init__(self, bar: type, fired: Counter[str]) -> None:
        self._bar = bar
        self._fired = fired

    async def gather(self, *aws: Awaitable[Any], desc: str | None = None, **_: Any) -> list[Any]:
        self._fired["api_requests"] += 1
        tasks = [asyncio.ensure_future(a) for a in aws]
        bar = self._bar(total=len(tasks), desc=desc or REQUEST_PHASE)

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
