"""The program word(s) of a command: ``lm_eval``, ``lm-eval``, ``lm-eval run``, ``python -m lm_eval``,
``accelerate launch [its own flags] -m lm_eval``; or none at all (a cell may start right at ``--model``)."""

from __future__ import annotations

import os
import re

from ..errors import ParseError

_PROGRAMS = ("lm_eval", "lm-eval")
_PYTHON = re.compile(r"^python(\d+(\.\d+)?)?$")


def _is_program(word: str) -> bool:
    return os.path.basename(word) in _PROGRAMS


def split_program(words: list[str]) -> tuple[list[str], list[str]]:
    """Split the words after the environment prefix into ``(launcher, lm_eval_argv)``.

    ``launcher`` is empty for an in-process command, or holds e.g. ``["accelerate", "launch", "--num_processes",
    "2"]``.  A ``run`` subcommand word is dropped (it is what ``lm_eval`` with flags means in every version).
    """
    if not words:
        raise ParseError("the cell has no command", hint="Write an lm_eval command, e.g. `lm_eval --model hf "
                         "--model_args pretrained=... --tasks ...` (`%mera --help` shows the manual).")
    launcher: list[str] = []
    first = os.path.basename(words[0])
    if first.startswith("-"):
        rest = words
    elif _is_program(words[0]):
        rest = words[1:]
    elif _PYTHON.match(first):
        if len(words) < 3 or words[1] != "-m" or words[2] not in ("lm_eval", "lm-eval"):
            raise ParseError(f"`{' '.join(words[:3])}` does not start lm_eval",
                             hint="Write `python -m lm_eval ...` or just `lm_eval ...`.")
        rest = words[3:]
    elif first == "accelerate":
        if len(words) < 2 or words[1] != "launch":
            raise ParseError("`accelerate` must be followed by `launch`",
                             hint="Write `accelerate launch [accelerate flags] -m lm_eval ...`.")
        for i in range(2, len(words)):
            if words[i] == "-m" and i + 1 < len(words) and words[i + 1] in ("lm_eval", "lm-eval"):
                launcher, rest = words[:i], words[i + 2:]
                break
            if _is_program(words[i]):
                launcher, rest = words[:i], words[i + 1:]
                break
        else:
            raise ParseError("`accelerate launch` does not start lm_eval",
                             hint="Write `accelerate launch [accelerate flags] -m lm_eval --model ...`.")
    else:
        raise ParseError(f"`{words[0]}` is not lm_eval: a %%mera cell runs lm_eval commands",
                         hint="Start the command with `lm_eval` (or `lm-eval`, `python -m lm_eval`, "
                              "`accelerate launch -m lm_eval`), after any NAME=VALUE variables.")
    if rest and rest[0] == "run":
        rest = rest[1:]
    elif rest and rest[0] in ("ls", "validate"):
        raise ParseError(f"`lm_eval {rest[0]}` is not an evaluation",
                         hint="Use `%mera tasks [--include_path DIR]` to list tasks, `%mera check` to validate.")
    return launcher, rest
