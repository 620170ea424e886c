"""mera_magic.lmeval.compat: what the installed lm_eval cannot load in a MERA-style task folder, and why.

Each small folder below has one thing MERA's task folders have.  ``diagnose_task_folder`` must report an
error exactly when the installed lm_eval really fails to load the task (checked by loading it with lm_eval's
own TaskManager in a child process), and ``explain_task_error`` must turn that real exception into a message
naming the cause and the fix.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from mera_magic.lmeval.compat import (
    FORK_COMMIT,
    diagnose_task_folder,
    explain_task_error,
    fork_install_command,
    lm_eval_info,
    task_verdicts,
)

BASE = """\
dataset_path: json
dataset_kwargs: {{data_files: {{test: {data}}}}}
test_split: test
output_type: multiple_choice
doc_to_text: "{{{{inputs.premise}}}}"
doc_to_target: 0
doc_to_choice: ["1", "2"]
metric_list: [{{metric: acc}}]
"""

#: these tests compare English texts (the session's default language is Russian)
pytestmark = pytest.mark.usefixtures("english")

#: case -> (files, task to load)
CASES: dict[str, tuple[dict[str, str], str]] = {
    "clean": ({"plain.yaml": "task: plain\ninclude: base.yaml\n"}, "plain"),
    "fork_key": ({"rutie_like.yaml": "task: rutie_like\ninclude: base.yaml\ncontext_based: true\n"}, "rutie_like"),
    "fewshot_keys": ({"bps_like.yaml": "task: bps_like\ninclude: base.yaml\nnum_fewshot: 1\n"
                                       "fewshot_config: {sampler: first_n, query: 'Q: {{inputs.premise}}',\n"
                                       "  doc_to_text_without_instruction: '{{inputs.premise}}'}\n"},
                     "bps_like"),
    "relative_function": ({"helpers.py": "def identity(dataset):\n    return dataset\n",
                           "sub/rel.yaml": "task: rel\ninclude: ../base.yaml\n"
                                           "process_docs: !function ../helpers.identity\n"}, "rel"),
    "diamond": ({"gen.yaml": "include: base.yaml\noutput_type: generate_until\ndoc_to_choice: null\n"
                             "generation_kwargs: {until: [\"\\n\"]}\nmetric_list: [{metric: exact_match}]\n",
                 "t/dia.yaml": "task: dia\ninclude: ../base.yaml\n",
                 "t/dia_gen.yaml": "task: dia_gen\ninclude: [../gen.yaml, dia.yaml]\n"}, "dia_gen"),
    "tape_metrics": ({"utils.py": "from transformers.data.metrics.squad_metrics import compute_f1\n\n\n"
                                 "def process_results(doc, results):\n    return {'f1': compute_f1('a', 'a')}\n",
                      "tape_like.yaml": "task: tape_like\ninclude: base.yaml\n"
                                        "process_results: !function utils.process_results\n"}, "tape_like"),
}

PROBE = r"""
import dataclasses, json, sys
from mera_magic.lmeval.compat import explain_task_error
out = {}
try:
    from lm_eval.config.task import TaskConfig, FewshotConfig
except ImportError:
    from lm_eval.api.task import TaskConfig
    FewshotConfig = None
out["_fields"] = sorted(f.name for f in dataclasses.fields(TaskConfig))
out["_fewshot_fields"] = sorted(f.name for f in dataclasses.fields(FewshotConfig)) if FewshotConfig else None
from lm_eval.tasks import TaskManager, get_task_dict
for case, folder, task in json.loads(sys.argv[1]):
    try:
        get_task_dict([task], TaskManager(include_path=folder, include_defaults=False))
        out[case] = None
    except Exception as exc:
        out[case] = {"error": f"{type(exc).__name__}: {exc}", "explained": explain_task_error(exc, folder),
                     "unrelated": explain_task_error(exc, sys.argv[2])}
print("PROBE" + json.dumps(out))
"""


def _write_case(root: Path, case: str) -> Path:
    folder = root / case
    (folder / "data").mkdir(parents=True)
    data = folder / "data" / "test.jsonl"
    data.write_text("".join(json.dumps({"inputs": {"premise": f"p{i}"}, "outputs": "", "meta": {"id": i}}) + "\n"
                            for i in range(2)), encoding="utf-8")
    (folder / "base.yaml").write_text(BASE.format(data=data), encoding="utf-8")
    files, _ = CASES[case]
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("compat")
    return {case: _write_case(root, case) for case in CASES}


@pytest.fixture(scope="module")
def real_loads(folders: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Load every case with the installed lm_eval's TaskManager, in a child process (offline)."""
    home = tmp_path_factory.mktemp("hf_home")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "HF_HOME": str(home)}
    jobs = [(case, str(folders[case]), CASES[case][1]) for case in CASES]
    proc = subprocess.run([sys.executable, "-c", PROBE, json.dumps(jobs), str(folders["clean"])],
                          env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("PROBE"))
    return json.loads(line[len("PROBE"):])


