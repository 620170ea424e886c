"""A child process's entry point: ``python -m mera_magic.lmeval.child_main ARGV`` is ``lm_eval ARGV``, except:

- secrets never travel on the command line (``/proc/<pid>/cmdline`` is readable by every user of the machine):
  the parent writes a placeholder into the argv and the value into this process's environment
  (:data:`SECRETS_VARIABLE`, a JSON object placeholder -> value); the placeholders are put back here, and the
  variable is removed before lm_eval starts;
- lm_eval's writers mask those secrets in the results and samples files, and a file lm_eval could not write
  ends the process with status :data:`WRITE_FAILED` and one line starting ``mera-magic:`` naming the path and
  the errno (lm_eval itself only logs a warning and exits 0).
"""

from __future__ import annotations

import contextlib
import json
import os
import runpy
import sys
from collections import Counter

#: the environment variable that carries the argv's secrets: {placeholder: value}
SECRETS_VARIABLE = "MERA_MAGIC_ARGV_SECRETS"
#: exit status of a run whose results or samples could not be written
WRITE_FAILED = 3
#: how the one line naming a failed write starts
MARKER = "mera-magic: "


def restore(argv: list[str], secrets: dict[str, str]) -> list[str]:
    """``argv`` with each placeholder replaced by its secret (newest first: a later placeholder may stand for a
    text that holds an earlier one, as ``Bearer <placeholder>`` inside a header)."""
    out = []
    for word in argv:
        for placeholder, value in reversed(list(secrets.items())):
            word = word.replace(placeholder, value)
        out.append(word)
    return out


def main() -> int:
    """Run lm_eval's CLI on this process's argv (placeholders restored); return the exit status."""
    from .. import secrets as masking
    from .hooks import write_failure, writer_patches

    carried = json.loads(os.environ.pop(SECRETS_VARIABLE, "") or "{}")
    for value in carried.values():
        masking.register(value)
    sys.argv = ["lm_eval", *restore(sys.argv[1:], carried)]
    errors: list[str] = []
    status: int = 0
    with contextlib.ExitStack() as stack:
        for obj, name, value in writer_patches(Counter(), errors):
            stack.callback(setattr, obj, name, getattr(obj, name))
            setattr(obj, name, value)
        try:
            runpy.run_module("lm_eval", run_name="__main__", alter_sys=True)
        except SystemExit as exc:
            status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    failure = write_failure(errors)
    if failure is not None and status == 0:
        print(MARKER + failure.message, file=sys.stderr, flush=True)
        return WRITE_FAILED
    return status


if __name__ == "__main__":
    sys.exit(main())
