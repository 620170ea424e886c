"""Faults end in one precise message, never a raw traceback or a false "done": writes that fail, malformed results
files, unsafe archive names, shell text that is not one command, variables no environment can hold, threads that
print during a run."""

from __future__ import annotations

import copy
import json
import shutil
import threading
import warnings
import zipfile
from pathlib import Path
from typing import Any

import pytest

import mera_magic as mm
from mera_magic import environ
from mera_magic.errors import ParseError, ResultsError, RunError
from mera_magic.lmeval.output import MAX_RESULTS_BYTES, find_runs

STAMP = "2026-12-01T03-27-21.483709"


def _command(model: Path, tasks: Path, out: Path | str) -> str:
    return (f"lm_eval --model hf --model_args pretrained={model},dtype=float32 --device cpu --batch_size 4 "
            f"--include_path {tasks} --output_path {out} --log_samples --limit 2 --tasks parus")


# -- writes that fail ---------------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("child", [False, True], ids=["in_process", "child_process"])
def test_output_path_under_a_file_fails_the_run(demo_model: Path, demo_tasks: Path, tmp_path: Path,
                                                 child: bool) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    with pytest.raises(RunError) as raised:
        mm.run(_command(demo_model, demo_tasks, blocker / "out"), display=False, subprocess=child)
    message = raised.value.message
    assert message.startswith(f"lm_eval could not write the results file under {blocker / 'out'}: "
                              "NotADirectoryError: [Errno 20] Not a directory: "), message
    assert "choose an --output_path in a folder you can write to" in (raised.value.hint or "")
    # the full-disk case (ENOSPC) goes through the same wrapper; it cannot be produced here without root tricks


# -- malformed results files --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def good_run(demo_scored_output: Path) -> tuple[dict[str, Any], Path]:
    results = next(demo_scored_output.rglob("results_*.json"))
    return json.loads(results.read_text(encoding="utf-8")), next(demo_scored_output.rglob("samples_parus_*.jsonl"))


def _folder(tmp_path: Path, good: tuple[dict[str, Any], Path], change: Any = None, text: str | None = None,
            samples_folder: bool = False) -> Path:
    raw, samples = good
    folder = tmp_path / "run" / "model"
    folder.mkdir(parents=True)
    edited = copy.deepcopy(raw)
    if change is not None:
        change(edited)
    (folder / f"results_{STAMP}.json").write_text(text if text is not None else json.dumps(edited), encoding="utf-8")
    if samples_folder:
        (folder / f"samples_parus_{STAMP}.jsonl").mkdir()
    else:
        shutil.copy(samples, folder / f"samples_parus_{STAMP}.jsonl")
    return tmp_path / "run"


@pytest.mark.parametrize("field,value,message", [
    ("n-samples", {"parus": [1, 2]}, "field n-samples.parus is a list ([1, 2]), expected a mapping; ignored"),
    ("n-samples", "x", "field 'n-samples' is a string (\"x\"), expected a mapping by task; ignored"),
    ("n-shot", "zero", "field 'n-shot' is a string (\"zero\"), expected a mapping by task; ignored"),
    ("config", "str", "field 'config' is a string (\"str\"), expected a mapping; ignored"),
    ("configs", {"parus": "str"}, "field configs.parus is a string (\"str\"), expected a mapping; ignored"),
    ("higher_is_better", "x", "field 'higher_is_better' is a string (\"x\"), expected a mapping by task; ignored"),
    ("versions", [1], "field 'versions' is a list ([1]), expected a mapping by task; ignored"),
])
def test_odd_typed_fields_are_named_and_the_rest_is_read(tmp_path: Path, good_run: Any, field: str, value: Any,
                                                        message: str) -> None:
    folder = _folder(tmp_path, good_run, lambda raw: raw.__setitem__(field, value))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = mm.load(folder)
        assert "parus" in set(result.metrics["task"])
        assert [str(p) for p in result.problems] == [f"{next(folder.rglob('results_*.json'))}: {message}"]
        mm.runs(folder)
        mm.compare(result, result)
        repr(result)
        result.config  # noqa: B018 - reading it must not raise


def test_deep_nesting_is_reported(tmp_path: Path, good_run: Any) -> None:
    folder = _folder(tmp_path, good_run, text='{"results": {"parus": ' + "[" * 100_000 + "]" * 100_000 + "}}")
    with pytest.raises(ResultsError) as raised:
        mm.load(folder)
    assert "nested too deeply to be lm_eval's output" in raised.value.message
    assert mm.runs(folder)["tasks"].iloc[0].startswith("(cannot be read: nested too deeply")


def test_huge_file_is_refused_without_reading_it(tmp_path: Path, good_run: Any) -> None:
    folder = _folder(tmp_path, good_run)
    results = next(folder.rglob("results_*.json"))
    with results.open("r+b") as handle:
        handle.truncate(MAX_RESULTS_BYTES + 1)  # sparse: no memory, no disk
    with pytest.raises(ResultsError) as raised:
        mm.load(results)
    assert raised.value.message == (f"{results}: {MAX_RESULTS_BYTES + 1:,} bytes, more than the "
                                    f"{MAX_RESULTS_BYTES:,} a results file can be (not lm_eval's results; move it "
                                    "out of the folder).")


