"""Fixtures shared by every test module: an offline environment, the demo model and tasks, real CLI runs.

The offline environment is applied when this file is imported, i.e. before any test module imports
``datasets``, ``huggingface_hub`` or ``transformers`` (they read these variables once, at import), and it is
inherited by every subprocess a test starts:

* ``HF_HUB_OFFLINE``/``HF_DATASETS_OFFLINE``/``TRANSFORMERS_OFFLINE`` = 1, a temporary ``HF_HOME``;
* ``LM_HARNESS_CACHE_PATH`` in the temporary folder (else ``--cache_requests`` writes into site-packages);
* ``MERA_MAGIC_CACHE`` in the temporary folder, so ``demo.build_model()`` builds once per session there;
* ``TOKENIZERS_PARALLELISM=false``.

Session fixtures:

* ``offline_env``  (autouse) the variables above, as a dict;
* ``demo_model``   the folder of the tiny demo model (built once per session);
* ``demo_tasks``   the written demo task folder (pass as ``--include_path``);
* ``cli_output``   ``cli_output(tasks, *flags) -> Path``: runs the REAL ``python -m lm_eval`` CLI on the demo
  model and tasks with the given extra flags into a fresh output folder and returns that folder; cached per
  argument set within the session; fails the test with lm_eval's output when the run fails;
* ``demo_scored_output``   ``cli_output(SCORED_TASKS, "--log_samples")``;
* ``demo_predict_output``  ``cli_output(("mera_demo",), "--predict_only")`` (all regular tasks; the closed
  ``rummlu`` included).

Per test: ``english`` sets the session's language to English for the test (findings are worded in it; the default
is Russian) and restores the one before; modules that compare English texts use it with
``pytestmark = pytest.mark.usefixtures("english")``.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Callable, Iterator, Sequence

import pytest

#: fixtures of the results tests (real lm_eval output in several layouts and versions)
pytest_plugins = ["results_fixtures"]

#: the tasks of the shared scored run: multiple choice, macro F1, per-domain metrics, generation, a _gen twin
SCORED_TASKS: tuple[str, ...] = ("parus", "rcb", "rummlu_localscore", "simplear", "parus_gen")

_SESSION_ROOT = Path(tempfile.mkdtemp(prefix="mera-magic-tests-"))
atexit.register(shutil.rmtree, _SESSION_ROOT, True)
OFFLINE_ENV: dict[str, str] = {
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HOME": str(_SESSION_ROOT / "hf_home"),
    "LM_HARNESS_CACHE_PATH": str(_SESSION_ROOT / "lm_harness_cache"),
    "MERA_MAGIC_CACHE": str(_SESSION_ROOT / "mera_magic_cache"),
    "TOKENIZERS_PARALLELISM": "false",
}
_PREVIOUS_ENV = {name: os.environ.get(name) for name in OFFLINE_ENV}
os.environ.update(OFFLINE_ENV)

CliOutput = Callable[..., Path]


@pytest.fixture(scope="session", autouse=True)
def offline_env() -> Iterator[dict[str, str]]:
    """The offline variables in force for the whole session (restored after it; the folder goes at exit)."""
    yield dict(OFFLINE_ENV)
    for name, value in _PREVIOUS_ENV.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture()
def english() -> Iterator[None]:
    """The session's language is English for this test (findings, help texts), then what it was."""
    from mera_magic.session import SESSION

    before = SESSION.config.language
    SESSION.config.language = "en"
    try:
        yield
    finally:
        SESSION.config.language = before


@pytest.fixture(scope="session")
def demo_model() -> Path:
    """The tiny demo model, built once per session into the session's temporary cache."""
    from mera_magic import demo

    return demo.build_model()


@pytest.fixture(scope="session")
def demo_tasks() -> Path:
    """The demo task folder, written once per session (absolute data paths)."""
    from mera_magic import demo

    return demo.write_tasks(_SESSION_ROOT / "demo_tasks")


@pytest.fixture(scope="session")
def cli_output(demo_model: Path, demo_tasks: Path) -> CliOutput:
    """``run(tasks, *flags) -> output folder`` of a real ``lm_eval`` CLI run on the demo model (cached)."""
    done: dict[tuple[tuple[str, ...], tuple[str, ...]], Path] = {}
    runs_root = _SESSION_ROOT / "cli_runs"

    def run(tasks: Sequence[str], *flags: str) -> Path:
        key = (tuple(tasks), tuple(flags))
        if key in done:
            return done[key]
        run_dir = runs_root / f"run{len(done)}"
        output = run_dir / "out"
        run_dir.mkdir(parents=True)
        command = [
            sys.executable, "-m", "lm_eval",
            "--model", "hf",
            "--model_args", f"pretrained={demo_model},dtype=float32",
            "--device", "cpu",
            "--batch_size", "8",
            "--include_path", str(demo_tasks),
            "--tasks", ",".join(tasks),
            "--output_path", str(output),
            *flags,
        ]  # fmt: skip
        env = dict(os.environ, **OFFLINE_ENV, TQDM_DISABLE="1")
        # cwd is a fresh folder: the task files must not depend on the working directory
        completed = subprocess.run(command, cwd=run_dir, env=env, capture_output=True, text=True, timeout=900)
        if completed.returncode != 0:
            pytest.fail(
                f"lm_eval exited with {completed.returncode}: {' '.join(command)}\n"
                f"--- stdout ---\n{completed.stdout[-4000:]}\n--- stderr ---\n{completed.stderr[-8000:]}"
            )
        done[key] = output
        return output

    return run


@pytest.fixture(scope="session")
def demo_scored_output(cli_output: CliOutput) -> Path:
    """Output folder of a scored CLI run over :data:`SCORED_TASKS` with ``--log_samples``."""
    return cli_output(SCORED_TASKS, "--log_samples")


@pytest.fixture(scope="session")
def demo_predict_output(cli_output: CliOutput) -> Path:
    """Output folder of a ``--predict_only`` CLI run over every regular demo task (tag ``mera_demo``)."""
    return cli_output(("mera_demo",), "--predict_only")
