"""``--model_args`` against the backend's constructor and its model loader: required parameters that are
missing (with the key that was probably meant), and forwarded keys that neither the loader nor the MERA guide
knows."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..findings import Finding
from ..lmeval.backends import Backend
from ..spec import RunSpec
from .say import finding

_EXAMPLES = {"pretrained": "Qwen/Qwen2-0.5B-Instruct", "model": "Qwen/Qwen2-0.5B-Instruct"}


@dataclass
class ArgReview:
    """What :func:`review` found, and the given keys it already explained (no second finding for them)."""

    findings: list[Finding] = field(default_factory=list)
    explained: set[str] = field(default_factory=set)


def required_missing(spec: RunSpec, backend: Backend) -> ArgReview:
    """An error for every required constructor parameter ``spec`` does not give, naming the typo if any."""
    review = ArgReview()
    from ..texts import text

    given = [k for k in spec.model_args if backend.arg(k) is None]
    for arg in backend.args:
        if not arg.required or arg.name in spec.model_args:
            continue
        close = difflib.get_close_matches(arg.name, given, n=1, cutoff=0.6)
        hint = text("finding.typo-for", given=close[0], name=arg.name) if close else ""
        if close:
            review.explained.add(close[0])
        example = str(spec.model_args[close[0]]) if close else _EXAMPLES.get(arg.name, "...")
        # the model's own name keeps the code the panel knows for it (`no-model-name`), now as an error
        code = "no-model-name" if arg.name in ("pretrained", "model") else "model-arg-required"
        review.findings.append(finding("error", code, f"model_args.{arg.name}", text_code="model-arg-required",
                                       backend=spec.model, cls=backend.class_name, name=arg.name, hint=hint,
                                       example=example))
    return review


def documented(backend: str) -> frozenset[str]:
    """The model args the MERA guide documents for ``backend`` (its family's list in :mod:`mera_magic.texts`)."""
    from ..lmeval.backends import get_backend
    from ..texts import FORWARDED_KEYS, MODEL_ARG_ORDER, family

    names = set(MODEL_ARG_ORDER.get(backend, ()))
    if not names:
        found = get_backend(backend)
        names = set(MODEL_ARG_ORDER.get(family(backend, found.arg_names if found else ()) or "", ()))
    if names & set(FORWARDED_KEYS.values()):
        names |= {k for k, marker in FORWARDED_KEYS.items() if marker in names}
    return frozenset(names)


def ignored_but_documented(spec: RunSpec, backend: Backend, key: str) -> Finding | None:
    """A note (not an error) for a key the guide documents that the installed lm_eval's backend ignores."""
    if key not in documented(spec.model):
        return None
    from ..lmeval.install import lm_eval_version

    return finding("info", "model-arg-not-in-version", f"model_args.{key}", arg=key, backend=spec.model,
                   cls=backend.class_name, version=lm_eval_version())


def forwarded_keys(spec: RunSpec, backend: Backend, skip: set[str]) -> Iterable[Finding]:
    """For a backend that forwards unknown keys: nothing for keys the guide documents or the loader accepts; an
    error for a near-miss of a real parameter (a typo lm_eval would hand to the loader); else a warning."""
    from .loaders import loader, loader_keys
    from .say import maybe

    accepted = backend.arg_names
    guide = documented(spec.model)
    for key in spec.model_args:
        if key in skip or key in accepted or key == "trust_remote_code" or key in guide:
            continue
        known = loader_keys(spec.model)
        if known is not None and key in known:
            continue
        hint = maybe(key, [*accepted, *sorted(guide)])
        where = f"model_args.{key}"
        if hint:
            yield finding("error", "model-arg-typo", where, arg=key, backend=spec.model, cls=backend.class_name,
                          hint=hint)
        else:
            yield finding("warning", "model-arg-forwarded", where, arg=key, backend=spec.model,
                          cls=backend.class_name, loader=loader(spec.model) or "?")
