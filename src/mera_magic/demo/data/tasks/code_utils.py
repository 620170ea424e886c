"""Scoring of the demo's ruHumanEval-shaped code task, loaded by lm_eval from ``ruhumaneval.yaml``.

As in MERA's ruHumanEval: the model writes a function's body several times (``repeats``, sampled with
``temperature=0.6,do_sample=True`` by MERA's scripts); the ``ruhumanevalscoring`` filter runs each program on the
task's tests and keeps, per generation, the list of what the function returned; ``process_results`` compares them
with the expected outputs and gives the unbiased pass@k estimate.

The model's code runs in a separate Python process (``python -I``): its own empty temporary folder, a minimal
environment, a time limit, and on POSIX memory, CPU, file-size and process limits; nothing of it reaches this
process.  Imports nothing from mera_magic, so the written folder works in any environment with lm_eval.
"""

from __future__ import annotations

import ast
import json
import math
import os
import subprocess
import sys
import tempfile
from typing import Any, Sequence

from lm_eval.api.filter import Filter
from lm_eval.api.registry import register_filter

#: seconds one program may run (all its tests)
TIMEOUT = 5.0
#: the k of pass@k this task reports (at most its ``repeats``)
KS = (1, 5)

_RUNNER = r"""
import json, sys
job = json.loads(sys.stdin.read())
out = []
try:
    space = {}
    exec(compile(job["code"], "<generation>", "exec"), space)
    fn = space[job["entry_point"]]
except BaseException as exc:
    print(json.dumps(["error: " + type(exc).__name__] * len(job["tests"])))
    raise SystemExit(0)
for kwargs in job["tests"]:
    try:
        out.append(str(fn(**kwargs)))
    except BaseException as exc:
        out.append("error: " + type(exc).__name__)
print(json.dumps(out))
"""


def _limits() -> None:  # pragma: no cover - runs in the child
    import resource

    for name, value in (("RLIMIT_AS", 1 << 30), ("RLIMIT_CPU", int(TIMEOUT) + 1), ("RLIMIT_FSIZE", 1 << 20),
                        ("RLIMIT_NPROC", 64)):
        limit = getattr(resource, name, None)
        if limit is not None:
            try:
                resource.setrlimit(limit, (value, value))
            except (ValueError, OSError):
                pass


def program(doc: dict, generation: str) -> str:
    """The prompt's function header and the model's generation (markdown code fences removed) as one program."""
    text = generation.replace("```python", "").replace("```", "")
    return doc["inputs"]["function"] + text


def run_tests(doc: dict, generation: str) -> list[str]:
    """What the generated function returns on each test (``str`` of it), or ``error: <Exception>`` per test."""
    tests = ast.literal_eval(doc["inputs"]["tests"])
    job = json.dumps({"code": program(doc, generation), "entry_point": doc["meta"]["entry_point"], "tests": tests})
    with tempfile.TemporaryDirectory(prefix="mera-demo-code-") as workdir:
        try:
            done = subprocess.run([sys.executable, "-I", "-c", _RUNNER], input=job, capture_output=True, text=True,
                                  timeout=TIMEOUT, cwd=workdir, env={"PATH": os.defpath, "PYTHONHASHSEED": "0"},
                                  preexec_fn=_limits if os.name == "posix" else None)
        except subprocess.TimeoutExpired:
            return ["error: timeout"] * len(tests)
    try:
        results = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return ["error: crashed"] * len(tests)
    return [str(r) for r in results]


class CodeScoring(Filter):
    """Per document: for each generation, the list of the function's outputs on the tests."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__()

    def apply(self, resps: Sequence[Sequence[str]], docs: Sequence[dict]) -> list[list[list[str]]]:
        return [[run_tests(doc, generation) for generation in generations] for generations, doc in zip(resps, docs)]


try:
    register_filter("ruhumanevalscoring")(CodeScoring)
except ValueError:  # lm_eval 0.4.13 refuses another class under the same name when this file is loaded again
    pass


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased pass@k estimate from ``n`` samples of which ``c`` pass: 1 - C(n-c, k) / C(n, k)."""
    if k > n:
        return float("nan")
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def process_results(doc: dict, results: Sequence[Any]) -> dict[str, float]:
    """pass@k of one problem: a generation passes when its outputs equal ``outputs`` on every test."""
    generations = results[0]
    gold = [str(o) for o in doc["outputs"]]
    passed = sum(1 for outputs in generations if list(outputs) == gold)
    return {f"pass@{k}": pass_at_k(len(generations), passed, k) for k in KS}
