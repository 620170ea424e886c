"""lm_eval's own argument parser, for whatever lm_eval version is installed.

Nothing here keeps a copy of lm_eval's flags: the parser is built by lm_eval's code (``lm_eval._cli.run.Run``
from 0.4.10 on, ``lm_eval.__main__.setup_parser`` before), so flags, short forms, types, ``nargs``, ``const``
values and "last one wins" are exactly those of the ``lm_eval`` command the user would run.  Both paths are
light imports (no torch, transformers or datasets).
"""

from __future__ import annotations

import argparse
import contextlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from ..errors import ParseError
from ..findings import did_you_mean
from .install import capabilities, lm_eval_dir, lm_eval_version
from .source import source_function

#: options whose value is a ``k=v,...`` (or JSON) mapping in at least one lm_eval version
DICT_OPTIONS = ("model_args", "gen_kwargs", "wandb_args", "wandb_config_args", "hf_hub_log_args",
                "trackio_args", "metadata")
_GIVEN = "_mera_given_"


class _ParserError(Exception):
    pass


def _raise(message: str) -> None:  # replaces ArgumentParser.error (which exits the process)
    raise _ParserError(message)


_tracked_classes: dict[type, type] = {}


def _tracked(cls: type) -> type:
    """A subclass of an argparse action class that records which destinations the command line set."""
    if cls not in _tracked_classes:
        def __call__(self: Any, parser: Any, namespace: Any, values: Any, option_string: Any = None) -> None:
            cls.__call__(self, parser, namespace, values, option_string)
            getattr(namespace, _GIVEN).append(self.dest)

        _tracked_classes[cls] = type(f"Tracked{cls.__name__}", (cls,), {"__call__": __call__})
    return _tracked_classes[cls]


def _build() -> argparse.ArgumentParser:
    folder = lm_eval_dir()
    if folder is None:
        raise ParseError("lm_eval is not installed", hint='Install it: pip install "lm-eval[hf,api]"')
    if capabilities().cli == "cli_evaluate":
        # lm_eval <= 0.4.9: importing lm_eval (its __init__ imports the evaluator) would import torch;
        # compile its __main__.setup_parser from source instead
        parser = source_function("__main__.py", "setup_parser", "lm_eval.__main__")()
    else:  # lm_eval >= 0.4.10: a light import
        from lm_eval._cli.run import Run

        top = argparse.ArgumentParser(prog="lm_eval")
        subparsers = top.add_subparsers(dest="command")
        Run.create(subparsers)
        parser = subparsers.choices["run"]
    parser.prog = "lm_eval"
    parser.error = _raise  # type: ignore[method-assign]
    for action in parser._actions:
        if not isinstance(action, argparse._HelpAction):
            action.__class__ = _tracked(type(action))
    return parser


@cache
def lm_eval_parser() -> argparse.ArgumentParser:
    """The installed lm_eval's ``run`` argument parser (errors raise instead of exiting)."""
    from ..environ import scoped_environment

    with scoped_environment({}):  # importing lm_eval sets variables (HF_XET_HIGH_PERFORMANCE): keep os.environ as it was
        return _build()




@dataclass(frozen=True)
class OptionInfo:
    """One lm_eval option as the installed parser defines it."""

    dest: str
    flags: tuple[str, ...]
    #: "switch" (bare flag), "optional" (bare or with a value), "mapping" (k=v / JSON), "list", "value"
    kind: str
    default: Any
    const: Any
    choices: tuple[Any, ...] | None
    help: str
    type_name: str

    @property
    def flag(self) -> str:
        """The long form, e.g. ``--num_fewshot``."""
        longs = [f for f in self.flags if f.startswith("--")]
        return max(longs, key=len) if longs else self.flags[0]


def _kind(action: argparse.Action) -> str:
    if action.dest in DICT_OPTIONS:
        return "mapping"
    if action.nargs == 0:
        return "switch"
    if action.nargs == "?":
        return "optional"
    if action.nargs in ("+", "*") or action.dest == "tasks":
        return "list"
    return "value"


@cache
def lm_eval_options() -> tuple[OptionInfo, ...]:
    """Every option of the installed ``lm_eval run`` (help excluded), in the parser's order."""
    infos = []
    for action in lm_eval_parser()._actions:
        if isinstance(action, argparse._HelpAction) or not action.option_strings:
            continue
        default = None if action.default is argparse.SUPPRESS else action.default
        type_name = getattr(action.type, "__name__", type(action.type).__name__) if action.type else "str"
        infos.append(OptionInfo(action.dest, tuple(action.option_strings), _kind(action), default,
                                action.const, tuple(action.choices) if action.choices else None,
                                " ".join((action.help or "").split()), type_name))
    return tuple(infos)


