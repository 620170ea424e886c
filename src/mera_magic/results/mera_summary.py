"""A local, MERA-style summary of a run: one score per MERA task, and their mean over the tasks that count
towards MERA's total.  Clearly local: computed here from what lm_eval scored (``_localscore`` variants, open
splits), not the leaderboard's score, which the MERA website computes on the closed test answers."""

from __future__ import annotations

import math

import pandas as pd

from .. import catalog
from .metrics import headline

#: the label every view of this summary carries
LABEL = "local MERA-style score (not the leaderboard's: the site scores closed test answers)"


def mera_summary(metrics: pd.DataFrame) -> pd.DataFrame:
    """One row per MERA task in ``metrics`` (any variant: ``parus``, ``parus_gen``, ``rummlu_localscore``).

    ``score`` is the mean of the task's headline metrics (as MERA averages multi-metric tasks, e.g. rcb's acc
    and f1), NaN when the run did not score it locally (predict-only, closed test).  ``in_total`` says whether
    MERA counts the task towards its total; the last row, ``TOTAL (local)``, averages those that were scored.
    """
    rows = []
    main = headline(metrics[~metrics["is_group"]]) if len(metrics) else metrics
    for task, frame in main.groupby("task", sort=False):
        parsed = catalog.parse_name(str(task))
        if parsed is None:
            continue
        scored = frame[frame["scored_locally"] & frame["value"].notna()]
        score = float(scored["value"].mean()) if len(scored) else math.nan
        rows.append({"task": task, "mera_task": parsed.task.submission_name, "variant": "gen" if parsed.gen else
                     "regular", "local": parsed.local, "closed_test": parsed.task.closed_test and not parsed.local,
                     "in_total": parsed.task.in_total, "metrics": ", ".join(sorted(set(scored["metric"]))),
                     "score": score})
    frame = pd.DataFrame(rows, columns=["task", "mera_task", "variant", "local", "closed_test", "in_total", "metrics",
                                        "score"])
    counted = frame[frame["in_total"] & frame["score"].notna()]
    if len(frame):
        total = {"task": "TOTAL (local)", "mera_task": "", "variant": "", "local": True, "closed_test": False,
                 "in_total": True, "metrics": f"mean of {len(counted)} task(s)",
                 "score": float(counted["score"].mean()) if len(counted) else math.nan}
        frame = pd.concat([frame, pd.DataFrame([total])], ignore_index=True)
    frame.attrs["label"] = LABEL
    return frame
