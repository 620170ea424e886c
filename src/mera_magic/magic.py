"""The ``%%mera`` cell magic and the ``%mera`` line magic (thin: parse, check, run, display)."""

from __future__ import annotations

import argparse
import getpass
import re
import shlex
from typing import Any

from IPython.core.magic import Magics, line_cell_magic, magics_class, no_var_expand
from traitlets import Bool, Enum, Int
from traitlets.config.configurable import Configurable

from .errors import MeraError, ParseError
from .session import SESSION

#: ``%%mera``'s own options: (flags, argparse keyword arguments, help).  The parser and the manual both come
#: from this one declaration, so they cannot drift apart.
CELL_OPTIONS: list[tuple[tuple[str, ...], dict[str, Any], str]] = [
    (("-o", "--out"), {"metavar": "NAME"}, "also store the RunResult in the variable NAME (it is always in `_`)"),
    (("--dry-run", "--dry_run"), {"action": "store_true", "dest": "dry_run"},
     "show the parsed command, what each part means and the findings; run nothing (fails the cell when a "
     "finding is an error). With --suite: the plan (tasks, few-shot, generation settings, what resume would "
     "skip and why)"),
    (("--panel",), {"action": "store_true"}, "open the widget panel pre-filled with the cell's command"),
    (("--subprocess",), {"action": "store_true"}, "run as a child process (same display and result)"),
    (("--suite",), {"metavar": "SUITE"},
     "run every task of a MERA suite (mera, mera_gen, mera_all) as MERA's scripts do: per-task few-shot counts "
     "and generation settings (ruHumanEval/ruCodeEval sample with temperature=0.6), one by one, resuming: a "
     "task already in --output_path with the same settings is skipped, one run with other settings runs again"),
    (("--set",), {"action": "append", "dest": "overrides", "default": [], "metavar": "TASK:SETTING=V"},
     "with --suite: override a task's num_fewshot or gen_kwargs (TASK * = every task), e.g. --set "
     "'ruhumaneval:gen_kwargs=temperature=0.2,do_sample=True'; repeatable"),
    (("--force",), {"action": "store_true"}, "with --suite: run tasks again even when their samples exist"),
    (("--no-display",), {"action": "store_true", "dest": "no_display"},
     "show no live progress or results view (the RunResult is still returned)"),
    (("-h", "--help"), {"action": "store_true"}, "this text (works with an empty cell body)"),
]

CELL_TEXT = """%%mera {usage}
<an lm_eval command, as in the MERA guide>

Run an lm_eval command in this kernel and show its results.

The cell holds what you would type in a terminal: NAME=VALUE variables, then `lm_eval` (or `lm-eval`,
`lm-eval run`, `python -m lm_eval`, `accelerate launch ... -m lm_eval`) and its flags, over several lines
joined by `\\`, with `#` comments.  $VAR and ${{VAR}} come from the notebook's variables, then `%mera secret`,
then the environment ($PWD is the kernel's working directory).  Flags are read by the installed lm_eval's own
parser, so every flag of your lm_eval version works, with its meaning.

Before anything heavy loads, the command is checked (unknown flags, backends, model_args keys and values, tasks
with a did-you-mean; models, servers, GPUs and packages; flag combinations lm_eval rejects late; MERA-guide
pitfalls).  Errors stop the cell with one short message.  The variables hold for this run only; the environment
is restored afterwards.  The model stays loaded for the next cell with the same backend and model arguments
(`%mera models`, `%mera free`).

Options of the magic line:
{options}

Line magic: `%mera --help` lists the subcommands.
"""

LINE_TEXT = """%mera SUBCOMMAND ...

{subcommands}

Settings: %config MeraMagic.language = 'en' | 'ru';  %config MeraMagic.short_errors = False (full
tracebacks);  %config MeraMagic.max_models = N (models kept loaded).
"""

#: ``%mera`` subcommands: name -> (usage, summary), filled by :func:`subcommand` from the methods themselves
SUBCOMMANDS: dict[str, tuple[str, str]] = {}