def test_info_reads_the_installed_config_dataclasses(real_loads: dict[str, Any]) -> None:
    info = lm_eval_info()
    assert sorted(info.task_fields) == real_loads["_fields"]
    expected = real_loads["_fewshot_fields"]
    assert (sorted(info.fewshot_fields) if info.fewshot_fields is not None else None) == expected
    assert info.version and info.label.endswith(info.version)


def _errors_for(findings: list[Any]) -> set[str]:
    return {f.code for f in findings if f.level == "error"}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_diagnosis_matches_what_lm_eval_really_does(case: str, folders: dict[str, Path],
                                                    real_loads: dict[str, Any]) -> None:
    info = lm_eval_info()
    findings = diagnose_task_folder(folders[case])
    expected = {
        "clean": set(),
        "fork_key": set() if info.is_mera_fork else {"unknown-task-key"},
        "fewshot_keys": {"unknown-fewshot-key"} if info.fewshot_fields is not None else set(),
        "relative_function": {"function-path"} if info.function_refs == "dotted" else set(),
        "diamond": {"include-diamond"} if info.includes == "once" else set(),
        "tape_metrics": {"transformers-metrics"} if info.transformers_has_data_metrics is False else set(),
    }[case]
    assert _errors_for(findings) == expected, findings
    outcome = real_loads[case]
    assert (outcome is not None) == bool(expected), outcome
    if outcome is None:
        return
    explained = outcome["explained"]
    assert explained is not None, outcome["error"]
    assert outcome["unrelated"] is None  # the clean folder does not explain another folder's error
    assert explained.startswith(f"{info.label} cannot load these MERA tasks")
    fix = 'pip install "transformers<5"' if case == "tape_metrics" else fork_install_command()
    assert fix in explained
    cause = {"fork_key": "`context_based`", "fewshot_keys": "`query`", "relative_function": "../helpers.identity",
             "diamond": "dia_gen", "tape_metrics": "transformers.data.metrics"}[case]
    assert cause in explained
    messages = " ".join(f.message for f in findings)
    assert fix in messages and (case == "tape_metrics" or FORK_COMMIT in messages)


def test_include_order_warning(folders: dict[str, Path]) -> None:
    info = lm_eval_info()
    warnings = [f for f in diagnose_task_folder(folders["diamond"]) if f.code == "include-order"]
    if info.include_precedence == "last":
        assert len(warnings) == 1 and "`output_type`" in warnings[0].message and warnings[0].level == "warning"
        assert warnings[0].where == "t/dia_gen.yaml"
    else:
        assert warnings == []


def test_explain_ignores_unrelated_errors(folders: dict[str, Path]) -> None:
    assert explain_task_error(ValueError("CUDA out of memory"), folders["fork_key"]) is None
    assert explain_task_error(TypeError("unexpected keyword argument 'context_based'"), None) is None
    made_up = TypeError("TaskConfig.__init__() got an unexpected keyword argument 'context_based'")
    assert "`context_based`" in (explain_task_error(made_up, folders["fork_key"]) or "")
    assert explain_task_error(made_up, folders["clean"]) is None


