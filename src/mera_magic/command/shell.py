"""Shell words: what a POSIX shell does to a pasted command line before ``lm_eval`` sees it.

Handled: backslash-newline continuations, ``#`` comments, blank lines, single and double quotes, backslash
escapes, ``$VAR`` / ``${VAR}`` / ``${VAR:-default}`` expansion (the notebook namespace first, then mera-magic's
secret store, then the process environment; ``$PWD`` is the kernel's current directory), and
``export NAME=VALUE`` lines.  A variable defined nowhere is recorded (:attr:`Lexed.undefined`; the checks make
it an error, :func:`words` raises); a backslash before a letter or digit in an unquoted word (a Windows path,
``C:\\models\\qwen``) is recorded too (:attr:`Lexed.backslashes`), since the shell drops it.

Not handled, on purpose (one command per cell): pipes, ``;``/``&&``, redirections, command substitution
(``$(...)`` and backticks, also inside double quotes), sub-shells, globbing.  Those raise
:class:`~mera_magic.errors.ParseError` naming the character.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import ParseError

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
ASSIGNMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", re.DOTALL)
_ASSIGNMENT_PREFIX = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
_OPERATORS = {"|": "a pipe", ";": "a command separator", "&": "a background (`&`) or `&&` operator",
              ">": "a redirection", "<": "a redirection", "`": "a command substitution"}
#: a run of characters that are taken as they are (consumed at once: a 1 MB cell lexes in well under a second)
_PLAIN = re.compile(r"[^\s\\'\"$#<|;&>`]+")
#: the same inside double quotes
_PLAIN_QUOTED = re.compile(r"[^\"\\$\n`]+")
#: a placeholder of the MERA guide's template (``<ДРУГИЕ ПАРАМЕТРЫ>``), on one line
_PLACEHOLDER = re.compile(r"<[^<>\n]*>")
#: dashes that look like ``-`` (a word processor's or a chat's "smart" dashes): ``—tasks``, ``–tasks``, ``−−tasks``
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"


@dataclass
class Word:
    """One shell word after quote removal and expansion."""

    text: str
    #: the raw text of the part before the first ``=`` had no quotes or expansions (a valid assignment name)
    plain_prefix: str = ""
    #: names of the variables expanded inside this word
    expanded: list[str] = field(default_factory=list)


@dataclass
class Lexed:
    """The words of a command plus what happened while reading them."""

    words: list[Word]
    undefined: list[str] = field(default_factory=list)
    #: unquoted words in which a backslash before a letter or digit was dropped (as the raw text had them)
    backslashes: list[str] = field(default_factory=list)


def _substitution(line: int, what: str) -> ParseError:
    return ParseError(
        f"line {line}: {what} is a command substitution; a %%mera cell does not run shell commands",
        hint="Use a notebook variable instead (e.g. `OUT = os.getcwd() + '/res'` in a cell, then `$OUT`; "
             "`$PWD` is the kernel's folder), or quote the text with single quotes if it is literal.")


def _lookup(name: str, namespace: Mapping[str, Any] | None, secrets: Mapping[str, str] | None) -> str | None:
    if name == "PWD":
        return os.getcwd()
    if namespace is not None and name in namespace:
        value = namespace[name]
        if isinstance(value, (str, int, float, bool, os.PathLike)):
            return os.fspath(value) if isinstance(value, os.PathLike) else str(value)
    if secrets is not None and name in secrets:
        return secrets[name]
    return os.environ.get(name)


def lex(text: str, namespace: Mapping[str, Any] | None = None,
        secrets: Mapping[str, str] | None = None) -> Lexed:
    """Split ``text`` into shell words, expanding variables as bash would.

    Raises ParseError for an unterminated quote, an operator that starts a second command, or a placeholder
    of the MERA guide (``<ДРУГИЕ ПАРАМЕТРЫ ЗАПУСКА ФРЕЙМВОРКА>``) left in the text.
    """
    words: list[Word] = []
    undefined: list[str] = []
    backslashes: list[str] = []
    backslashed = False  # the current word lost a backslash before a letter or digit
    i, n = 0, len(text)
    buf: list[str] = []
    raw: list[str] = []  # raw characters of the current word, for the assignment-name check
    expanded: list[str] = []
    in_word = False
    line = 1

    def finish() -> None:
        nonlocal buf, raw, expanded, in_word, backslashed
        if in_word:
            raw_text = "".join(raw)
            if backslashed:
                backslashes.append(raw_text)
            if raw_text[:1] in _DASHES and raw_text[:1]:
                flag = raw_text.lstrip(_DASHES).split("=", 1)[0]
                raise ParseError(f"line {line}: `{raw_text[:40]}` starts with a look-alike dash "
                                 f"(U+{ord(raw_text[0]):04X}), not `-`",
                                 hint=f"Write `--{flag}` with two ASCII hyphens (text pasted from a document or a "
                                      "chat often turns `--` into a long dash).")
            m = _ASSIGNMENT_PREFIX.match(raw_text) if "=" in raw_text else None
            words.append(Word("".join(buf), m.group(0)[:-1] if m else "", expanded))
        buf, raw, expanded, in_word, backslashed = [], [], [], False, False

    def expand_at(j: int) -> tuple[str, int]:
        """Expand the ``$`` at text[j]; return (value, index after the reference)."""
        default: str | None = None
        if j + 1 < n and text[j + 1] == "(":
            raise _substitution(line, "`$(...)`")
        if j + 1 < n and text[j + 1] == "{":
            close = text.find("}", j + 2)
            if close < 0:
                raise ParseError(f"line {line}: `${{` is not closed", hint="Write ${NAME} with a closing brace.")
            name = text[j + 2:close]
            end = close + 1
            m = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)(:?-)(.*)", name, re.DOTALL)
            if m:  # ${NAME:-default} (empty or unset) / ${NAME-default} (unset)
                name, default = m.group(1), m.group(3)
                if "$" in default or "`" in default:
                    raise ParseError(f"line {line}: `${{{name}{m.group(2)}...}}`: the default may not hold `$` or `` ` ``",
                                     hint="Write the default literally, e.g. ${OUT:-./results}.")
                value = _lookup(name, namespace, secrets)
                use_default = value is None or (m.group(2) == ":-" and value == "")
                expanded.append(name)
                return (default if use_default else value or ""), end
        else:
            m = _NAME.match(text, j + 1)
            if not m:
                return "$", j + 1
            name, end = m.group(0), m.end()
        if not _NAME.fullmatch(name):
            raise ParseError(f"line {line}: `${{{name}}}` is not a variable name",
                             hint="Only $NAME and ${NAME} are expanded; other shell expansions are not supported.")
        value = _lookup(name, namespace, secrets)
        if value is None:
            undefined.append(name)
            value = ""
        expanded.append(name)
        return value, end

    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and text[i + 1] == "\n":  # continuation
            i += 2
            line += 1
            continue
        if c == "\\" and i + 1 < n and text[i + 1] == "\r" and i + 2 < n and text[i + 2] == "\n":
            i += 3
            line += 1
            continue
        if c in " \t\r":
            finish()
            i += 1
            continue
        if c == "\n":
            finish()
            words.append(Word("\n"))  # command boundary marker, resolved by the caller
            line += 1
            i += 1
            continue
        if c == "#" and not in_word:
            while i < n and text[i] != "\n":
                i += 1
            continue
        if c == "<" and not in_word:
            placeholder = _PLACEHOLDER.match(text, i)
            if placeholder:
                raise ParseError(
                    f"line {line}: the placeholder `{placeholder.group(0)}` is still in the command",
                    hint="Replace it with real variables or flags, or delete it (it comes from the MERA guide's template).")
        if c == "`":
            raise _substitution(line, "a backtick (`)")
        if c in _OPERATORS:
            # `&` alone too: it would run the command in the background, not pass a task named "&"
            raise ParseError(
                f"line {line}: `{c}` is {_OPERATORS[c]}; a %%mera cell holds one lm_eval command",
                hint="Quote the value if the character belongs to it, or put other shell commands in a `!` or `%%bash` cell.")
        in_word = True
        if c == "\\":
            if i + 1 < n:
                backslashed = backslashed or text[i + 1].isalnum()
                buf.append(text[i + 1])
                raw.append("\\" + text[i + 1])
            i += 2
            continue
        if c == "'":
            close = text.find("'", i + 1)
            if close < 0:
                raise ParseError(f"line {line}: a single quote (') is not closed",
                                 hint="Close the quote, or escape the character as \\'.")
            buf.append(text[i + 1:close])
            raw.append(text[i:close + 1])
            line += text.count("\n", i, close)
            i = close + 1
            continue
        if c == '"':
            j = i + 1
            while True:
                if j >= n:
                    raise ParseError(f"line {line}: a double quote (\") is not closed",
                                     hint='Close the quote, or escape the character as \\".')
                d = text[j]
                if d == '"':
                    break
                if d == "\\" and j + 1 < n and text[j + 1] in '$`"\\\n':
                    if text[j + 1] != "\n":
                        buf.append(text[j + 1])
                    j += 2
                    continue
                if d == "`":
                    raise _substitution(line, "a backtick (`)")
                if d == "$":
                    value, j = expand_at(j)
                    buf.append(value)
                    continue
                run = _PLAIN_QUOTED.match(text, j)
                if run:
                    buf.append(run.group(0))
                    j = run.end()
                    continue
                if d == "\n":
                    line += 1
                buf.append(d)
                j += 1
            raw.append(text[i:j + 1])
            i = j + 1
            continue
        if c == "$":
            value, end = expand_at(i)
            buf.append(value)
            raw.append(text[i:end])
            i = end
            continue
        run = _PLAIN.match(text, i)
        if run:
            buf.append(run.group(0))
            raw.append(run.group(0))
            i = run.end()
            continue
        buf.append(c)
        raw.append(c)
        i += 1
    finish()
    return Lexed(words, undefined, backslashes)


def words(text: str, namespace: Mapping[str, Any] | None = None,
          secrets: Mapping[str, str] | None = None) -> list[str]:
    """The shell words of a line-magic argument list, expanded as a cell's are (``%mera runs $OUT``).

    Raises ParseError for a variable defined nowhere (naming it) and for anything :func:`lex` refuses.
    """
    lexed = lex(text, namespace, secrets)
    if lexed.undefined:
        name = lexed.undefined[0]
        raise ParseError(f"`${name}` is not defined in the notebook, `%mera secret` or the environment",
                         hint=f"Define it first (e.g. `{name} = '...'` in a cell), or write ${{{name}:-default}}.")
    return [w.text for w in lexed.words if w.text != "\n"]


def quote(value: str) -> str:
    """Quote a word for a POSIX shell only when it needs it (a readable ``shlex.quote``)."""
    if value and re.fullmatch(r"[A-Za-z0-9_@%+=:,./\-]+", value):
        return value
    if "'" in value and not any(ch in value for ch in '"$`\\!'):
        return '"' + value + '"'
    return "'" + value.replace("'", "'\"'\"'") + "'"
