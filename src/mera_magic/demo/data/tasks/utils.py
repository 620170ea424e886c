"""Scoring helpers of the mera-magic demo tasks, loaded by lm_eval from the task YAMLs (``!function utils.<name>``).

This file is copied next to the YAMLs by :func:`mera_magic.demo.write_tasks`; it imports nothing from mera_magic,
so the written task folder also works in an environment without mera-magic installed.
"""

from __future__ import annotations

from typing import Any, Sequence

LETTERS = ("A", "B", "C", "D")


def process_results(doc: dict[str, Any], results: Sequence[Any]) -> dict[str, float]:
    """Per-document metrics of ruMMLU-style tasks: overall and per ``meta.domain``.

    For ``multiple_choice`` the results are ``(loglikelihood, is_greedy)`` pairs, one per letter, and the metrics
    are ``acc`` and ``acc.<domain>``; for ``generate_until`` the result is the filtered answer text and the
    metrics are ``em`` and ``em.<domain>``. A closed-test document (empty ``outputs``) scores 0, as in MERA.
    """
    domain = str(doc["meta"]["domain"])
    gold = str(doc["outputs"] or "").strip()
    if results and isinstance(results[0], str):
        name, prediction = "em", results[0].strip()
    else:
        loglikelihoods = [float(result[0]) for result in results]
        name, prediction = "acc", LETTERS[loglikelihoods.index(max(loglikelihoods))]
    score = 1.0 if gold and prediction == gold else 0.0
    return {name: score, f"{name}.{domain}": score}


def macro_f1(items: Sequence[tuple[Any, Any]]) -> float:
    """Macro-averaged F1 over every label seen in golds or predictions (``f1`` aggregation of multi-class RCB).

    The same definition as scikit-learn's ``f1_score(average="macro")``, which MERA's own RCB task uses.
    """
    golds = [gold for gold, _ in items]
    preds = [pred for _, pred in items]
    labels = sorted(set(golds) | set(preds), key=str)
    if not labels:
        return 0.0
    total = 0.0
    for label in labels:
        tp = sum(1 for g, p in zip(golds, preds) if g == label and p == label)
        fp = sum(1 for g, p in zip(golds, preds) if g != label and p == label)
        fn = sum(1 for g, p in zip(golds, preds) if g == label and p != label)
        total += 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
    return total / len(labels)
