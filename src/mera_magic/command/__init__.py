"""Text -> RunSpec: the language of the MERA guide's commands.

``NAME=VALUE ... lm_eval --flag value ...`` with continuations, comments, quotes and ``$VAR`` expansion; flags
are read by the installed lm_eval's own parser.  :func:`parse` is the entry point.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import ParseError
from ..lmeval.parser import DICT_OPTIONS, parse_argv
from ..spec import RunSpec, register_renderer
from .program import split_program
from .render import render_command
from .shell import ASSIGNMENT, lex
from .values import to_mapping

__all__ = ["Parsed", "parse", "parse_command"]

register_renderer(render_command)

_CACHE_REQUESTS = {(True, False, False): "true", (True, True, False): "refresh", (False, False, True): "delete"}


@dataclass
class Parsed:
    """A parsed command and what the parser noticed on the way (shown by ``%mera check``)."""

    spec: RunSpec
    #: variables referenced with $NAME that are defined nowhere (expanded to empty, as a shell does)
    undefined: list[str] = field(default_factory=list)
    #: env names whose value was written literally in the text (not through $NAME)
    literal_env: list[str] = field(default_factory=list)
    #: the text that was parsed
    text: str = ""
    #: unquoted words that lost a backslash before a letter or digit (``C:\\models`` -> ``C:models``)
    backslashes: list[str] = field(default_factory=list)


def _normalise(dest: str, value: Any) -> Any:
    """Give version-independent shapes to values whose parsed type differs across lm_eval versions."""
    if dest in DICT_OPTIONS:
        return to_mapping(dest, value)
    if dest == "cache_requests" and isinstance(value, dict):
        key = (value.get("cache_requests", False), value.get("rewrite_requests_cache", False),
               value.get("delete_requests_cache", False))
        return _CACHE_REQUESTS.get(key, "true")
    if dest == "tasks":
        items = value if isinstance(value, list) else [value]
        return [name.strip() for item in items for name in str(item).split(",") if name.strip()]
    return value


def parse_command(text: str, namespace: Mapping[str, Any] | None = None,
                  secrets: Mapping[str, str] | None = None) -> Parsed:
    """Parse a command (see :func:`parse`) and return it with the parser's notes."""
    lexed = lex(text, namespace, secrets)
    # split into logical commands at newlines; `export NAME=VALUE` lines only add to the environment
    commands: list[list] = [[]]
    for word in lexed.words:
        if word.text == "\n":
            if commands[-1]:
                commands.append([])
        else:
            commands[-1].append(word)
    commands = [c for c in commands if c]
    env: dict[str, str] = {}
    literal_env: list[str] = []
    main = None
    for words in commands:
        if words[0].text == "export" and not words[0].expanded:
            for w in words[1:]:
                m = ASSIGNMENT.match(w.text)
                if not m or not w.plain_prefix:
                    raise ParseError(f"`export {w.text}`: only `export NAME=VALUE` is understood")
                env[m.group(1)] = m.group(2)
                if not w.expanded:
                    literal_env.append(m.group(1))
            continue
        if main is not None:
            raise ParseError("the cell holds more than one command",
                             hint="Put one lm_eval command per %%mera cell (end lines with `\\` to continue one).")
        main = words
    if main is None:
        raise ParseError("the cell has no lm_eval command", hint="Write `lm_eval --model ... --tasks ...`.")
    i = 0
    while i < len(main) and main[i].plain_prefix:
        name, value = main[i].text.split("=", 1)
        env[name] = value
        if not main[i].expanded:
            literal_env.append(name)
        i += 1
    launcher, argv = split_program([w.text for w in main[i:]])
    given, _ = parse_argv(argv)
    options = {dest: _normalise(dest, value) for dest, value in given.items()}
    model = options.pop("model", None) or "hf"
    model_args = options.pop("model_args", {})
    tasks = options.pop("tasks", [])
    spec = RunSpec(model=str(model), model_args=model_args, tasks=tasks, options=options, env=env,
                   launcher=launcher)
    spec.remember_argv(argv)
    return Parsed(spec, sorted(set(lexed.undefined)), literal_env, text, lexed.backslashes)


def parse(text: str, namespace: Mapping[str, Any] | None = None,
          secrets: Mapping[str, str] | None = None) -> RunSpec:
    """Parse a MERA-guide command into a :class:`~mera_magic.RunSpec`.

    ``text`` is what you would type in a terminal: ``NAME=VALUE`` variables, then ``lm_eval`` (or ``lm-eval``,
    ``lm-eval run``, ``python -m lm_eval``, ``accelerate launch ... -m lm_eval``) and its flags, over several lines
    joined by ``\\``, with ``#`` comments.  ``$VAR``/``${VAR}`` are expanded from ``namespace`` (the notebook's
    variables), then ``secrets``, then the process environment.  Flags are read by the installed lm_eval's own
    parser.  Raises :class:`~mera_magic.errors.ParseError` with one message saying what is wrong.
    """
    return parse_command(text, namespace, secrets).spec