def option_info(dest: str) -> OptionInfo | None:
    """The :class:`OptionInfo` of one destination name, or None when the installed lm_eval has no such option."""
    for info in lm_eval_options():
        if info.dest == dest:
            return info
    return None


def _all_flags() -> list[str]:
    return [f for info in lm_eval_options() for f in info.flags]


def _last_single_values(parser: argparse.ArgumentParser, argv: list[str]) -> list[str]:
    """``argv`` without the earlier occurrences of single-value options given again later.

    argparse is quadratic in the number of options on the line (a pasted cell that repeats ``--limit 1`` 100,000
    times took minutes); for a plain one-value option only the last occurrence counts anyway.  An earlier value
    the option's type rejects is kept, so lm_eval's parser still refuses it as the CLI would.
    """
    by_flag: dict[str, argparse.Action] = {
        flag: action for action in parser._actions for flag in action.option_strings
        if isinstance(action, argparse._StoreAction) and action.nargs is None}
    spans: list[tuple[argparse.Action, int, int, str]] = []  # action, start, end (exclusive), value
    i = 0
    while i < len(argv):
        flag, eq, value = argv[i].partition("=")
        action = by_flag.get(flag) if argv[i].startswith("-") else None
        if action is not None and eq:
            spans.append((action, i, i + 1, value))
        elif action is not None and i + 1 < len(argv):
            spans.append((action, i, i + 2, argv[i + 1]))
            i += 1
        i += 1
    last = {action.dest: start for action, start, _, _ in spans}
    if len(spans) == len(last):
        return argv
    drop: set[int] = set()
    for kept, start, end, value in spans:
        if last[kept.dest] == start:
            continue
        try:
            if callable(kept.type):
                kept.type(value)
        except Exception:  # noqa: BLE001 - keep it: lm_eval's parser gives its own message for it
            continue
        drop.update(range(start, end))
    return [word for index, word in enumerate(argv) if index not in drop]


def parse_argv(argv: Sequence[str]) -> tuple[dict[str, Any], list[str]]:
    """Parse lm_eval arguments with the installed parser.

    Returns ``(given, order)``: the value of every option the command line set (keyed by destination, with the
    installed parser's types and its "last one wins"/merge semantics) and the destinations in the order given.
    Raises ParseError with a did-you-mean for unknown flags and lm_eval's own message for bad values.
    """
    argv = list(argv)
    if any(a in ("-h", "--help") for a in argv):
        with contextlib.redirect_stdout(io.StringIO()) as out:
            lm_eval_parser().print_help()
        raise ParseError("lm_eval --help was asked for; here is the installed lm_eval's help:", hint=out.getvalue())
    parser = lm_eval_parser()
    namespace = argparse.Namespace(**{_GIVEN: []})
    try:
        namespace, unknown = parser.parse_known_args(_last_single_values(parser, argv), namespace=namespace)
    except _ParserError as exc:
        raise ParseError(f"lm_eval rejects the command: {exc}",
                         hint=f"Check the value; `lm_eval {lm_eval_version()}` is installed.") from None
    except Exception as exc:  # noqa: BLE001 - any failure of lm_eval's parser on the text is a parse error
        raise ParseError(f"lm_eval rejects the command: {type(exc).__name__}: {exc}") from None
    if unknown:
        flags = [u for u in unknown if u.startswith("-")]
        if flags:
            name = flags[0].split("=", 1)[0]
            raise ParseError(
                f"unknown flag `{name}` for lm_eval {lm_eval_version()}.{did_you_mean(name, _all_flags())}",
                hint="`%mera flags` lists the flags the installed lm_eval accepts.")
        raise ParseError(f"unexpected word `{unknown[0]}`: lm_eval takes no positional arguments",
                         hint="Attach the value to its flag (e.g. `--tasks a,b`), or quote it if it contains spaces.")
    order = list(dict.fromkeys(getattr(namespace, _GIVEN)))
    return {dest: getattr(namespace, dest) for dest in order}, order


def parse_defaults(argv: Sequence[str]) -> argparse.Namespace:
    """The full namespace the installed lm_eval builds for ``argv`` (defaults included): what its CLI runs with."""
    namespace = argparse.Namespace(**{_GIVEN: []})
    try:
        namespace = lm_eval_parser().parse_args(list(argv), namespace=namespace)
    except Exception as exc:  # noqa: BLE001 - as in parse_argv
        raise ParseError(f"lm_eval rejects the command: {exc}") from None
    delattr(namespace, _GIVEN)
    return namespace
