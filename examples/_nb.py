"""What every generator of an example notebook shares (``examples/make_*.py``): the notebook's metadata and
stable cell ids, so that regenerating an unchanged notebook gives the same file (``tests/test_examples.py``)."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat import NotebookNode
from nbformat.v4 import new_notebook


def build(cells: list[NotebookNode]) -> NotebookNode:
    """A notebook of ``cells`` for the ``python3`` kernel, its cells numbered ``cell-1``, ``cell-2``, ..."""
    nb = new_notebook(cells=[nbformat.from_dict(dict(cell)) for cell in cells])
    for number, cell in enumerate(nb.cells, 1):
        cell["id"] = f"cell-{number}"
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def write(cells: list[NotebookNode], name: str) -> Path:
    """Write ``examples/<name>`` from ``cells`` and return its path."""
    path = Path(__file__).with_name(name)
    nbformat.write(build(cells), path)
    print(path)
    return path
