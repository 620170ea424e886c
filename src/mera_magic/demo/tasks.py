"""The demo task folder: small MERA-format task sets that lm_eval runs offline in seconds.

The tasks carry MERA's own names (``parus``, ``rcb``, ``rummlu``, ``bps``, ``simplear``, ``rumultiar``, the
``_gen`` twins, ``rummlu_localscore``, and ``rutie`` and ``ruhumaneval`` under their own tag ``mera_demo_special``:
a dialogue whose prompts carry the model's earlier answers, and code generation scored by pass@k), MERA's record format (``instruction``, ``inputs``, ``outputs``,
``meta.id``) and MERA's prompt, metric and filter shapes, so MERA tooling (task catalog, submission archive)
works on their results. The records are our own, in Russian, a dozen or so per split. ``rummlu``'s test
split is closed (empty ``outputs``, as MERA's closed tests are): run it with ``--predict_only``, or run
``rummlu_localscore`` for real local numbers.

:func:`write_tasks` writes the folder (YAML + JSONL + ``utils.py``) with absolute data-file paths, because
lm_eval resolves relative ``data_files`` against the process working directory. Pass the returned folder as
``--include_path``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Union

from mera_magic.demo._resources import cache_root, data_root

#: tag of the regular (MERA "loglikelihood" set) demo tasks
TAG = "mera_demo"
#: tag of the generative demo tasks (``_gen`` twins and natively generative tasks)
GEN_TAG = "mera_demo_gen"
#: tag of the locally scored variants (training split as test split)
LOCAL_TAG = "mera_demo_local"
#: tag of the tasks MERA runs in a special way: ruTiE (a dialogue carrying the model's earlier answers, asked in a
#: loop with ``lm.loglikelihood(..., disable_tqdm=True)``) and ruHumanEval (sampled 5 times, pass@k by running the code).
#: Name them in ``--tasks``: lm_eval 0.4.4 leaves the class-based ``rutie`` out of the tag.
SPECIAL_TAG = "mera_demo_special"

#: the regular demo tasks (tag ``mera_demo``)
REGULAR_TASKS: tuple[str, ...] = ("parus", "rcb", "rummlu", "bps", "simplear", "rumultiar")
#: the generative demo tasks (tag ``mera_demo_gen``)
GEN_TASKS: tuple[str, ...] = ("parus_gen", "rummlu_gen", "simplear", "rumultiar")
#: the locally scored variants (tag ``mera_demo_local``)
LOCALSCORE_TASKS: tuple[str, ...] = ("rummlu_localscore",)
#: the ruTiE- and ruHumanEval-shaped tasks (tag ``mera_demo_special``), see :data:`SPECIAL_TAG`
SPECIAL_TASKS: tuple[str, ...] = ("rutie", "ruhumaneval")
#: tasks whose test split is closed (empty ``outputs``): metrics are only meaningful via ``_localscore``
CLOSED_TASKS: tuple[str, ...] = ("rummlu", "rummlu_gen", "rutie")
#: every demo task name, each once
TASKS: tuple[str, ...] = tuple(dict.fromkeys(REGULAR_TASKS + GEN_TASKS + LOCALSCORE_TASKS + SPECIAL_TASKS))

#: placeholder in the packaged YAML templates, replaced by the absolute path of the written records folder
_RECORDS_PLACEHOLDER = "@RECORDS@"
#: bump when the written layout changes, so that the default folder name changes with it
_FORMAT = 2


def default_tasks_dir() -> Path:
    """The folder :func:`write_tasks` writes to when no destination is given (under the per-user cache)."""
    return cache_root() / f"demo-tasks-v{_FORMAT}"


def write_tasks(dest: Union[str, Path, None] = None) -> Path:
    """Write the demo task folder into ``dest`` and return it (absolute) for ``--include_path``.

    ``dest`` (created if missing; default :func:`default_tasks_dir`) receives the task YAMLs, ``utils.py`` and
    ``records/<data set>/{train,test}.jsonl``; the YAMLs name the JSONL files by absolute path. Idempotent:
    files whose content is already right are left untouched (so their mtimes, which lm_eval and ``datasets``
    use for caching, do not change). Other files in ``dest`` are left alone, but any other ``*.yaml`` there
    would be indexed by lm_eval too, so prefer an empty or dedicated folder.
    """
    folder = Path(dest if dest is not None else default_tasks_dir()).expanduser().resolve()
    records_dir = folder / "records"
    root = data_root()
    # A JSON string body is a valid YAML double-quoted scalar body: escapes quotes and backslashes in the path.
    quoted_records = json.dumps(records_dir.as_posix())[1:-1]
    for template in sorted((root / "tasks").iterdir(), key=lambda t: t.name):
        if template.name.endswith(".yaml"):
            text = template.read_text(encoding="utf-8").replace(_RECORDS_PLACEHOLDER, quoted_records)
            _write_if_changed(folder / template.name, text.encode("utf-8"))
        elif template.name.endswith(".py"):
            _write_if_changed(folder / template.name, template.read_bytes())
    for dataset in sorted((root / "records").iterdir(), key=lambda t: t.name):
        if not dataset.is_dir():
            continue
        for split_file in sorted(dataset.iterdir(), key=lambda t: t.name):
            if split_file.name.endswith(".jsonl"):
                _write_if_changed(records_dir / dataset.name / split_file.name, split_file.read_bytes())
    return folder


def _write_if_changed(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` unless the file already holds exactly these bytes."""
    if path.is_file() and path.read_bytes() == data:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
