"""Watching what a running cell of a real kernel displays (the stop-button tests press stop at a given moment)."""

from __future__ import annotations

import queue
import time
from collections.abc import Callable
from typing import Any


def wait_for_display(kc: Any, msg_id: str, seen: Callable[[dict[str, Any]], bool], timeout: float) -> bool:
    """Read the kernel's iopub messages until a display (or display update) of the cell ``msg_id`` has content
    for which ``seen(content)`` is true; False when ``timeout`` seconds pass first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            msg = kc.get_iopub_msg(timeout=1)
        except queue.Empty:
            continue
        if (msg["parent_header"].get("msg_id") == msg_id
                and msg["msg_type"] in ("display_data", "update_display_data") and seen(msg["content"])):
            return True
    return False
