"""The Hugging Face hub as a run would see it: its cache folder, the offline switches, and one quick request.

Everything is read from the *run's* environment (the cell's ``NAME=VALUE`` variables over the kernel's), the way
``huggingface_hub`` would read it in a fresh process, without importing ``huggingface_hub``.  A request to the hub
gives up after :data:`TIMEOUT` seconds (name resolution included: it runs in a thread that is waited for) and is
never retried; its answer is remembered for the session for :data:`REMEMBER_S` seconds.
"""

from __future__ import annotations

import os
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

#: seconds a hub request may take, all included
TIMEOUT = 2.0
#: seconds an answer of the hub is reused within the session
REMEMBER_S = 120.0
_TRUE = {"1", "on", "yes", "true"}


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    return value if value is not None else os.environ.get(name)


def hf_home(env: Mapping[str, str]) -> Path:
    """``HF_HOME`` as huggingface_hub resolves it (``$XDG_CACHE_HOME/huggingface`` or ``~/.cache/huggingface``)."""
    home = _get(env, "HF_HOME")
    if home:
        return Path(home).expanduser()
    xdg = _get(env, "XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "huggingface"


def hub_cache(env: Mapping[str, str]) -> Path:
    """The hub's model cache folder for a run with ``env`` (``HF_HUB_CACHE``, else ``HF_HOME/hub``)."""
    for name in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        value = _get(env, name)
        if value:
            return Path(value).expanduser()
    return hf_home(env) / "hub"


def offline(env: Mapping[str, str]) -> str | None:
    """The variable that switches the hub off for the run (``HF_HUB_OFFLINE=1``), or None."""
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        value = _get(env, name)
        if value is not None and value.strip().lower() in _TRUE:
            return f"{name}={value}"
    return None


def endpoint(env: Mapping[str, str]) -> str:
    """The hub's address (``HF_ENDPOINT``, else https://huggingface.co)."""
    return (_get(env, "HF_ENDPOINT") or "https://huggingface.co").rstrip("/")


def token(env: Mapping[str, str]) -> str | None:
    """The token a run would send (``HF_TOKEN``, else the file ``hf auth login`` saved), or None."""
    value = _get(env, "HF_TOKEN") or _get(env, "HUGGING_FACE_HUB_TOKEN")
    if value:
        return value
    path = _get(env, "HF_TOKEN_PATH")
    file = Path(path).expanduser() if path else hf_home(env) / "token"
    try:
        return file.read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


@dataclass(frozen=True)
class Snapshot:
    """A model found in the hub cache."""

    folder: Path
    revision: str


def cached(repo_id: str, env: Mapping[str, str], revision: str | None = None,
           repo_type: str = "model") -> Snapshot | None:
    """The cached snapshot of ``repo_id`` at ``revision`` (a branch, tag or commit; ``main`` by default), or None.

    The cache layout is huggingface_hub's: ``models--org--name/refs/<revision>`` holds a commit hash and
    ``models--org--name/snapshots/<hash>/`` the files.
    """
    folder = hub_cache(env) / f"{repo_type}s--{repo_id.replace('/', '--')}"
    wanted = revision or "main"
    ref = folder / "refs" / wanted
    commit = wanted
    if ref.is_file():
        try:
            commit = ref.read_text(encoding="utf-8").strip()
        except OSError:
            return None
    snapshot = folder / "snapshots" / commit
    if snapshot.is_dir() and any(snapshot.iterdir()):
        return Snapshot(snapshot, commit)
    return None


@dataclass(frozen=True)
class HubAnswer:
    """What the hub said about one repository.

    ``status``: ``ok``, ``gated`` (needs a token or accepted terms), ``missing`` (no such repository),
    ``unreachable`` (no answer: ``detail`` says why) or ``error`` (another HTTP status).
    """

    status: str
    detail: str = ""


def _request(url: str, auth: str | None) -> HubAnswer:
    request = urllib.request.Request(url, method="HEAD", headers={"User-Agent": "mera-magic-preflight"})
    if auth:
        request.add_header("Authorization", f"Bearer {auth}")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT):  # noqa: S310 - the hub's https address
            return HubAnswer("ok")
    except urllib.error.HTTPError as err:
        code = err.headers.get("X-Error-Code", "") if err.headers else ""
        if code == "RepoNotFound":  # the hub answers 401 for a repository that does not exist (or is private)
            return HubAnswer("missing", f"HTTP {err.code} {code}")
        if err.code in (401, 403) or code.startswith("Gated"):
            return HubAnswer("gated", f"HTTP {err.code} {code}".strip())
        if err.code == 404 and code == "EntryNotFound":
            return HubAnswer("ok", "no config.json")
        if err.code == 404:
            return HubAnswer("missing", f"HTTP 404 {code}".strip())
        return HubAnswer("error", f"HTTP {err.code}")
    except (urllib.error.URLError, OSError, ValueError) as err:
        reason = getattr(err, "reason", err)
        return HubAnswer("unreachable", str(reason))


def ask(repo_id: str, env: Mapping[str, str], revision: str | None = None,
        remembered: dict[tuple[str, ...], tuple[float, HubAnswer]] | None = None) -> HubAnswer:
    """One request to the hub about ``repo_id`` (``HEAD .../resolve/<revision>/config.json``), at most
    :data:`TIMEOUT` seconds, no retries.  ``remembered`` (the session's dict) keeps answers for reuse; an
    unreachable hub is remembered for every repository at once."""
    base = endpoint(env)
    auth = token(env)
    key = (base, repo_id, revision or "main", "token" if auth else "")
    now = time.monotonic()
    if remembered is not None:
        for k in (key, (base,)):
            hit = remembered.get(k)
            if hit is not None and now - hit[0] < REMEMBER_S:
                return hit[1]
    url = f"{base}/{repo_id}/resolve/{urllib.parse.quote(revision or 'main', safe='')}/config.json"
    box: list[HubAnswer] = []
    worker = threading.Thread(target=lambda: box.append(_request(url, auth)), daemon=True,
                              name="mera-magic-hub-probe")
    worker.start()
    worker.join(TIMEOUT)
    answer = box[0] if box else HubAnswer("unreachable", f"no answer within {TIMEOUT:g} s")
    if remembered is not None:
        remembered[(base,) if answer.status == "unreachable" else key] = (now, answer)
    return answer


def download_command(repo_id: str, env: Mapping[str, str], revision: str | None = None) -> str:
    """The command that puts ``repo_id`` into the cache this run reads (run where the hub is reachable)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        parts = tuple(int(p) for p in version("huggingface_hub").split(".")[:2])
    except (PackageNotFoundError, ValueError):
        parts = (0, 0)
    tool = "hf download" if parts >= (0, 34) else "huggingface-cli download"
    prefix = ""
    for name in ("HF_HUB_CACHE", "HF_HOME"):
        if env.get(name):
            prefix = f"{name}={env[name]} "
            break
    rev = f" --revision {revision}" if revision else ""
    return f"{prefix}{tool} {repo_id}{rev}"