def subcommand(usage: str, summary: str) -> Any:
    """Declare a ``%mera`` subcommand: its method ``_cmd_<name>`` is registered with its usage and summary."""

    def register(method: Any) -> Any:
        SUBCOMMANDS[method.__name__.removeprefix("_cmd_")] = (usage, summary)
        return method

    return register


_CELL_HELP_LINE = re.compile(r"^\s*%%mera\b(?P<line>[^\n]*)$")


def _cell_help_transformer(lines: list[str]) -> list[str]:
    """IPython refuses a cell magic with an empty body before calling it; ``%%mera --help`` alone in a cell is
    turned into the line magic that prints the cell magic's manual."""
    body = [line for line in lines if line.strip()]
    if len(body) == 1:
        match = _CELL_HELP_LINE.match(body[0].rstrip("\n"))
        if match and {"-h", "--help"} & set(match.group("line").split()):
            return ["%mera --cell-help\n"]
    return lines


class _ArgParser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise ParseError(f"{self.prog}: {message}", hint=f"usage: {self.format_usage().strip()}")


def _cell_parser() -> _ArgParser:
    """The parser of ``%%mera``'s own options, built from :data:`CELL_OPTIONS` (which the help text also shows)."""
    parser = _ArgParser(prog="%%mera", add_help=False)
    for flags, kwargs, _ in CELL_OPTIONS:
        parser.add_argument(*flags, **{k: v for k, v in kwargs.items() if k != "metavar" or v})
    return parser


def _cell_options(line: str) -> argparse.Namespace:
    return _cell_parser().parse_args(shlex.split(line))


def _option_lines(rows: list[tuple[str, str]], width: int = 24) -> str:
    """``  name    help`` rows, the help wrapped under itself."""
    import textwrap

    out = []
    for name, text in rows:
        wrapped = textwrap.wrap(text, 110 - width) or [""]
        if len(name) + 2 >= width:
            out.append(f"  {name}")
            out += [" " * width + line for line in wrapped]
        else:
            out.append(f"  {name:<{width - 2}}{wrapped[0]}")
            out += [" " * width + line for line in wrapped[1:]]
    return "\n".join(out)


def _option_name(flags: tuple[str, ...], kwargs: dict[str, Any]) -> str:
    metavar = kwargs.get("metavar")
    shown = [f for f in flags if f != "--dry_run"]
    return ", ".join(f"{f} {metavar}" if metavar else f for f in shown)


def cell_help() -> str:
    """The cell magic's manual (``%%mera --help``), its options listed from :data:`CELL_OPTIONS`."""
    usage = " ".join(f"[{_option_name(tuple(f for f in flags if f.startswith('--'))[:1], kw)}]"
                     for flags, kw, _ in CELL_OPTIONS)
    rows = [(_option_name(flags, kw), text) for flags, kw, text in CELL_OPTIONS]
    return CELL_TEXT.format(usage=usage, options=_option_lines(rows))


def line_help() -> str:
    """The line magic's manual (``%mera --help``), its subcommands listed from :func:`subcommand`'s registry."""
    rows = [(usage, text) for usage, text in SUBCOMMANDS.values()]
    return LINE_TEXT.format(subcommands=_option_lines(rows))


def _shown_or_failed(dry: Any) -> Any:
    """A dry run without errors is the cell's value; one with errors is shown, then fails the cell (so "Run all"
    stops there)."""
    if dry.ok:
        return dry
    from IPython.display import display

    from .errors import CheckError
    from .texts import text

    display(dry)
    errors = [f for f in dry.findings if f.level == "error"]
    more = text("finding.more-errors", count=len(errors) - 1) if len(errors) > 1 else ""
    raise CheckError(text("finding.dry-run-failed", message=errors[0].message, more=more), dry.findings)


