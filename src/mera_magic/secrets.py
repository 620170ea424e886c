"""What a secret is, and the one masker everything that shows or writes text goes through.

A secret is known by its **value** once it has been seen, and masked wherever that value appears:

- a value typed into ``%mera secret NAME`` or the panel's secret fields (``SESSION.secrets``);
- the value of a variable or model_arg whose **name** says so (:func:`is_secret_name`: ``*token*`` as in
  ``HF_TOKEN``/``use_auth_token``/``access_token``, ``*key*`` as in ``api_key``/``AWS_SECRET_ACCESS_KEY``,
  ``*secret*``, ``*password*``/``passwd``, ``auth``/``Authorization``/``credential(s)``/``cookie``), an
  ``Authorization`` header, the password of a URL's userinfo (``https://user:TOKEN@host``);
- a value with a credential's **shape** (``hf_...``, ``sk-...``, ``Bearer ...``, GitHub/GitLab/AWS/Slack keys).

Known values are registered for the session (``SESSION.secret_values``); :func:`mask_text` replaces every known
value, every shaped value and every ``name=value`` / ``"name": "value"`` pair with a secret name by
:data:`MASK`, in one linear pass per pattern: the known values are one compiled alternation (escaped, longest
first), the other patterns are anchored at word starts and use possessive quantifiers, so no input makes them
backtrack.  :func:`mask_data` does the same for JSON-like data (dicts by key name, strings by text).
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

#: what a secret value is replaced by
MASK = "********"
#: values shorter than this are not registered (masking every "1" or "abc" would garble every output)
MIN_LENGTH = 4
_NOT_SECRETS = frozenset({"true", "false", "none", "null", "yes", "no", "auto", "default", MASK})

_WORDS = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
#: ``*token*`` names that are not credentials: tokenizer settings, special tokens, token counts and ids
_TOKEN_NOT_SECRET = re.compile(
    r"tokeniz|tokens|token_?ids?\b|(?:^|_)(?:bos|eos|pad|unk|sep|cls|mask|special|stop|start|end|add|max|min|"
    r"num|n|chat|image|video|audio|default|think|thinking)_?token(?:_|$)", re.IGNORECASE)
_KEY_WORDS = frozenset({"key", "keys", "apikey", "accesskey", "secretkey", "privatekey"})
_OTHER_WORDS = frozenset({"auth", "authorization", "credential", "credentials", "cookie", "passwd", "pwd",
                          "bearer", "xapikey"})
#: the shell's working-directory variables: "pwd" there is "print working directory", not a password
_SHELL_PATHS = frozenset({"pwd", "oldpwd"})


@functools.lru_cache(maxsize=4096)
def is_secret_name(name: str) -> bool:
    """True when a variable, model_arg, header or JSON key named ``name`` holds a secret.

    ``HF_TOKEN``, ``use_auth_token``, ``access_token``, ``api_token``, ``OPENAI_API_KEY``, ``api_key``,
    ``AWS_SECRET_ACCESS_KEY``, ``password``, ``Authorization``, ``X-Api-Key`` are; ``max_tokens``,
    ``add_bos_token``, ``tokenizer``, ``TOKENIZERS_PARALLELISM``, ``pad_token_id``, ``PWD`` (the working
    directory) are not.
    """
    low = name.lower()
    if low in _SHELL_PATHS:
        return False
    if "secret" in low or "passw" in low:
        return True
    if "token" in low and not _TOKEN_NOT_SECRET.search(low):
        return True
    words = {w.lower() for w in _WORDS.findall(name.replace("-", "_").replace(".", "_"))}
    return bool(words & _KEY_WORDS or words & _OTHER_WORDS or low.endswith("apikey"))


#: credential shapes; each anchored at a word start, possessive, no nested quantifiers
_SHAPES = (
    r"(?<![\w\-])hf_[A-Za-z0-9]{16,}+",
    r"(?<![\w\-])sk-[A-Za-z0-9_\-]{16,}+",
    r"(?<![\w\-])gh[pousr]_[A-Za-z0-9]{20,}+",
    r"(?<![\w\-])github_pat_[A-Za-z0-9_]{20,}+",
    r"(?<![\w\-])glpat-[A-Za-z0-9_\-]{16,}+",
    r"(?<![\w\-])xox[abprs]-[A-Za-z0-9\-]{10,}+",
    r"(?<![A-Za-z0-9])AKIA[0-9A-Z]{16}(?![A-Za-z0-9])",
)
_SHAPE = re.compile("|".join(_SHAPES))
#: ``Bearer x`` / ``Basic x`` / ``Token x`` (an Authorization header's value, wherever it is written)
_SCHEME = re.compile(r"(?<![\w\-])(?P<scheme>Bearer|Basic|Token)(?P<space>\s++)(?P<value>[A-Za-z0-9._~+/=\-]{6,}+)",
                     re.IGNORECASE)
#: ``scheme://user:password@host``: the password
_USERINFO = re.compile(r"(?P<head>(?<![A-Za-z0-9+.\-])[A-Za-z][A-Za-z0-9+.\-]*+://[^\s/@:\"']*+:)(?P<value>[^\s/@\"']++)@")
#: ``name=value``, ``name: value``, ``"name": "value"``, ``'name': 'value'`` with a secret name
_PAIR = re.compile(
    r"(?<![\w.\-])(?P<q>[\"']?+)(?P<key>[A-Za-z_][\w.\-]*+)(?P=q)(?P<sep>\s*+[=:]\s*+)"
    r"(?P<value>\"[^\"\n]{1,1024}+\"|'[^'\n]{1,1024}+'|(?![\"'])[^,;\s\"'}\])&]++)")


def _session() -> Any:
    from .session import SESSION

    return SESSION


def _acceptable(value: Any) -> bool:
    return isinstance(value, str) and len(value) >= MIN_LENGTH and value.strip().lower() not in _NOT_SECRETS


def register(value: Any) -> None:
    """Remember ``value`` as a secret for the session (every later output masks it)."""
    if not _acceptable(value):
        return
    values: set[str] = _session().secret_values
    values.add(value)
    stripped = value.strip().strip("\"'")
    if stripped != value and _acceptable(stripped):
        values.add(stripped)
    scheme = _SCHEME.fullmatch(stripped)
    if scheme:  # "Bearer TOKEN": the token alone is a secret too
        register(scheme.group("value"))


def register_named(items: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> None:
    """Register the value of every item whose name is secret, and every value that looks like a secret."""
    pairs = items.items() if isinstance(items, Mapping) else items
    for name, value in pairs:
        if isinstance(value, Mapping):
            register_named(value)
        elif isinstance(value, str):
            if is_secret_name(str(name)):
                register(value)
            else:
                for found in secrets_in(value):
                    register(found)


def register_spec(spec: Any) -> None:
    """Register every secret a RunSpec carries (its variables, model_args, header and URL credentials)."""
    register_named(getattr(spec, "env", {}) or {})
    register_named(getattr(spec, "model_args", {}) or {})


def known_values() -> frozenset[str]:
    """Every secret value the session knows now: registered, ``%mera secret``, secret-named environment."""
    session = _session()
    values = set(session.secret_values)
    values.update(v for v in session.secrets.values() if _acceptable(v))
    values.update(v for k, v in os.environ.items() if _acceptable(v) and is_secret_name(k))
    return frozenset(values)


@functools.lru_cache(maxsize=32)
def _alternation(values: frozenset[str]) -> re.Pattern[str] | None:
    if not values:
        return None
    return re.compile("|".join(re.escape(v) for v in sorted(values, key=lambda v: (-len(v), v))))


def secrets_in(text: str) -> list[str]:
    """The secret values written in ``text`` by shape, URL userinfo or a secret-named pair (not by registry)."""
    found = [m.group(0) for m in _SHAPE.finditer(text)]
    found += [m.group("value") for m in _SCHEME.finditer(text)]
    found += [m.group("value") for m in _USERINFO.finditer(text)]
    found += [m.group("value").strip("\"'") for m in _PAIR.finditer(text) if is_secret_name(m.group("key"))]
    return [f for f in found if _acceptable(f) and f != MASK]


def mask_text(text: str, *sources: Mapping[str, Any], replace: Callable[[str], str] | None = None,
              known_only: bool = False) -> str:
    """``text`` with every secret replaced by :data:`MASK` (or by ``replace(secret)``).

    ``sources`` are mappings (a run's variables, model_args) whose secret-named values are registered first.
    ``known_only`` masks registered values only (for data that may hold token-like text of its own, such as
    a dataset's documents).
    """
    if not isinstance(text, str) or not text:
        return text
    for source in sources:
        if source:
            register_named(source)
    sub = replace or (lambda _secret: MASK)
    pattern = _alternation(known_values())
    if pattern is not None:
        text = pattern.sub(lambda m: sub(m.group(0)), text)
    if known_only:
        return text
    text = _SHAPE.sub(lambda m: m.group(0) if m.group(0) == MASK else sub(m.group(0)), text)
    text = _SCHEME.sub(lambda m: m.group(0) if MASK in m.group("value") else
                       f"{m.group('scheme')}{m.group('space')}{sub(m.group('value'))}", text)
    text = _USERINFO.sub(lambda m: m.group(0) if m.group("value") == MASK else f"{m.group('head')}{sub(m.group('value'))}@",
                         text)

    def pair(m: re.Match[str]) -> str:
        value = m.group("value")
        if not is_secret_name(m.group("key")) or MASK in value or value.lower() in _NOT_SECRETS:
            return m.group(0)
        quote = value[0] if value[:1] in "\"'" else ""
        inner = value[1:-1] if quote else value
        if not inner or inner.lower() in _NOT_SECRETS or inner.startswith("$"):
            return m.group(0)
        return m.group(0)[: m.start("value") - m.start(0)] + f"{quote}{sub(inner)}{quote}"

    return _PAIR.sub(pair, text)


def mask_value(name: str, value: Any) -> Any:
    """The value of a field named ``name``, masked: a secret name hides the whole value (not booleans)."""
    if is_secret_name(name) and value not in (None, "", False, True) and not isinstance(value, (bool, int, float)):
        if isinstance(value, str):
            register(value)
            if value.startswith("$") or value == MASK:
                return value
        return MASK
    return mask_data(value)


def mask_data(value: Any, *, known_only: bool = False, _depth: int = 0) -> Any:
    """A copy of JSON-like ``value`` with every secret masked: dict values by key name, strings by text.

    Deeper than 200 levels the rest is replaced by a note (a file nested that deep is not lm_eval's).
    """
    if _depth > 200:
        return "(nested too deeply; not shown)"
    if isinstance(value, str):
        return mask_text(value, known_only=known_only)
    if isinstance(value, Mapping):
        if known_only:
            return {k: mask_data(v, known_only=True, _depth=_depth + 1) for k, v in value.items()}
        return {k: mask_value(str(k), v) if is_secret_name(str(k)) else mask_data(v, _depth=_depth + 1)
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_data(v, known_only=known_only, _depth=_depth + 1) for v in value]
    return value


def mask_mapping(items: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``items`` (variables, model_args) with secret values masked, registering them first."""
    register_named(items)
    return {k: mask_value(k, v) for k, v in items.items()}
