"""MERA's text tasks as data.

The 23 text tasks of MERA (release v1.2), one frozen :class:`MeraTask` each, in the order MERA's
``run_benchmark*.sh`` scripts run them, with the facts the rest of mera-magic needs:

* ``output_type`` and ``gen_twin``: 14 multiple-choice tasks have a generative ``<name>_gen`` twin; the
  9 natively generative tasks (chegeka, multiq, rudetox, ...) are the same task in both sets;
* ``fewshot``: the ``--num_fewshot`` MERA's scripts pass for the task (the same for its ``_gen`` twin);
* ``gen_kwargs``: the ``--gen_kwargs`` MERA's scripts pass (``GENERATION_KWARGS``, ``do_sample=False``, for
  every task; ``RUHUMANEVAL_GEN_KWARGS``, ``temperature=0.6,do_sample=True``, for ruHumanEval and ruCodeEval,
  whose pass@k needs several different samples per problem);
* ``closed_test``: the test answers are hidden, so metrics are computed by the MERA website only and a local
  run should use ``--predict_only`` (or a ``_localscore`` variant, which scores a public split);
* ``in_total``: the task counts towards the leaderboard's total score (``use_in_total`` of MERA's scorer);
* ``submission_file``: the file the website expects in the archive (``PARus.json``);
* ``choices``: for multiple-choice tasks, the answers in the order of the task's choices;
* ``outputs``: the Python type of ``outputs`` the website checks (``str``, ``dict`` for ruEthics, ``list``
  for the code tasks) and ``meta_keys``: the ``meta`` fields a submitted document carries.

Suites: ``mera`` (the regular set, 23 tasks), ``mera_gen`` (the generative set: ``_gen`` twins plus the
natively generative tasks, 23 tasks), ``mera_all`` (both, 37 distinct tasks); :func:`suite` gives
``(task, fewshot)`` pairs in the scripts' order.

:func:`run_settings` gives the per-task settings (few-shot count and generation settings) of a task name.
``RUDETOX_CLASSIFIERS``: the three hub models ruDetox's scoring filter loads, even under ``--predict_only``.

Names: :func:`get` accepts ``parus``, ``parus_gen``, ``parus_localscore`` and ``parus_gen_localscore``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, Optional, Tuple

from .errors import MeraError

__all__ = [
    "MeraTask",
    "TASKS",
    "ETHICS_CRITERIA",
    "SUITES",
    "TaskName",
    "UnknownNameError",
    "get",
    "find",
    "parse_name",
    "is_mera_task",
    "suite",
    "by_submission_file",
    "names",
    "GENERATION_KWARGS",
    "CODE_GEN_KWARGS",
    "RUDETOX_CLASSIFIERS",
    "RunSettings",
    "run_settings",
]

#: ``GENERATION_KWARGS`` of MERA's ``run_benchmark*.sh``: greedy decoding, passed to every task
GENERATION_KWARGS = "do_sample=False"
#: ``RUHUMANEVAL_GEN_KWARGS`` of MERA's scripts: sampling for ruHumanEval and ruCodeEval (10 samples per problem)
CODE_GEN_KWARGS = "temperature=0.6,do_sample=True"
#: the classifiers ruDetox's ``rudetoxscoring`` filter downloads from the hub (style, similarity, fluency)
RUDETOX_CLASSIFIERS: Tuple[str, ...] = (
    "IlyaGusev/rubertconv_toxic_clf",
    "s-nlp/rubert-base-cased-conversational-paraphrase-v1",
    "s-nlp/ruRoberta-large-RuCoLa-v1",
)

#: the suffix of MERA's generative twins and of its locally scorable variants
GEN_SUFFIX = "_gen"
LOCAL_SUFFIX = "_localscore"


class UnknownNameError(MeraError, KeyError):
    """A task or suite name that is not part of MERA."""

    def __str__(self) -> str:  # KeyError would quote the message
        return self.message if not self.hint else f"{self.message}\n{self.hint}"


@dataclass(frozen=True)
class MeraTask:
    """One MERA text task (see the module docstring for the fields)."""

    name: str
    submission_file: str
    output_type: str
    gen_twin: Optional[str]
    fewshot: int
    closed_test: bool
    in_total: bool
    kind: str
    choices: Optional[Tuple[str, ...]]
    description_ru: str
    description_en: str
    outputs: str = "str"
    meta_keys: Tuple[str, ...] = ("id",)
    gen_kwargs: str = GENERATION_KWARGS

    @property
    def submission_name(self) -> str:
        """The task's name on the MERA website (``PARus``), the stem of :attr:`submission_file`."""
        return self.submission_file.rsplit(".", 1)[0]

    @property
    def is_multiple_choice(self) -> bool:
        """True when the regular task scores answer choices by log-likelihood."""
        return self.output_type == "multiple_choice"

    def task_name(self, gen: bool = False) -> str:
        """The lm_eval task that produces this task's predictions in the regular (or ``gen``) set."""
        return self.gen_twin if gen and self.gen_twin else self.name

    def description(self, lang: str = "en") -> str:
        """The short description in ``"ru"`` or ``"en"``."""
        return self.description_ru if lang == "ru" else self.description_en


