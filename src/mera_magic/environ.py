"""The environment of one run: set for that run only, restored afterwards whatever happens.

Most variables are read when they are used, so setting ``os.environ`` for the run is enough (``HF_TOKEN`` is read
on every hub call, as the MERA guide says: it holds for that run alone).  Some are read once, at import or at
CUDA start-up; for those :func:`plan` decides:

- applied in-process: ``PYTHONPATH`` (prepended to ``sys.path`` for the run), ``HF_DATASETS_CACHE`` and
  ``HF_DATASETS_IN_MEMORY_MAX_SIZE`` (``datasets.config`` is updated for the run when datasets is already
  imported), and any import-time variable whose module is not imported yet (it takes effect at that import);
- library settings a run changed are put back afterwards: the constants of ``huggingface_hub.constants``,
  ``datasets.config``, ``transformers.utils.hub`` and lm_eval's cache module return to what they were, and a
  settings module first imported during a run with ``HF_*`` variables is imported again with the kernel's own
  (:func:`restore_library_state`), so the next plain run does not silently use the last run's caches;
- a fresh child process: an import-time variable whose module is already imported with a different value
  (``HF_HOME``, ``HF_HUB_CACHE``, offline switches, ``LM_HARNESS_CACHE_PATH``), or ``CUDA_VISIBLE_DEVICES``
  changed after CUDA started.  Never silently ignored: the reason is shown.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import sys
import types
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable


def _hub_constant(name: str) -> Callable[[], str | None]:
    def read() -> str | None:
        module = sys.modules.get("huggingface_hub.constants")
        value = getattr(module, name, None) if module else None
        return None if value is None else str(value)
    return read


def _datasets_flag(name: str) -> Callable[[], str | None]:
    def read() -> str | None:
        module = sys.modules.get("datasets.config")
        value = getattr(module, name, None) if module else None
        return None if value is None else str(value)
    return read


def _lm_cache_path() -> str | None:
    module = sys.modules.get("lm_eval.caching.cache")
    value = getattr(module, "PATH", None) if module else None
    return None if value is None else str(value)


def _load_media_flag(attribute: str) -> Callable[[], str | None]:
    """MERA_MULTIMODAL's ``load_media.py`` reads ``LOAD_*`` once, at import, into module flags."""
    def read() -> str | None:
        module = sys.modules.get("load_media")
        value = getattr(module, attribute, None) if module else None
        return None if value is None else ("1" if value else "0")
    return read


#: import-time variables that cannot be changed in a running process: name -> reader of the value in effect
#: (None while the module that reads it is not imported yet)
FROZEN_AT_IMPORT: dict[str, Callable[[], str | None]] = {
    "HF_HOME": _hub_constant("HF_HOME"),
    "HF_HUB_CACHE": _hub_constant("HF_HUB_CACHE"),
    "HUGGINGFACE_HUB_CACHE": _hub_constant("HF_HUB_CACHE"),
    "HF_HUB_OFFLINE": _hub_constant("HF_HUB_OFFLINE"),
    "HF_DATASETS_OFFLINE": _datasets_flag("HF_DATASETS_OFFLINE"),
    "LM_HARNESS_CACHE_PATH": _lm_cache_path,
    **{name: _load_media_flag(name.lower()) for name in ("LOAD_OBJECT", "LOAD_BYTES", "LOAD_BASE64", "LOAD_FILES")},
}
#: import-time variables mera-magic applies to the imported module for the run: name -> (module, attribute, type)
PATCHABLE: dict[str, tuple[str, str, Callable[[str], Any]]] = {
    "HF_DATASETS_CACHE": ("datasets.config", "HF_DATASETS_CACHE", lambda v: Path(v).expanduser()),
    "HF_DATASETS_IN_MEMORY_MAX_SIZE": ("datasets.config", "IN_MEMORY_MAX_SIZE", float),
}


#: modules that read variables once, at import, into module constants: a run's variables must not outlive it there
LIBRARY_STATE = ("huggingface_hub.constants", "datasets.config", "transformers.utils.hub", "lm_eval.caching.cache")
#: of those, the ones that hold nothing but settings: imported for the first time during a run (with the run's
#: variables), they are imported again afterwards with the kernel's own
RELOADABLE = ("huggingface_hub.constants", "datasets.config", "lm_eval.caching.cache")
#: the variables those modules read
_LIBRARY_VARIABLES = ("HF_", "HUGGINGFACE", "XDG_CACHE_HOME", "LM_HARNESS", "DATASETS", "TRANSFORMERS")


def _constants(module: Any) -> dict[str, Any]:
    return {k: v for k, v in vars(module).items() if k.isupper() and not isinstance(v, types.ModuleType)}


def library_state() -> dict[str, dict[str, Any]]:
    """The settings of :data:`LIBRARY_STATE`'s imported modules: ``{module: {CONSTANT: value}}``."""
    return {name: _constants(sys.modules[name]) for name in LIBRARY_STATE if name in sys.modules}


def restore_library_state(saved: dict[str, dict[str, Any]], env: Mapping[str, str]) -> list[str]:
    """Put back what a run changed in the libraries' settings (``os.environ`` must be restored already).

    Modules imported before the run get their constants back; settings modules first imported during a run
    that set variables are imported again, so they read the kernel's variables.  Returns ``module.NAME`` of
    everything put back.
    """
    restored = []
    for name, constants in saved.items():
        module = sys.modules.get(name)
        if module is None:
            continue
        for attribute, value in constants.items():
            if getattr(module, attribute, value) is not value:
                setattr(module, attribute, value)
                restored.append(f"{name}.{attribute}")
    if any(k.startswith(_LIBRARY_VARIABLES) for k in env):
        for name in RELOADABLE:
            module = sys.modules.get(name)
            if module is not None and name not in saved:
                before = _constants(module)
                try:
                    importlib.reload(module)
                except Exception:  # noqa: BLE001 - a module that cannot be read again keeps the run's values
                    continue
                restored += [f"{name}.{k}" for k, v in _constants(module).items() if before.get(k) != v]
    return restored


