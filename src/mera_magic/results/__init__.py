"""Results of lm_eval runs: read, compare and export them (:mod:`mera_magic.display` shows them).

>>> from mera_magic.results import load, runs, compare
>>> result = load("mera_results")            # an --output_path folder, or one results_*.json
>>> result.metrics                           # DataFrame: task, filter, metric, value, stderr, ...
>>> result.samples("rummlu")                 # DataFrame: one row per document and filter
>>> runs("mera_results")                     # one row per run under the folder
>>> compare(result, load("other_results")).table

``RunResult.from_memory(results, samples)`` builds the same object from what ``simple_evaluate`` returned.
Predict-only runs (MERA's closed test sets) are shown as "not scored locally", never as lm_eval's 999.
"""

from __future__ import annotations

from .compare import Comparison, compare
from .load import load
from .model import RunResult
from .problems import Problem, ResultsWarning
from .runs import runs

__all__ = ["Comparison", "Problem", "ResultsWarning", "RunResult", "compare", "load", "runs"]