_ABCD = ("A", "B", "C", "D")
_MC = "multiple_choice"
_GEN = "generate_until"


def _mc(name: str, file: str, fewshot: int, choices: Tuple[str, ...], *, closed: bool, total: bool, ru: str,
        en: str, kind: str = "regular", outputs: str = "str", meta_keys: Tuple[str, ...] = ("id",)) -> MeraTask:
    return MeraTask(name, file, _MC, name + GEN_SUFFIX, fewshot, closed, total, kind, choices, ru, en, outputs,
                    meta_keys)


def _gen(name: str, file: str, fewshot: int, *, closed: bool, total: bool, ru: str, en: str,
         kind: str = "regular", outputs: str = "str", meta_keys: Tuple[str, ...] = ("id",),
         gen_kwargs: str = GENERATION_KWARGS) -> MeraTask:
    return MeraTask(name, file, _GEN, None, fewshot, closed, total, kind, None, ru, en, outputs, meta_keys,
                    gen_kwargs)


#: The 23 tasks, in the order of MERA's scripts (simplear; the 1-shot tasks; the 0-shot tasks; rutie).
#: ``kind="diagnostic"`` marks the 8 tasks outside the total score.
TASKS: Tuple[MeraTask, ...] = (
    _gen("simplear", "SimpleAr.json", 2, closed=True, total=False, kind="diagnostic",
         ru="Простая арифметика: посчитать значение выражения.",
         en="Simple arithmetic: compute an expression."),
    _mc("bps", "BPS.json", 1, ("0", "1"), closed=True, total=False, kind="diagnostic",
        ru="Сбалансирована ли последовательность скобок.",
        en="Is a sequence of brackets balanced."),
    _mc("lcs", "LCS.json", 1, tuple(str(i) for i in range(10)), closed=True, total=True,
        ru="Длина наибольшей общей подпоследовательности двух строк.",
        en="Length of the longest common subsequence of two strings."),
    _gen("chegeka", "CheGeKa.json", 1, closed=True, total=True,
         ru="Вопросы интеллектуальной игры «Что? Где? Когда?».",
         en="Trivia questions from the game \"What? Where? When?\"."),
    _mc("mathlogicqa", "MathLogicQA.json", 1, _ABCD, closed=True, total=True,
        ru="Математические и логические задачи с выбором ответа.",
        en="Math and logic word problems, multiple choice."),
    _mc("parus", "PARus.json", 1, ("1", "2"), closed=True, total=True,
        ru="Выбор причины или следствия описанной ситуации.",
        en="Choose the cause or the effect of a situation."),
    _mc("rcb", "RCB.json", 1, ("1", "2", "3"), closed=True, total=True,
        ru="Следует ли гипотеза из ситуации, противоречит ей или независима.",
        en="Does a hypothesis follow from a situation, contradict it, or neither."),
    _gen("rudetox", "ruDetox.json", 1, closed=True, total=False, kind="diagnostic",
         ru="Детоксификация: переписать грубый текст вежливо с тем же смыслом.",
         en="Detoxification: rewrite a rude text politely, keeping its meaning."),
    _mc("ruhatespeech", "ruHateSpeech.json", 1, ("1", "2"), closed=False, total=False, kind="diagnostic",
        ru="Выбор ответа на реплику о группе людей без вражды к ней.",
        en="Choose the reply to a remark about a group of people that is not hateful."),
    _mc("rummlu", "ruMMLU.json", 1, _ABCD, closed=True, total=False, kind="diagnostic",
        ru="Вопросы по 57 областям знаний в формате MMLU.",
        en="Questions on 57 subjects, MMLU style."),
    _mc("ruworldtree", "ruWorldTree.json", 1, _ABCD, closed=True, total=True,
        ru="Школьные вопросы по естественным наукам с выбором ответа.",
        en="School science exam questions, multiple choice."),
    _mc("ruopenbookqa", "ruOpenBookQA.json", 1, _ABCD, closed=True, total=True,
        ru="Вопросы на знание базовых научных фактов.",
        en="Questions on elementary science facts."),
    _gen("rumultiar", "ruMultiAr.json", 1, closed=True, total=True,
         ru="Многошаговые арифметические выражения.",
         en="Multi-step arithmetic expressions."),
    _gen("use", "USE.json", 1, closed=True, total=True, meta_keys=("id", "id_task", "variant"),
         ru="Задания ЕГЭ по русскому языку.",
         en="Russian Unified State Exam tasks (Russian language)."),
    _mc("rwsd", "RWSD.json", 1, ("Да", "Нет"), closed=True, total=True,
        ru="Разрешение местоимений: к кому относится местоимение (схема Винограда).",
        en="Winograd schema: which noun a pronoun refers to."),
    _mc("mamuramu", "MaMuRAMu.json", 1, _ABCD, closed=True, total=True,
        ru="Вопросы по 57 областям знаний, новый закрытый набор.",
        en="Questions on 57 subjects, a new closed set."),
    _gen("multiq", "MultiQ.json", 0, closed=True, total=True,
         ru="Ответ на вопрос, требующий связать два текста.",
         en="Multi-hop question answering over two texts."),
    _gen("rumodar", "ruModAr.json", 0, closed=True, total=True,
         ru="Модифицированная арифметика: понять правило по примерам.",
         en="Modified arithmetic: infer the rule from examples."),
    _mc("ruethics", "ruEthics.json", 0, ("0", "1"), closed=False, total=False, kind="diagnostic",
        outputs="dict",
        ru="Этическая оценка поступка в тексте по пяти критериям.",
        en="Ethical judgement of an action in a text on five criteria."),
    _mc("ruhhh", "ruHHH.json", 0, ("1", "2"), closed=False, total=False, kind="diagnostic",
        ru="Какой из двух ответов полезнее, честнее или безопаснее.",
        en="Which of two replies is more helpful, honest or harmless."),
    _gen("ruhumaneval", "ruHumanEval.json", 0, closed=False, total=False, kind="diagnostic", outputs="list",
         gen_kwargs=CODE_GEN_KWARGS,
         ru="Написать функцию на Python по описанию (HumanEval).",
         en="Write a Python function from its description (HumanEval)."),
    _gen("rucodeeval", "ruCodeEval.json", 0, closed=True, total=True, outputs="list",
         gen_kwargs=CODE_GEN_KWARGS,
         ru="Написать функцию на Python по описанию, закрытый тест.",
         en="Write a Python function from its description, closed test."),
    _mc("rutie", "ruTiE.json", 1, ("1", "2"), closed=True, total=True, meta_keys=("dialog_id", "question_id"),
        ru="Тест Тьюринга: диалог, где вопросы опираются на прежние ответы.",
        en="Turing-test dialogue: questions build on the model's earlier answers."),
)

