"""One quick look at an OpenAI-compatible server before a run sends it thousands of requests.

:func:`probe` (reusable on its own: it knows nothing of lm_eval) asks, within :data:`TIMEOUT` seconds in all
and without retries, the server's model list (``<root>/v1/models``) and the ``base_url`` path itself, and says
what is wrong in one word: ``down`` (nothing answers), ``wrong-path`` (the server answers, the path is not
one of its endpoints), ``model-not-served`` (the model list does not hold the ``model=`` name) or ``error``.
A ``GET`` on an endpoint that only takes ``POST`` answers 405 (or 400/422), which shows the path exists without
making the server generate anything.  :func:`check_server` turns it into findings for an API backend.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..findings import Finding
from ..lmeval.backends import get_backend
from ..spec import RunSpec
from .say import finding

#: seconds the whole probe may take
TIMEOUT = 2.0


@dataclass
class ServerProbe:
    """What :func:`probe` learnt about a server."""

    status: str  # "ok", "down", "wrong-path", "model-not-served", "error"
    base_url: str
    root: str = ""
    detail: str = ""
    #: model names the server lists (empty when it has no model list)
    served: list[str] = field(default_factory=list)


def _split(base_url: str) -> tuple[str, str]:
    """(root up to and including ``/v1``, the models-list URL)."""
    parts = urllib.parse.urlsplit(base_url)
    path = parts.path
    cut = path.find("/v1")
    prefix = path[:cut + 3] if cut >= 0 else "/v1"
    root = urllib.parse.urlunsplit((parts.scheme, parts.netloc, prefix if cut >= 0 else "", "", ""))
    models = urllib.parse.urlunsplit((parts.scheme, parts.netloc, prefix + "/models", "", ""))
    return root, models


def _opener(url: str) -> urllib.request.OpenerDirector:
    host = urllib.parse.urlsplit(url).hostname or ""
    if host in ("localhost", "127.0.0.1", "::1") or host.startswith("127."):
        return urllib.request.build_opener(urllib.request.ProxyHandler({}))  # a proxy would not reach loopback
    return urllib.request.build_opener()


def _get(url: str, deadline: float, headers: dict[str, str]) -> tuple[int | None, bytes, str]:
    """(HTTP status or None when nothing answered, body, reason)."""
    left = deadline - time.monotonic()
    if left <= 0:
        return None, b"", f"no answer within {TIMEOUT:g} s"
    request = urllib.request.Request(url, headers={"User-Agent": "mera-magic-preflight", **headers})
    try:
        with _opener(url).open(request, timeout=left) as response:
            return int(response.status), response.read(1 << 20), ""
    except urllib.error.HTTPError as err:
        return int(err.code), b"", err.reason if isinstance(err.reason, str) else str(err.reason)
    except (urllib.error.URLError, OSError, ValueError) as err:
        return None, b"", str(getattr(err, "reason", err))


def _probe(base_url: str, model: str | None, headers: dict[str, str], deadline: float) -> ServerProbe:
    root, models_url = _split(base_url)
    status, body, reason = _get(models_url, deadline, headers)
    if status is None:
        return ServerProbe("down", base_url, root, reason)
    served: list[str] = []
    if status == 200:
        try:
            data = json.loads(body.decode("utf-8", "replace"))
            served = [str(m.get("id")) for m in data.get("data", []) if isinstance(m, dict) and m.get("id")]
        except (ValueError, AttributeError):
            served = []
    path = urllib.parse.urlsplit(base_url).path or "/"
    if path.rstrip("/") != urllib.parse.urlsplit(models_url).path:
        status_path, _, reason_path = _get(base_url, deadline, headers)
        if status_path is None:
            return ServerProbe("down", base_url, root, reason_path, served)
        if status_path == 404:
            return ServerProbe("wrong-path", base_url, root, f"HTTP 404 for {path}", served)
    if model and served and model not in served:
        return ServerProbe("model-not-served", base_url, root, "", served)
    if status in (401, 403):
        return ServerProbe("error", base_url, root, f"HTTP {status} for {models_url} (a key is needed?)", served)
    return ServerProbe("ok", base_url, root, "", served)


def probe(base_url: str, model: str | None = None, headers: dict[str, str] | None = None) -> ServerProbe:
    """Probe an OpenAI-compatible server (see the module docstring); never longer than :data:`TIMEOUT` s."""
    parts = urllib.parse.urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ServerProbe("error", base_url, "", "base_url must start with http:// or https://")
    deadline = time.monotonic() + TIMEOUT
    box: list[ServerProbe] = []
    worker = threading.Thread(target=lambda: box.append(_probe(base_url, model, headers or {}, deadline)),
                              daemon=True, name="mera-magic-server-probe")
    worker.start()
    worker.join(TIMEOUT + 0.05)
    return box[0] if box else ServerProbe("down", base_url, _split(base_url)[0], f"no answer within {TIMEOUT:g} s")


def expected_path(backend: str) -> str:
    """The endpoint path an API backend posts to."""
    return "/v1/chat/completions" if "chat" in backend else "/v1/completions"


#: seconds a probe's answer is reused (a panel re-checks on every edit; a server started since is seen soon after)
REMEMBER_S = 5.0


def check_server(spec: RunSpec, remembered: dict[Any, Any] | None = None) -> Iterable[Finding]:
    """Probe the ``base_url`` of an API backend and name the real cause of what is wrong."""
    backend = get_backend(spec.model)
    base_url = spec.model_args.get("base_url")
    if backend is None or backend.arg("base_url") is None or not isinstance(base_url, str) or not base_url:
        return
    model = spec.model_args.get("model")
    key = spec.model_args.get("auth_token") or spec.model_args.get("api_key")
    headers = {"Authorization": f"Bearer {key}"} if isinstance(key, str) and key else {}
    memo = ("server", base_url, str(model), bool(headers))
    hit = remembered.get(memo) if remembered is not None else None
    if hit is not None and time.monotonic() - hit[0] < REMEMBER_S:
        found = hit[1]
    else:
        found = probe(base_url, str(model) if model else None, headers)
        if remembered is not None:
            remembered[memo] = (time.monotonic(), found)
    where = "model_args.base_url"
    if found.status == "down":
        port = urllib.parse.urlsplit(base_url).port or 8000
        yield finding("error", "server-down", where, base_url=base_url, reason=found.detail,
                      model=model or "MODEL", port=port)
    elif found.status == "wrong-path":
        yield finding("error", "server-wrong-path", where, root=found.root, path=urllib.parse.urlsplit(base_url).path,
                      backend=spec.model, expected=expected_path(spec.model))
    elif found.status == "model-not-served":
        yield finding("error", "server-model-not-served", "model_args.model", root=found.root, model=model,
                      served=", ".join(f"`{s}`" for s in found.served))
    elif found.status == "error":
        yield finding("warning", "server-error", where, root=found.root or base_url, url=base_url, detail=found.detail)