def _same(wanted: str, in_effect: str) -> bool:
    if wanted == in_effect:
        return True
    truthy = {"1", "true", "yes", "on"}
    if wanted.lower() in truthy | {"0", "false", "no", "off", ""} and in_effect.lower() in truthy | {"0", "false", "no", "off"}:
        return (wanted.lower() in truthy) == (in_effect.lower() in truthy)
    with contextlib.suppress(OSError, ValueError):
        return os.path.realpath(os.path.expanduser(wanted)) == os.path.realpath(os.path.expanduser(in_effect))
    return False


def cuda_started() -> bool:
    torch = sys.modules.get("torch")
    if torch is None:
        return False
    try:
        return bool(torch.cuda.is_initialized())
    except Exception:  # noqa: BLE001 - a torch without CUDA support
        return False


@dataclass
class EnvPlan:
    """How a run's environment will be applied."""

    #: False when some variable can only take effect in a fresh process
    in_process: bool = True
    #: why the run goes to a child process (one line per variable)
    reasons: list[str] = field(default_factory=list)


def cuda_devices_now() -> str:
    """CUDA_VISIBLE_DEVICES as the process environment has it now ("*": all GPUs)."""
    return os.environ.get("CUDA_VISIBLE_DEVICES", "*")


def plan(env: Mapping[str, str], cuda_devices_at_start: str | None = None) -> EnvPlan:
    """Decide whether ``env`` can be applied in this process (see the module docstring).

    ``cuda_devices_at_start`` is CUDA_VISIBLE_DEVICES as it was when CUDA started in this process (recorded by
    the runner); CUDA keeps the GPUs it saw then, so a run that wants others goes to a child process.
    """
    result = EnvPlan()
    for name, wanted in env.items():
        reader = FROZEN_AT_IMPORT.get(name)
        if reader is not None:
            in_effect = reader()
            if in_effect is not None and not _same(wanted, in_effect):
                result.in_process = False
                result.reasons.append(f"{name}={wanted} is read once at import, and this kernel already "
                                      f"imported it with {in_effect}")
    if cuda_started():
        wanted = env.get("CUDA_VISIBLE_DEVICES", cuda_devices_now())
        started = cuda_devices_at_start if cuda_devices_at_start is not None else cuda_devices_now()
        if wanted != started:
            shown = "all GPUs" if started == "*" else started
            result.in_process = False
            result.reasons.append(f"CUDA_VISIBLE_DEVICES={'(all)' if wanted == '*' else wanted}: CUDA already "
                                  f"started in this kernel with {shown}")
    return result


def _check_variable(name: str, value: str) -> None:
    """ParseError for a variable ``os.environ`` cannot hold (a NUL byte, ``=`` in the name, an empty name)."""
    from .errors import ParseError

    shown = name.replace("\0", "\\0")
    if "\0" in name or "\0" in value:
        where = "name" if "\0" in name else "value"
        raise ParseError(f"the variable {shown} cannot be set: its {where} holds a NUL byte (\\0), which no "
                         "environment variable can hold", hint="Check the $VAR or notebook variable it came from.")
    if not name or "=" in name:
        raise ParseError(f"the variable name {shown!r} cannot be set (empty or with `=`)",
                         hint="Write NAME=VALUE with a name of letters, digits and `_`.")


@contextlib.contextmanager
def scoped_environment(env: Mapping[str, str]) -> Iterator[None]:
    """Set ``env`` for the duration of the block, then restore ``os.environ``, ``sys.path``, the patched
    module settings, the libraries' settings (:func:`restore_library_state`) and the ``lm_eval`` loggers
    exactly as they were, whatever happens inside."""
    for name, value in env.items():
        _check_variable(name, value)
    saved_env = dict(os.environ)
    saved_path = list(sys.path)
    saved_libraries = library_state()
    saved_patches: list[tuple[Any, str, Any]] = []
    loggers = [logging.getLogger(n) for n in ("lm_eval", "lm-eval")]
    saved_loggers = [(lg, list(lg.handlers), lg.level, lg.propagate) for lg in loggers]
    try:
        for name, value in env.items():
            os.environ[name] = value
        pythonpath = env.get("PYTHONPATH")
        if pythonpath:
            entries = [p for p in pythonpath.split(os.pathsep) if p]
            sys.path[:0] = [p for p in entries if p not in sys.path]
        for name, (module_name, attribute, convert) in PATCHABLE.items():
            module = sys.modules.get(module_name)
            if name in env and module is not None and hasattr(module, attribute):
                try:
                    value = convert(env[name])
                except (TypeError, ValueError):  # a malformed value: the checks report it, the run leaves it be
                    continue
                saved_patches.append((module, attribute, getattr(module, attribute)))
                setattr(module, attribute, value)
        yield
    finally:
        for module, attribute, value in reversed(saved_patches):
            setattr(module, attribute, value)
        sys.path[:] = saved_path
        for name in list(os.environ):
            if name not in saved_env:
                del os.environ[name]
        for name, value in saved_env.items():
            if os.environ.get(name) != value:
                os.environ[name] = value
        for lg, handlers, level, propagate in saved_loggers:
            lg.handlers[:] = handlers
            lg.setLevel(level)
            lg.propagate = propagate
        restore_library_state(saved_libraries, env)
