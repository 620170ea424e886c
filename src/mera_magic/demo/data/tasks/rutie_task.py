"""The demo's ruTiE-shaped dialogue task, loaded by lm_eval from ``rutie.yaml`` (``class: !function rutie_task.DialogueTask``).

MERA's ruTiE is a dialogue: each question's prompt carries the model's own answers to the earlier questions of the
same dialogue, so the questions cannot be sent to the model all at once.  MERA's lm-eval fork runs such
"context-based" tasks in a loop in its evaluator, one request at a time, calling
``lm.loglikelihood([request], disable_tqdm=True)`` and feeding each answer into the next prompt.

Stock lm_eval (0.4.4 to 0.4.13) has no such loop, so this task runs it itself, in the same shape, while lm_eval builds
its requests (questions come in dialogue order, and lm_eval builds question k's prompt right after question k-1's
requests): for each question it asks the model for the loglikelihood of both answers with
``lm.loglikelihood(requests, disable_tqdm=True)``, keeps the more likely one, and the next question's prompt shows it.
The model is the ``lm`` that lm_eval's ``evaluate`` is running, found on the call stack.  lm_eval then scores the
final requests as usual (the same prompts, so the same answers); with ``--use_cache`` that second pass is free.
With ``--cache_requests`` the prompts come from lm_eval's request cache instead and the loop does not run.

Imports nothing from mera_magic, so the written folder works in any environment with lm_eval.
"""

from __future__ import annotations

import inspect
from typing import Any

from lm_eval.api.task import ConfigurableTask


def _running_lm() -> Any:
    """The LM of the ``evaluate`` call that is building this task's requests (a local named ``lm`` up the stack)."""
    frame = inspect.currentframe()
    try:
        while frame is not None:
            lm = frame.f_locals.get("lm")
            if lm is not None and callable(getattr(lm, "loglikelihood", None)):
                return lm
            frame = frame.f_back
    finally:
        del frame
    raise RuntimeError("the dialogue task asks the model while lm_eval builds its requests, but no model was "
                       "found: run it through lm_eval's evaluate (the CLI or simple_evaluate)")


class DialogueTask(ConfigurableTask):
    """A multiple-choice task whose prompts carry the model's earlier answers in the same dialogue."""

    def __init__(self, config: dict | None = None, **kwargs: Any) -> None:
        config = {k: v for k, v in (config or {}).items() if k != "class"}
        self._answers: dict[Any, dict[int, tuple[str, str]]] = {}  # dialog_id -> question_id -> (question, answer)
        super().__init__(config=config, **kwargs)  # lm_eval renders a document here already

    def _context(self, doc: dict) -> str:
        meta = doc["meta"]
        earlier = self._answers.get(meta["dialog_id"], {})
        lines = [f"Вопрос: {q}\nТвой ответ: {a}" for qid, (q, a) in sorted(earlier.items()) if qid < meta["question_id"]]
        return "\n".join(lines) if lines else "(ответов пока нет)"

    def doc_to_text(self, doc: dict, doc_to_text: Any = None) -> str:  # type: ignore[override]
        if "dialog_id" not in doc.get("meta", {}):
            return super().doc_to_text(doc, doc_to_text)  # (lm_eval 0.4.13 passes the few-shot template here too)
        return doc["instruction"].format(context=self._context(doc), **doc["inputs"]).strip()

    def construct_requests(self, doc: dict, ctx: Any, **kwargs: Any) -> Any:
        requests = super().construct_requests(doc, ctx, **kwargs)
        lm = _running_lm()
        answers = lm.loglikelihood(list(requests), disable_tqdm=True)  # as MERA's fork asks, one question at a time
        scores = [float(answer[0]) for answer in answers]
        best = scores.index(max(scores))
        meta = doc["meta"]
        chosen = doc["inputs"][f"choice{best + 1}"]
        self._answers.setdefault(meta["dialog_id"], {})[meta["question_id"]] = (doc["inputs"]["question"], chosen)
        return requests
