"""Packages a run needs that the kernel's environment lacks, each with the install that provides it (derived
from lm_eval's own imports, requirement checks, messages and extras: :mod:`mera_magic.lmeval.requirements`)."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable

from ..findings import Finding
from ..lmeval.backends import get_backend
from ..lmeval.requirements import backend_requirements, install_for
from ..spec import RunSpec
from .say import finding

#: model_args values that make transformers import a package of its own: (key, value) -> module
VALUE_MODULES: dict[tuple[str, str], str] = {
    ("attn_implementation", "flash_attention_2"): "flash_attn",
}


def installed(module: str) -> bool:
    """Whether ``module`` can be imported (found without importing it)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def check_packages(spec: RunSpec) -> Iterable[Finding]:
    """An error per missing package, naming what needs it and the install."""
    backend = get_backend(spec.model)
    if backend is None:
        return
    reported: set[str] = set()
    for req in backend_requirements(spec.model):
        if req.when is not None:
            if req.when not in spec.model_args:
                continue
            value = spec.model_args[req.when]
            arg = backend.arg(req.when)
            if req.value is not None and str(value) != req.value:
                continue
            off = value is None or value is False or value == "" or (not isinstance(value, bool) and value in (0, 1))
            if req.value is None and (off or (arg is not None and value == arg.default)):
                continue
        if req.module in reported or installed(req.module):
            continue
        reported.add(req.module)
        what = f"`--model {spec.model}`" if req.when is None else f"`{req.when}={spec.model_args[req.when]}`"
        yield finding("error", "package-missing", "model" if req.when is None else f"model_args.{req.when}",
                      what=what, module=req.module, install=install_for(req.module, req.install))
    for (key, value), module in VALUE_MODULES.items():
        if str(spec.model_args.get(key, "")) == value and module not in reported and not installed(module):
            reported.add(module)
            yield finding("error", "package-missing", f"model_args.{key}", what=f"`{key}={value}`", module=module,
                          install=install_for(module))