@magics_class
class MeraMagic(Magics, Configurable):
    """IPython magics of mera-magic (``%config MeraMagic.<name>`` sets the traits below)."""

    language = Enum(["ru", "en"], default_value="ru", help="Interface language of panels and help texts").tag(config=True)
    short_errors = Bool(True, help="Show mera-magic errors as one short message (False: full traceback)").tag(config=True)
    max_models = Int(1, help="How many loaded models to keep for reuse between cells").tag(config=True)

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        Magics.__init__(self, shell=shell)
        Configurable.__init__(self, config=shell.config if shell is not None else None, **kwargs)
        if shell is not None:
            shell.configurables.append(self)
            cleanup = getattr(shell, "input_transformers_cleanup", None)
            if cleanup is not None and _cell_help_transformer not in cleanup:
                cleanup.append(_cell_help_transformer)
        self.observe(self._sync, names=["language", "short_errors", "max_models"])
        self._sync()

    def _sync(self, change: Any = None) -> None:
        SESSION.config.language = self.language
        MeraError.short = self.short_errors
        from .runner import model_cache

        model_cache().limit = self.max_models

    @property
    def _ns(self) -> dict[str, Any]:
        return self.shell.user_ns if self.shell is not None else {}

    @no_var_expand
    @line_cell_magic
    def mera(self, line: str, cell: str | None = None) -> Any:
        """%%mera: run an lm_eval command from the MERA guide in this kernel (manual: set below from the code)."""
        if cell is None:
            return self._line(line)
        return self._cell(line, cell)


    # -- cell ---------------------------------------------------------------------------------------------
    def _panel_cell(self, line: str, cell: str) -> Any:
        """``%%mera --panel``: the panel, offering to write its edits back into the cell.  Run again with the
        same text while the previous panel holds edits, the cell gets the edited command (nothing is lost)."""
        from . import texts as T
        from .widgets import panel

        panels: dict[str, Any] = self.__dict__.setdefault("_panels", {})
        before = panels.pop(cell.strip(), None)
        if before is not None and before.edited and self.shell is not None:
            command = before.command
            self.shell.set_next_input(f"%%mera {line.strip()}\n{command}", replace=True)
            print(T.text("ui.writeback.kept"))
            cell = command
        shown = panel(cell, namespace=self._ns, origin=cell)
        panels[cell.strip()] = shown
        return shown

    def _cell(self, line: str, cell: str) -> Any:
        from . import check, parse
        from .dryrun import DryRun

        opts = _cell_options(line)
        if opts.help:
            print(cell_help())
            return None
        if opts.overrides and not opts.suite:
            raise ParseError("--set changes the settings of a suite's tasks: it needs --suite",
                             hint="e.g. %%mera --suite mera --set 'ruhumaneval:num_fewshot=0'")
        if opts.panel:
            return self._panel_cell(line, cell)
        if opts.suite:
            from .suite import parse_overrides, plan_suite, run_suite

            overrides = parse_overrides(opts.overrides)
            if opts.dry_run:
                from .dryrun import SuiteDryRun

                return SuiteDryRun(plan_suite(cell, opts.suite, namespace=self._ns, force=opts.force,
                                              overrides=overrides))
            result = run_suite(cell, opts.suite, namespace=self._ns, force=opts.force, display=not opts.no_display,
                               overrides=overrides)
        elif opts.dry_run:
            spec = parse(cell, self._ns, SESSION.secrets)
            return _shown_or_failed(DryRun(spec, check(cell, namespace=self._ns)))
        else:
            from .runner import run

            result = run(cell, namespace=self._ns, subprocess=opts.subprocess, display=not opts.no_display)
        if opts.out:
            self._ns[opts.out] = result
        return result

    # -- line ---------------------------------------------------------------------------------------------
    def _line(self, line: str) -> Any:
        from .command.shell import words as shell_words

        command, _, raw = line.strip().partition(" ")
        if command == "--cell-help":
            print(cell_help())
            return None
        if not command or command in ("help", "--help", "-h"):
            print(line_help())
            return None
        # `check` and `panel` take a whole command (parsed, with its checks, later); the others take words,
        # expanded exactly as a cell's are ($VAR, ${VAR:-default}, quotes)
        rest = [] if command in ("check", "panel") else shell_words(raw, self._ns, SESSION.secrets)
        handler = getattr(self, f"_cmd_{command}", None)
        if handler is None:
            from .findings import did_you_mean

            names = [n[5:] for n in dir(self) if n.startswith("_cmd_")]
            raise ParseError(f"`%mera {command}` is not a subcommand.{did_you_mean(command, names)}",
                             hint="`%mera --help` lists them.")
        return handler(rest, raw.strip())

    @subcommand('check COMMAND', 'dry run of a one-line command (like %%mera --dry-run); fails on an error')
    def _cmd_check(self, words: list[str], raw: str) -> Any:
        from . import check, parse
        from .dryrun import DryRun

        return _shown_or_failed(DryRun(parse(raw, self._ns, SESSION.secrets), check(raw, namespace=self._ns)))

    @subcommand('flags', 'the flags of the installed lm_eval')
    def _cmd_flags(self, words: list[str], raw: str) -> Any:
        import pandas as pd

        from .lmeval.install import lm_eval_version
        from .lmeval.parser import lm_eval_options

        frame = pd.DataFrame([{"flag": o.flag, "short": " ".join(f for f in o.flags if not f.startswith("--")),
                               "dest": o.dest, "kind": o.kind, "default": o.default, "help": o.help}
                              for o in lm_eval_options()])
        frame.attrs["lm_eval"] = lm_eval_version()
        return frame

    @subcommand('backends [NAME]', 'the backends (--model) and the model_args one of them accepts')
    def _cmd_backends(self, words: list[str], raw: str) -> Any:
        import pandas as pd

        from .findings import did_you_mean
        from .lmeval.backends import backend_names, get_backend

        if words:
            backend = get_backend(words[0])
            if backend is None:
                raise ParseError(f"`{words[0]}` is not a backend.{did_you_mean(words[0], backend_names())}")
            return pd.DataFrame([{"model_arg": a.name, "default": a.default_text, "type": a.annotation,
                                  "required": a.required, "defined in": a.defined_in} for a in backend.args])
        rows = []
        for name in backend_names():
            b = get_backend(name)
            assert b is not None
            rows.append({"backend": name, "class": b.class_name, "module": b.module, "chat only": b.chat_only,
                         "unknown model_args": b.extra_keys, "batch_size auto": b.auto_batch})
        return pd.DataFrame(rows)

    @subcommand('tasks [--include_path DIR] [--all] [PATTERN]', 'task, group and tag names (MERA tasks annotated)')
    def _cmd_tasks(self, words: list[str], raw: str) -> Any:
        import fnmatch

        import pandas as pd

        parser = _ArgParser(prog="%mera tasks", add_help=False)
        parser.add_argument("--include_path")
        parser.add_argument("--all", action="store_true", help="also lm_eval's built-in tasks")
        parser.add_argument("pattern", nargs="?")
        args = parser.parse_args(words)
        from .lmeval.tasks import task_index

        index = task_index(args.include_path, include_defaults=args.all or not args.include_path)
        names = [n for n in index.names if not args.pattern or fnmatch.fnmatch(n, args.pattern)]
        rows = []
        for name in names:
            info = index.info(name)
            row: dict[str, Any] = {"name": name, "kind": info.kind,
                                   "output_type": ", ".join(sorted(info.output_types))}
            try:
                from . import catalog

                facts = catalog.get(name)
            except (ImportError, KeyError, LookupError):
                facts = None
            if facts is not None:
                row["MERA"] = f"{facts.kind}; closed test" if facts.closed_test else facts.kind
            rows.append(row)
        return pd.DataFrame(rows)

    @subcommand('models', 'models held in memory for reuse')
    def _cmd_models(self, words: list[str], raw: str) -> Any:
        import pandas as pd

        from .runner import model_cache

        return pd.DataFrame([{"backend": h.backend, "model": h.model_args.get("pretrained") or h.model_args.get("model"),
                              "device": h.device, "memory (MB)": round((h.memory_bytes() or 0) / 2**20, 1),
                              "loaded in (s)": round(h.load_seconds, 1), "uses": h.uses}
                             for h in model_cache().held()],
                            columns=["backend", "model", "device", "memory (MB)", "loaded in (s)", "uses"])

    @subcommand('free', 'release the held models (GPU memory too)')
    def _cmd_free(self, words: list[str], raw: str) -> None:
        from .runner import model_cache

        count = model_cache().free()
        print(f"released {count} model(s)")

    @subcommand('runs PATH', 'past runs under an --output_path folder')
    def _cmd_runs(self, words: list[str], raw: str) -> Any:
        from .results import runs

        return runs(words[0] if words else ".")

    @subcommand('load PATH [-o NAME]', 'show a run from its results files')
    def _cmd_load(self, words: list[str], raw: str) -> Any:
        parser = _ArgParser(prog="%mera load", add_help=False)
        parser.add_argument("path")
        parser.add_argument("-o", "--out")
        args = parser.parse_args(words)
        from .results import load

        result = load(args.path)
        if args.out:
            self._ns[args.out] = result
        return result

    @subcommand('compare A B ...', 'compare runs (paths, or names of RunResult variables)')
    def _cmd_compare(self, words: list[str], raw: str) -> Any:
        from .results import compare

        items = [self._ns[w] if w in self._ns else w for w in words]
        if len(items) < 2:
            raise ParseError("`%mera compare` needs at least two runs (paths or RunResult variables)")
        return compare(*items, names=words)

    @subcommand('submit OUTPUT_DIR [--gen] [--dst PATH] [--partial]', "build MERA's leaderboard submission archive from the samples files (text or multimodal)")
    def _cmd_submit(self, words: list[str], raw: str) -> Any:
        parser = _ArgParser(prog="%mera submit", add_help=False)
        parser.add_argument("output_dir")
        parser.add_argument("--gen", action="store_true")
        parser.add_argument("--dst")
        parser.add_argument("--partial", action="store_true")
        args = parser.parse_args(words)
        from .submission import submission

        return submission(args.output_dir, args.dst, gen=args.gen, allow_partial=args.partial)

    @subcommand('panel [COMMAND]', 'the widget panel')
    def _cmd_panel(self, words: list[str], raw: str) -> Any:
        from .widgets import panel

        return panel(raw or None, namespace=self._ns)

    @subcommand('serve MODEL [vLLM flags] | --log | --stop', 'start a local vLLM OpenAI-compatible server; sets $MERA_SERVE_URL and $MERA_SERVE_MODEL (`%mera serve --help`)')
    def _cmd_serve(self, words: list[str], raw: str) -> Any:
        from .serve import serve_line

        return serve_line(words)

    @subcommand('secret NAME', 'ask for a secret (e.g. HF_TOKEN) without showing or saving it; use it as $NAME')
    def _cmd_secret(self, words: list[str], raw: str) -> None:
        if len(words) != 1:
            raise ParseError("usage: %mera secret NAME", hint="e.g. `%mera secret HF_TOKEN`, then use $HF_TOKEN in a cell")
        SESSION.secrets[words[0]] = getpass.getpass(f"{words[0]}: ")
        print(f"{words[0]} is kept for this kernel session (not saved); write ${words[0]} in a cell to use it.")

    @subcommand('version', 'versions of lm_eval, transformers, torch and mera-magic')
    def _cmd_version(self, words: list[str], raw: str) -> dict[str, str]:
        from importlib.metadata import PackageNotFoundError, version

        out = {}
        for dist in ("mera-magic", "lm_eval", "transformers", "torch", "datasets", "vllm", "ipywidgets"):
            try:
                out[dist] = version(dist)
            except PackageNotFoundError:
                out[dist] = "not installed"
        return out


MeraMagic.mera.__doc__ = cell_help() + "\n" + line_help()  # `%%mera?` / `%mera?`: generated, so never stale
