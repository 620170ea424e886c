"""mera_magic.environ: variables hold for one run; import-time ones are applied or sent to a child process."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import pytest

from mera_magic import environ


def test_scoped_environment_sets_and_restores() -> None:
    before = dict(os.environ)
    path_before = list(sys.path)
    with environ.scoped_environment({"MERA_A": "1", "PYTHONPATH": "/tmp/mera-x:/tmp/mera-y"}):
        assert os.environ["MERA_A"] == "1"
        assert sys.path[:2] == ["/tmp/mera-x", "/tmp/mera-y"]
        os.environ["SET_INSIDE"] = "yes"  # what lm_eval itself does (TOKENIZERS_PARALLELISM)
        logging.getLogger("lm_eval").addHandler(logging.NullHandler())
    assert dict(os.environ) == before
    assert sys.path == path_before
    assert not any(isinstance(h, logging.NullHandler) for h in logging.getLogger("lm_eval").handlers)


def test_restored_after_an_exception() -> None:
    before = dict(os.environ)
    with pytest.raises(RuntimeError), environ.scoped_environment({"MERA_B": "2"}):
        raise RuntimeError("boom")
    assert dict(os.environ) == before


def test_datasets_settings_are_applied_for_the_run(tmp_path) -> None:
    import datasets.config as cfg

    cache_before, size_before = cfg.HF_DATASETS_CACHE, cfg.IN_MEMORY_MAX_SIZE
    with environ.scoped_environment({"HF_DATASETS_CACHE": str(tmp_path), "HF_DATASETS_IN_MEMORY_MAX_SIZE": "23400000"}):
        assert str(cfg.HF_DATASETS_CACHE) == str(tmp_path)
        assert cfg.IN_MEMORY_MAX_SIZE == 23400000
    assert (cfg.HF_DATASETS_CACHE, cfg.IN_MEMORY_MAX_SIZE) == (cache_before, size_before)


def test_plan_sends_frozen_variables_to_a_child_process(tmp_path) -> None:
    import huggingface_hub.constants as hub

    assert environ.plan({"HF_HOME": str(hub.HF_HOME)}).in_process
    plan = environ.plan({"HF_HOME": str(tmp_path)})
    assert not plan.in_process and "HF_HOME" in plan.reasons[0]
    assert environ.plan({"HF_TOKEN": "x", "TOKENIZERS_PARALLELISM": "false"}).in_process


def test_library_settings_a_run_changed_are_put_back(tmp_path: Path) -> None:
    import datasets.config as cfg
    import huggingface_hub.constants as hub

    before = (hub.HF_HOME, cfg.HF_DATASETS_CACHE, cfg.IN_MEMORY_MAX_SIZE)
    with environ.scoped_environment({"HF_DATASETS_CACHE": str(tmp_path / "ds"),
                                     "HF_DATASETS_IN_MEMORY_MAX_SIZE": "12345"}):
        assert cfg.IN_MEMORY_MAX_SIZE == 12345.0
        hub.HF_HOME = str(tmp_path / "home")  # what a library reading the run's HF_HOME would have done
    assert (hub.HF_HOME, cfg.HF_DATASETS_CACHE, cfg.IN_MEMORY_MAX_SIZE) == before


def test_settings_module_first_imported_during_a_run_is_read_again(tmp_path: Path) -> None:
    import importlib
    import sys

    import huggingface_hub.constants as hub

    kernel_home = hub.HF_HOME
    del sys.modules["huggingface_hub.constants"]  # as if the hub were first imported by the run
    try:
        with environ.scoped_environment({"HF_HOME": str(tmp_path / "run_home")}):
            during = importlib.import_module("huggingface_hub.constants")
            assert during.HF_HOME == str(tmp_path / "run_home")
        assert sys.modules["huggingface_hub.constants"].HF_HOME == kernel_home
    finally:
        sys.modules["huggingface_hub.constants"] = hub


def test_malformed_value_is_left_to_the_checks() -> None:
    import datasets.config as cfg

    size_before = cfg.IN_MEMORY_MAX_SIZE
    with environ.scoped_environment({"HF_DATASETS_IN_MEMORY_MAX_SIZE": "lots"}):
        assert cfg.IN_MEMORY_MAX_SIZE == size_before