def test_samples_file_that_is_a_folder(tmp_path: Path, good_run: Any) -> None:
    folder = _folder(tmp_path, good_run, samples_folder=True)
    result = mm.load(folder)
    with pytest.raises(ResultsError, match="No samples for task 'parus' in this run"):
        result.samples("parus")


def test_thousands_of_junk_results_files_are_listed_once(tmp_path: Path, good_run: Any) -> None:
    folder = _folder(tmp_path, good_run)
    model = next(folder.iterdir())
    for i in range(3000):
        (model / f"results_2027-01-01T00-00-00.{i:06d}.json").write_text("junk", encoding="utf-8")
    assert len(find_runs(folder)) == 3001
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = mm.load(folder)  # the newest readable run, every junk file named once
        assert "parus" in set(result.metrics["task"]) and len(result.problems) == 3000
        assert str(result.problems[0]).endswith("results_2027-01-01T00-00-00.002999.json:1: not valid JSON "
                                                "(Expecting value, column 1).")


# -- archive names --------------------------------------------------------------------------------------------------
def test_unsafe_file_names_are_not_runs(tmp_path: Path, good_run: Any) -> None:
    folder = _folder(tmp_path, good_run)
    model = next(folder.iterdir())
    (model / f"..\\..\\results_{STAMP}.json").write_text(json.dumps(good_run[0]), encoding="utf-8")
    assert [r.results.name for r in find_runs(folder)] == [f"results_{STAMP}.json"]


def test_validate_archive_names_unsafe_entries(tmp_path: Path) -> None:
    archive = tmp_path / "bad.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("..\\..\\x.json", "{}")
        zf.writestr("../up.json", "{}")
        zf.writestr("/abs.json", "{}")
    findings = [f for f in mm.validate_archive(archive) if f.code == "unsafe_name"]
    assert [f.message for f in findings] == [
        "'..\\\\..\\\\x.json': a backslash in an entry name (a path separator to some tools); MERA's archive holds "
        "only <Task>.json and logs_public.zip at its root.",
        "'../up.json': a `..` path component; MERA's archive holds only <Task>.json and logs_public.zip at its root.",
        "'/abs.json': an absolute path; MERA's archive holds only <Task>.json and logs_public.zip at its root.",
    ]


# -- shell text ---------------------------------------------------------------------------------------------------
def test_lone_ampersand_is_refused() -> None:
    with pytest.raises(ParseError) as raised:
        mm.parse("lm_eval --model hf --model_args pretrained=x --tasks parus &")
    assert raised.value.message == ("line 1: `&` is a background (`&`) or `&&` operator; a %%mera cell holds one "
                                    "lm_eval command")


@pytest.mark.parametrize("dash", ["\u2014", "\u2013", "\u2212"])
def test_look_alike_dashes_get_a_hint(dash: str) -> None:
    with pytest.raises(ParseError) as raised:
        mm.parse(f"lm_eval --model hf --model_args pretrained=x {dash}tasks parus")
    assert raised.value.message == (f"line 1: `{dash}tasks` starts with a look-alike dash (U+{ord(dash):04X}), "
                                    "not `-`")
    assert raised.value.hint is not None and raised.value.hint.startswith("Write `--tasks` with two ASCII hyphens")


def test_crlf_text_parses_like_lf() -> None:
    lf = "lm_eval --model hf \\\n --model_args pretrained=x \\\n --tasks parus,rcb\n"
    assert mm.parse(lf.replace("\n", "\r\n")) == mm.parse(lf)


# -- variables ----------------------------------------------------------------------------------------------------
def test_nul_byte_in_a_variable() -> None:
    with pytest.raises(ParseError) as raised, environ.scoped_environment({"FOO": "a\0b"}):
        pass
    assert raised.value.message == ("the variable FOO cannot be set: its value holds a NUL byte (\\0), which no "
                                    "environment variable can hold")


# -- threads that print during a run ------------------------------------------------------------------------------
@pytest.mark.slow
def test_other_threads_print_where_they_would_have(demo_model: Path, demo_tasks: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from mera_magic.runner import model_cache
    from mera_magic.runner.inprocess import evaluate_in_process
    from mera_magic.runner.progress import Progress

    spec = mm.parse(_command(demo_model, demo_tasks, tmp_path / "o"))
    started, stop = threading.Event(), threading.Event()

    def chatter() -> None:  # a thread of the user's, started before the run, printing during it
        started.set()
        while not stop.is_set():
            print("OUTSIDE-THREAD-LINE", flush=True)
            stop.wait(0.02)

    thread = threading.Thread(target=chatter, daemon=True)
    thread.start()
    started.wait(5)
    progress = Progress("t", None, {})
    try:
        evaluate_in_process(spec, progress, model_cache(), include_defaults=False)
    finally:
        stop.set()
        thread.join(5)
    assert progress.status == "done"
    assert not any("OUTSIDE-THREAD-LINE" in line for line in progress.log)
    assert "OUTSIDE-THREAD-LINE" in capsys.readouterr().out