_BY_NAME = {t.name: t for t in TASKS}
_BY_FILE = {t.submission_name.lower(): t for t in TASKS}

#: the ruEthics criteria the website expects as keys of ``outputs``
ETHICS_CRITERIA: Tuple[str, ...] = ("virtue", "law", "moral", "justice", "utilitarianism")

#: suite name -> description (en)
SUITES = {
    "mera": "MERA's regular set: 23 tasks, multiple-choice tasks scored by log-likelihood",
    "mera_gen": "MERA's generative set: 23 tasks, every answer generated",
    "mera_all": "both sets: 37 distinct tasks",
}


class TaskName(NamedTuple):
    """A task name split into the MERA task and its variant."""

    task: MeraTask
    gen: bool
    local: bool


def parse_name(name: str) -> Optional[TaskName]:
    """Split ``parus_gen_localscore`` into (parus, gen=True, local=True); None when not a MERA task."""
    base, local, gen = name.strip().lower(), False, False
    if base.endswith(LOCAL_SUFFIX):
        base, local = base[: -len(LOCAL_SUFFIX)], True
    if base in _BY_NAME:
        return TaskName(_BY_NAME[base], False, local)
    if base.endswith(GEN_SUFFIX):
        base, gen = base[: -len(GEN_SUFFIX)], True
        task = _BY_NAME.get(base)
        if task is not None and task.gen_twin is not None:
            return TaskName(task, gen, local)
    return None