def test_missing_include_and_bad_yaml(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("task: a\ninclude: nowhere.yaml\n", encoding="utf-8")
    (tmp_path / "b.yaml").write_text("task: b\ninclude: c.yaml\n", encoding="utf-8")
    (tmp_path / "c.yaml").write_text("include: b.yaml\ndataset_path: json\n", encoding="utf-8")
    (tmp_path / "d.yaml").write_text("task: d\n  bad: [indent\n", encoding="utf-8")
    codes = {(f.code, f.where) for f in diagnose_task_folder(tmp_path)}
    assert ("include-missing", "a.yaml") in codes
    assert ("include-cycle", "b.yaml") in codes
    bad = [f for f in diagnose_task_folder(tmp_path) if f.code == "yaml-error"]
    assert [(f.level, f.where) for f in bad] == [("warning", "d.yaml")]  # no task is known to need it
    assert [f.code for f in diagnose_task_folder(tmp_path / "nowhere")] == ["no-folder"]


def _fork_stand_in(tmp_path: Path) -> Path:
    """MERA's fork cannot be installed here (no access to GitHub): a stand-in package with the fork's
    TaskConfig layout (0.4.4's fields plus the fork's three keys, free-form fewshot_config) is read instead."""
    pkg = tmp_path / "lm_eval"
    (pkg / "api").mkdir(parents=True)
    (pkg / "api" / "task.py").write_text(textwrap.dedent("""\
        from dataclasses import dataclass
        from typing import Optional

        @dataclass
        class TaskConfig(dict):
            task: Optional[str] = None
            dataset_path: Optional[str] = None
            dataset_kwargs: Optional[dict] = None
            test_split: Optional[str] = None
            output_type: str = "generate_until"
            training_split: Optional[str] = None
            fewshot_split: Optional[str] = None
            process_docs: Optional[object] = None
            process_results: Optional[object] = None
            doc_to_text: Optional[str] = None
            doc_to_target: Optional[str] = None
            generation_kwargs: Optional[dict] = None
            filter_list: Optional[list] = None
            metadata: Optional[dict] = None
            doc_to_choice: Optional[list] = None
            metric_list: Optional[list] = None
            fewshot_config: Optional[dict] = None
            num_fewshot: Optional[int] = None
            context_based: bool = False
            request_updater: Optional[str] = None
            storage_updater: Optional[str] = None
        """), encoding="utf-8")
    return pkg


def test_a_fork_installation_accepts_the_fork_keys(tmp_path: Path, folders: dict[str, Path]) -> None:
    fork = lm_eval_info(_fork_stand_in(tmp_path))
    assert fork.is_mera_fork and fork.function_refs == "file" and fork.fewshot_fields is None
    assert fork.label.startswith("MERA's lm_eval fork")
    # the fork itself needs transformers < 5
    expected = {"fork-transformers"} if (fork.transformers_major or 0) >= 5 else set()
    for case in ("clean", "fork_key", "fewshot_keys", "relative_function", "diamond"):
        assert _errors_for(diagnose_task_folder(folders[case], info=fork)) == expected, case


def test_fork_install_command() -> None:
    assert fork_install_command() == ('pip install "lm_eval @ git+https://github.com/artemorloff/'
                                      'lm-evaluation-harness@update_release" "transformers<5"')
    assert f"@{FORK_COMMIT}\"" in fork_install_command(FORK_COMMIT)


def test_keys_of_newer_lm_eval_on_an_older_one(tmp_path: Path, folders: dict[str, Path]) -> None:
    fork = lm_eval_info(_fork_stand_in(tmp_path))
    folder = tmp_path / "newer"
    folder.mkdir()
    (folder / "t.yaml").write_text("task: t\ndataset_path: json\ngen_prefix: 'Ответ:'\n", encoding="utf-8")
    (found,) = [f for f in diagnose_task_folder(folder, info=fork) if f.code == "unknown-task-key"]
    assert found.where == "t.yaml: gen_prefix" and "does not have" in found.message
    installed = lm_eval_info()
    assert any(f.code == "unknown-task-key" for f in diagnose_task_folder(folder)) == \
        ("gen_prefix" not in installed.task_fields)


def test_diagnosis_per_task_in_a_mixed_folder(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    from mera_magic.lmeval.compat import nothing_loads_message, task_verdicts

    folder = _write_case(tmp_path, "clean")
    (folder / "rutie_like.yaml").write_text(CASES["fork_key"][0]["rutie_like.yaml"], encoding="utf-8")
    # what the installed lm_eval really does: the clean task loads from the folder, the fork-keyed one does not
    home = tmp_path_factory.mktemp("hf_home_mixed")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "HF_HOME": str(home)}
    jobs = [("plain", str(folder), "plain"), ("rutie_like", str(folder), "rutie_like")]
    proc = subprocess.run([sys.executable, "-c", PROBE, json.dumps(jobs), str(folder)], env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    real = json.loads(next(x for x in proc.stdout.splitlines() if x.startswith("PROBE"))[len("PROBE"):])
    assert real["plain"] is None and real["rutie_like"] is not None

    assert not [f for f in diagnose_task_folder(folder, tasks=["plain"]) if f.level == "error"]
    assert [f for f in diagnose_task_folder(folder, tasks=["rutie_like"]) if f.level == "error"]
    assert [f for f in diagnose_task_folder(folder) if f.level == "error"]  # the whole folder: still reported
    assert [f for f in diagnose_task_folder(folder, tasks=["some_tag"]) if f.level == "error"]  # not a task name

    verdicts = task_verdicts(folder, ["plain", "rutie_like"])
    assert verdicts["plain"].loads and not verdicts["rutie_like"].loads
    assert "context_based" in verdicts["rutie_like"].message and "pip install" in verdicts["rutie_like"].message
    message = nothing_loads_message(folder, {"rutie_like": verdicts["rutie_like"]})
    assert message.count("pip install") == 1 and "cannot load any of these 1 tasks" in message


def test_the_findings_speak_the_session_language_and_the_failure_messages_stay_english(folders: dict[str, Path]) -> None:
    from mera_magic.session import SESSION

    cases = ("fork_key", "fewshot_keys", "relative_function", "diamond", "tape_metrics")
    english = {case: [f.message for f in diagnose_task_folder(folders[case])] for case in cases}
    SESSION.config.language = "ru"
    try:
        russian = {case: diagnose_task_folder(folders[case]) for case in cases}
        verdicts = task_verdicts(folders["fork_key"], ["rutie_like"])
    finally:
        SESSION.config.language = "en"
    assert english == {case: [f.message for f in diagnose_task_folder(folders[case])] for case in cases}  # not cached
    for case, findings in russian.items():
        for found in findings:
            assert re.search("[а-яА-ЯёЁ]", found.message), found.message
            assert not re.search("[а-яА-ЯёЁ]", " ".join(english[case])), case
    fork_key = [f for f in russian["fork_key"] if f.code == "unknown-task-key"]
    if fork_key:  # this lm_eval lacks the fork's keys: the finding names the key and the fork's install command
        assert "`context_based`" in fork_key[0].message and fork_install_command() in fork_key[0].message
    assert all(not re.search("[а-яА-ЯёЁ]", v.message) for v in verdicts.values())  # the suite's messages: English
