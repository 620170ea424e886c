"""Execute a notebook in a real Jupyter kernel (nbclient) and save the executed copy beside it.

    python scripts/run_notebook.py examples/quickstart.ipynb [--output examples/quickstart.executed.ipynb]

Fails (exit 1) when a cell raises, naming the cell.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--output", type=Path)
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    args = parser.parse_args()
    output = args.output or args.notebook.with_suffix(".executed.ipynb")
    nb = nbformat.read(args.notebook, as_version=4)
    start = time.monotonic()
    client = NotebookClient(nb, timeout=args.timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(args.notebook.resolve().parent)}})
    try:
        client.execute()
    except CellExecutionError as exc:
        nbformat.write(nb, output)
        print(f"{args.notebook}: a cell failed (executed copy: {output})\n{exc}", file=sys.stderr)
        return 1
    nbformat.write(nb, output)
    print(f"executed {args.notebook} in {time.monotonic() - start:.1f} s -> {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
