"""mera_magic.magic: the %%mera / %mera magics driven through a real IPython shell."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from mera_magic.errors import CheckError, MeraError, ParseError


@pytest.fixture(scope="module")
def ip() -> InteractiveShell:
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "mera_magic")
    return shell


def test_magics_are_registered(ip: InteractiveShell) -> None:
    assert "mera" in ip.magics_manager.magics["cell"]
    assert "mera" in ip.magics_manager.magics["line"]
    with capture_output() as out:
        ip.run_line_magic("mera", "--help")
    for sub in ("check", "flags", "backends", "tasks", "models", "free", "runs", "compare", "submit", "panel", "secret"):
        assert sub in out.stdout


def test_cell_docstring_is_the_manual(ip: InteractiveShell) -> None:
    doc = ip.magics_manager.magics["cell"]["mera"].__doc__
    assert "--dry-run" in doc and "--suite" in doc and "-o NAME" in doc


def test_dry_run_runs_nothing_and_masks_secrets(ip: InteractiveShell) -> None:
    argv = list(sys.argv)
    env = dict(os.environ)
    with capture_output() as out:
        result = ip.run_cell("%%mera --dry-run\nHF_TOKEN=hf_verysecretvalue lm_eval --model hf "
                             "--model_args pretrained=gpt2 --tasks arc_easy --fewshot_as_multiturn")
    assert isinstance(result.error_in_exec, CheckError)  # shown, then the cell fails: "Run all" stops here
    html = out.outputs[0].data["text/html"]
    assert "hf_verysecretvalue" not in str(result.error_in_exec) and "hf_verysecretvalue" not in out.stdout
    assert "hf_verysecretvalue" not in html
    assert "multiturn-without-chat-template" in html
    assert sys.argv == argv and dict(os.environ) == env


def test_ipython_does_not_rewrite_dollar_and_braces(ip: InteractiveShell, demo_model: Path, demo_tasks: Path) -> None:
    ip.user_ns.update(OUT="/from/notebook", MODEL=str(demo_model), TASKS=str(demo_tasks))
    dry = ip.run_line_magic("mera", 'check lm_eval --model_args pretrained=$MODEL --output_path $OUT '
                                    '--system_instruction "{1+1} $PWD" --include_path $TASKS --tasks parus')
    assert dry.spec.options["output_path"] == "/from/notebook"
    assert dry.spec.options["system_instruction"] == "{1+1} " + os.getcwd()


def test_bad_command_fails_the_cell_with_one_short_message(ip: InteractiveShell) -> None:
    with capture_output() as out:
        result = ip.run_cell("%%mera\nlm_eval --model hf --num_fewshots 2 --tasks a")
    assert isinstance(result.error_in_exec, ParseError)
    assert "Did you mean `--num_fewshot`" in out.stdout + out.stderr
    assert "Traceback" not in out.stdout + out.stderr
    assert ip.run_cell("1 + 1").result == 2  # the kernel is fine


def test_full_traceback_switch(ip: InteractiveShell) -> None:
    ip.run_line_magic("config", "MeraMagic.short_errors = False")
    try:
        with capture_output() as out:
            ip.run_cell("%%mera\nlm_eval --num_fewshots 2 --tasks a")
        assert "Traceback" in out.stdout + out.stderr
    finally:
        ip.run_line_magic("config", "MeraMagic.short_errors = True")
    assert MeraError.short is True


def test_check_errors_stop_the_cell(ip: InteractiveShell) -> None:
    result = ip.run_cell("%%mera\nlm_eval --model hf --model_args pretrained=gpt2 --log_samples --tasks arc_easy")
    assert isinstance(result.error_in_exec, CheckError)
    assert "no-output-path" in {f.code for f in result.error_in_exec.findings}


def test_language_setting_reaches_the_session(ip: InteractiveShell) -> None:
    from mera_magic.session import SESSION

    ip.run_line_magic("config", "MeraMagic.language = 'en'")
    assert SESSION.config.language == "en"
    ip.run_line_magic("config", "MeraMagic.language = 'ru'")
    assert SESSION.config.language == "ru"


def test_line_subcommands(ip: InteractiveShell) -> None:
    flags = ip.run_line_magic("mera", "flags")
    assert "--num_fewshot" in set(flags["flag"])
    backends = ip.run_line_magic("mera", "backends")
    assert {"hf", "vllm", "local-completions"} <= set(backends["backend"])
    hf_args = ip.run_line_magic("mera", "backends hf")
    assert "pretrained" in set(hf_args["model_arg"])
    with pytest.raises(ParseError, match="Did you mean `models`"):
        ip.run_line_magic("mera", "model")
    assert "lm_eval" in ip.run_line_magic("mera", "version")


def test_tasks_subcommand_annotates_mera_tasks(ip: InteractiveShell, demo_tasks: Path) -> None:
    frame = ip.run_line_magic("mera", f"tasks --include_path {demo_tasks}")
    assert {"parus", "simplear", "rummlu"} <= set(frame["name"])
    assert frame.set_index("name").loc["parus", "output_type"] == "multiple_choice"
    assert frame.set_index("name").loc["parus", "MERA"]


@pytest.mark.slow
def test_run_through_the_magic(ip: InteractiveShell, demo_model: Path, demo_tasks: Path, tmp_path: Path) -> None:
    ip.user_ns.update(MODEL=str(demo_model), TASKS=str(demo_tasks), OUT=str(tmp_path / "out"))
    result = ip.run_cell("%%mera -o r1\n"
                         "# a comment, then the command over several lines\n"
                         "TOKENIZERS_PARALLELISM=false lm_eval --model hf \\\n"
                         "  --model_args pretrained=$MODEL,dtype=float32 --device cpu \\\n"
                         "  --include_path $TASKS --output_path $OUT --log_samples --limit 4 --tasks parus")
    assert result.error_in_exec is None
    r1 = ip.user_ns["r1"]
    assert r1 is result.result and ip.user_ns["_"] is r1
    assert "parus" in r1.tasks
    models = ip.run_line_magic("mera", "models")
    assert len(models) == 1
    with capture_output():
        ip.run_line_magic("mera", "free")
    assert len(ip.run_line_magic("mera", "models")) == 0
    runs = ip.run_line_magic("mera", f"runs {tmp_path / 'out'}")
    assert len(runs) == 1


def test_help_lists_every_option_and_subcommand_the_code_has(ip: InteractiveShell) -> None:
    """The manuals come from the declarations that parse the magic: nothing undocumented, nothing stale."""
    from mera_magic.magic import CELL_OPTIONS, SUBCOMMANDS, MeraMagic, _cell_parser, cell_help, line_help

    methods = {name.removeprefix("_cmd_") for name in dir(MeraMagic) if name.startswith("_cmd_")}
    assert methods == set(SUBCOMMANDS)  # every subcommand is declared, every declaration is a subcommand
    for usage, _ in SUBCOMMANDS.values():
        assert usage in line_help()
    parsed = {flag for action in _cell_parser()._actions for flag in action.option_strings}
    declared = {flag for flags, _, _ in CELL_OPTIONS for flag in flags}
    assert parsed == declared and "--no-display" in cell_help()
    for flags, _, _ in CELL_OPTIONS:
        assert flags[0] in cell_help()
    with capture_output() as out:
        ip.run_line_magic("mera", "--help")
    assert out.stdout.strip() == line_help().strip()


def test_reference_page_is_generated_from_the_code() -> None:
    import subprocess

    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, str(root / "scripts" / "make_reference.py"), "--check"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_readme_links_point_at_files_that_exist() -> None:
    import re

    root = Path(__file__).resolve().parents[1]
    for page in [root / "README.md", *sorted((root / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            if "://" in target or target.startswith("mailto:"):
                continue
            assert (page.parent / target).exists(), f"{page.name} links to {target}, which does not exist"