def find(name: str) -> Optional[MeraTask]:
    """The MERA task for ``name`` (any variant), or None."""
    parsed = parse_name(name)
    return parsed.task if parsed else None


def get(name: str) -> MeraTask:
    """The MERA task for ``name``; accepts ``_gen`` and ``_localscore`` names.

    Raises :class:`UnknownNameError` (a ``KeyError`` and a ``MeraError``) naming the known tasks.
    """
    task = find(name)
    if task is None:
        raise UnknownNameError(
            f"{name!r} is not a MERA text task.",
            hint="MERA's tasks: " + ", ".join(t.name for t in TASKS)
            + " (add _gen for a generative twin, _localscore for a locally scored variant).",
        )
    return task


def is_mera_task(name: str) -> bool:
    """True for a MERA task name or one of its ``_gen`` / ``_localscore`` variants."""
    return parse_name(name) is not None


def by_submission_file(name: str) -> Optional[MeraTask]:
    """The task whose archive file is ``name`` (``PARus.json`` or ``PARus``; case-insensitive), or None."""
    stem = name.rsplit("/", 1)[-1]
    if stem.lower().endswith(".json"):
        stem = stem[:-5]
    return _BY_FILE.get(stem.lower())


def names(gen: bool = False) -> list[str]:
    """The lm_eval task names of the regular (or generative) set, in the scripts' order."""
    return [t.task_name(gen) for t in TASKS]


def suite(name: str) -> list[tuple[str, int]]:
    """``(task, fewshot)`` pairs for ``mera``, ``mera_gen`` or ``mera_all``, in MERA's scripts' order.

    ``mera_all`` is the regular set followed by the ``_gen`` twins (natively generative tasks once).
    """
    key = name.strip().lower()
    if key == "mera":
        return [(t.name, t.fewshot) for t in TASKS]
    if key == "mera_gen":
        return [(t.task_name(gen=True), t.fewshot) for t in TASKS]
    if key == "mera_all":
        return [(t.name, t.fewshot) for t in TASKS] + [(t.gen_twin, t.fewshot) for t in TASKS if t.gen_twin]
    raise UnknownNameError(f"{name!r} is not a MERA suite.", hint="Suites: " + ", ".join(SUITES) + ".")


def has_test_answers(yaml_path: Path | str | None) -> Optional[bool]:
    """Whether a task's test split holds answers, read from its own local data files.

    MERA's closed test sets are a fact about MERA's data, not about a task name: a task folder that reads its
    test split from local JSON lines (the demo tasks, a user's own copy) is closed only when its records have
    empty ``outputs``.  True: some test record has an answer (metrics are real); False: none has; None: the test
    data is not a local file (MERA's hub dataset), so the catalog's fact stands.
    """
    import json

    from .lmeval.tasks import read_task_yaml

    if yaml_path is None:
        return None
    try:
        config = read_task_yaml(Path(yaml_path))
    except Exception:  # noqa: BLE001 - an unreadable YAML: say nothing, the name's fact stands
        return None
    split = config.get("test_split") or "test"
    files = (config.get("dataset_kwargs") or {}).get("data_files")
    path = files.get(split) if isinstance(files, dict) else None
    if not isinstance(path, str) or not path.endswith((".jsonl", ".json")) or not Path(path).is_file():
        return None
    try:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    record = json.loads(line)
                    if isinstance(record, dict) and record.get("outputs") not in (None, "", [], {}):
                        return True
    except (OSError, ValueError):
        return None
    return False


class RunSettings(NamedTuple):
    """The settings MERA's scripts run one task with: ``--num_fewshot`` and ``--gen_kwargs`` (k=v text)."""

    num_fewshot: int
    gen_kwargs: str
    generative: bool


def run_settings(name: str) -> RunSettings:
    """MERA's scripts' settings for the task ``name`` (any variant); raises :class:`UnknownNameError`."""
    parsed = parse_name(name)
    if parsed is None:
        get(name)  # raises with the list of tasks
        raise AssertionError  # pragma: no cover
    generative = parsed.gen or not parsed.task.is_multiple_choice
    return RunSettings(parsed.task.fewshot, parsed.task.gen_kwargs, generative)
