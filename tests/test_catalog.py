"""mera_magic.catalog: MERA's 23 text tasks as data, checked against the facts of MERA v1.2's scripts."""

from __future__ import annotations

import dataclasses

import pytest

from mera_magic import catalog
from mera_magic.errors import MeraError

#: MERA's run_benchmark.sh: few-shot count -> tasks, in the script's order
SCRIPT_GROUPS = [
    (2, "simplear"),
    (1, "bps lcs chegeka mathlogicqa parus rcb rudetox ruhatespeech rummlu ruworldtree ruopenbookqa rumultiar use "
        "rwsd mamuramu"),
    (0, "multiq rumodar ruethics ruhhh ruhumaneval rucodeeval"),
    (1, "rutie"),
]
SCRIPT_ORDER = [(name, shots) for shots, names in SCRIPT_GROUPS for name in names.split()]
NATIVELY_GENERATIVE = {"chegeka", "multiq", "rudetox", "ruhumaneval", "rucodeeval", "rumodar", "rumultiar",
                       "simplear", "use"}
OUTSIDE_TOTAL = {"bps", "rudetox", "ruethics", "ruhatespeech", "ruhhh", "ruhumaneval", "rummlu", "simplear"}
FILES = ("BPS LCS CheGeKa MathLogicQA MultiQ PARus RCB ruDetox ruEthics ruHateSpeech ruHHH ruMMLU MaMuRAMu "
         "ruModAr ruMultiAr SimpleAr ruOpenBookQA ruWorldTree RWSD USE ruTiE ruHumanEval ruCodeEval").split()


def test_the_23_tasks_and_their_facts() -> None:
    assert len(catalog.TASKS) == 23
    assert sorted(t.submission_file for t in catalog.TASKS) == sorted(f"{f}.json" for f in FILES)
    assert {t.name for t in catalog.TASKS if not t.in_total} == OUTSIDE_TOTAL
    assert {t.name for t in catalog.TASKS if t.kind == "diagnostic"} == OUTSIDE_TOTAL
    assert {t.name for t in catalog.TASKS if t.gen_twin is None} == NATIVELY_GENERATIVE
    for task in catalog.TASKS:
        assert task.description_ru and task.description_en and task.description("ru") != task.description("en")
        if task.name in NATIVELY_GENERATIVE:
            assert task.output_type == "generate_until" and task.choices is None
        else:
            assert task.output_type == "multiple_choice" and task.gen_twin == f"{task.name}_gen"
            assert task.choices and len(set(task.choices)) == len(task.choices)
    assert catalog.get("lcs").choices == tuple("0123456789")
    assert catalog.get("rwsd").choices == ("Да", "Нет")
    assert catalog.get("rcb").choices == ("1", "2", "3")
    assert catalog.get("ruethics").outputs == "dict"
    assert {t.name for t in catalog.TASKS if t.outputs == "list"} == {"ruhumaneval", "rucodeeval"}
    assert catalog.get("rutie").meta_keys == ("dialog_id", "question_id")
    assert catalog.get("use").meta_keys == ("id", "id_task", "variant")
    assert catalog.get("mamuramu").closed_test and not catalog.get("ruethics").closed_test


def test_tasks_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        catalog.get("parus").fewshot = 5  # type: ignore[misc]


def test_suites_carry_the_scripts_fewshot_counts() -> None:
    assert catalog.suite("mera") == SCRIPT_ORDER
    gen = catalog.suite("mera_gen")
    assert gen == [(n if n in NATIVELY_GENERATIVE else f"{n}_gen", shots) for n, shots in SCRIPT_ORDER]
    everything = catalog.suite("MERA_ALL")
    assert len(everything) == 37 and len({n for n, _ in everything}) == 37
    assert everything[:23] == SCRIPT_ORDER
    assert dict(everything)["simplear"] == 2 and dict(everything)["rutie_gen"] == 1
    assert catalog.names(gen=True) == [n for n, _ in gen]


def test_names_and_variants() -> None:
    for name in ("parus", "parus_gen", "parus_localscore", "parus_gen_localscore", " PARUS "):
        assert catalog.get(name).name == "parus"
        assert catalog.is_mera_task(name)
    parsed = catalog.parse_name("rummlu_gen_localscore")
    assert parsed is not None and parsed.gen and parsed.local and parsed.task.name == "rummlu"
    assert catalog.parse_name("chegeka_gen") is None  # natively generative: no _gen twin
    assert not catalog.is_mera_task("hellaswag") and catalog.find("hellaswag") is None
    assert catalog.by_submission_file("PARus.json") is catalog.get("parus")
    assert catalog.by_submission_file("sub/ruhhh") is catalog.get("ruhhh")
    assert catalog.by_submission_file("README.md") is None
    assert catalog.get("parus").submission_name == "PARus"
    assert catalog.get("parus").task_name(gen=True) == "parus_gen"
    assert catalog.get("use").task_name(gen=True) == "use"


def test_unknown_names_raise_a_mera_error_that_is_a_key_error() -> None:
    with pytest.raises(KeyError) as err:
        catalog.get("hellaswag")
    assert isinstance(err.value, MeraError)
    assert str(err.value).startswith("'hellaswag' is not a MERA text task.") and "rutie" in str(err.value)
    with pytest.raises(catalog.UnknownNameError, match="mera_gen"):
        catalog.suite("mera_multimodal")


def test_run_settings_are_the_scripts_fewshot_and_gen_kwargs() -> None:
    assert catalog.run_settings("ruhumaneval") == (0, "temperature=0.6,do_sample=True", True)
    assert catalog.run_settings("rucodeeval").gen_kwargs == catalog.CODE_GEN_KWARGS
    assert catalog.run_settings("parus") == (1, "do_sample=False", False)
    assert catalog.run_settings("parus_gen") == (1, "do_sample=False", True)
    assert catalog.run_settings("simplear").num_fewshot == 2 and catalog.run_settings("rutie").num_fewshot == 1
    assert [t.name for t in catalog.TASKS if t.gen_kwargs != catalog.GENERATION_KWARGS] == ["ruhumaneval", "rucodeeval"]
    assert len(catalog.RUDETOX_CLASSIFIERS) == 3
    with pytest.raises(catalog.UnknownNameError):
        catalog.run_settings("no_such_task")
