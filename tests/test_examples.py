"""The example notebooks (examples/*.ipynb) are what their generators (examples/make_*.py) write, and each one is
executed by a test in a real kernel (tests/integration/test_notebooks*.py)."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import nbformat
import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
GENERATORS = sorted(EXAMPLES.glob("make_*.py"))
NOTEBOOKS = sorted(EXAMPLES.glob("*.ipynb"))


def _generated(generator: Path) -> tuple[str, nbformat.NotebookNode]:
    """The notebook ``generator`` writes: its name and contents, built without writing it."""
    sys.path.insert(0, str(EXAMPLES))
    try:
        from _nb import build  # noqa: PLC0415 - examples/ is not a package

        module = runpy.run_path(str(generator))
    finally:
        sys.path.remove(str(EXAMPLES))
    source = generator.read_text()
    names = [n.name for n in NOTEBOOKS if f'"{n.name}"' in source]
    assert len(names) == 1, f"{generator.name} should name exactly one notebook it writes, found {names}"
    return names[0], build(module["CELLS"])


@pytest.mark.parametrize("generator", GENERATORS, ids=lambda p: p.name)
def test_committed_notebook_is_what_its_generator_writes(generator: Path) -> None:
    name, expected = _generated(generator)
    committed = nbformat.read(EXAMPLES / name, as_version=4)
    assert committed == expected, f"examples/{name} is stale: run python examples/{generator.name}"


def test_every_notebook_has_a_generator_and_an_execution_test() -> None:
    written = {_generated(g)[0] for g in GENERATORS}
    assert {n.name for n in NOTEBOOKS} == written
    tests = "".join(p.read_text() for p in (EXAMPLES.parent / "tests" / "integration").glob("test_notebooks*.py"))
    assert [n.name for n in NOTEBOOKS if n.name not in tests] == []
