"""The demo model's training text: a few paragraphs we wrote (ru + en) plus the demo tasks' open records.

The model is trained on every record whose answer is open (the training splits, and the test splits that are
not closed), rendered exactly as the demo tasks prompt them, in plain and in chat form, plus the one-digit
addition table. So its demo scores show that the pipeline works end to end, not that it generalises; the
closed ``rummlu`` test split is not in the corpus.
"""

from __future__ import annotations

from mera_magic.demo._resources import iter_records, render_prompt

#: chat roles the demo tokenizer has special tokens for
ROLES = ("system", "user", "assistant")

#: the chat template saved with the demo tokenizer (``<|role|>\ncontent</s>\n`` per message)
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] not in ['system', 'user', 'assistant'] %}"
    "{{ raise_exception('The demo model knows only the roles system, user and assistant.') }}"
    "{% endif %}"
    "{{ '<|' + message['role'] + '|>\\n' + message['content'] + eos_token + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}"
)

_GENERAL_TEXT = """\
Москва — столица России. Через город течёт Москва-река. Летом в парках гуляют люди, а зимой дети катаются на санках.
Утром я пью чай и читаю новости. Потом иду на работу пешком, потому что офис недалеко от дома.
Кошка спит на подоконнике, а собака ждёт, когда её выведут на прогулку.
Весной снег тает, реки разливаются, и на деревьях появляются первые листья.
Если долго не поливать цветы, они вянут. Если пойдёт дождь, а зонта нет, можно промокнуть.
Бабушка испекла пирог с яблоками, и вся семья собралась за столом.
Студенты готовятся к экзаменам: повторяют билеты, решают задачи и пишут конспекты.
Вопрос: Сколько дней в неделе? Ответ: семь.
Вопрос: Какого цвета небо в ясный день? Ответ: голубого.
Вопрос: Что пьют из чашки? Ответ: чай.
Задание: ответь на вопрос. Ответ: да.
The cat sits on the mat. The dog runs in the park. It rains in autumn and snows in winter.
Question: What is the capital of France? Answer: Paris.
Question: How many legs does a spider have? Answer: eight.
Question: What do plants need to grow? Answer: light and water.
"""

#: (data set, split) pairs whose answers the model is trained on; rummlu/test is closed and stays out
_OPEN_SPLITS = (
    ("parus", "train"),
    ("parus", "test"),
    ("rcb", "train"),
    ("rcb", "test"),
    ("rummlu", "train"),
    ("bps", "train"),
    ("bps", "test"),
    ("simplear", "train"),
    ("simplear", "test"),
    ("rumultiar", "train"),
    ("rumultiar", "test"),
)


def general_texts() -> list[str]:
    """Our own ru+en lines and the one-digit addition table, one short document each."""
    lines = [line for line in _GENERAL_TEXT.splitlines() if line.strip()]
    return lines + [f"{a} + {b} = {a + b}" for a in range(10) for b in range(10)]


def task_examples() -> dict[str, list[tuple[str, str]]]:
    """``{data set: [(prompt, answer), ...]}`` for every open record, prompts rendered as the tasks render them."""
    examples: dict[str, list[tuple[str, str]]] = {}
    for dataset, split in _OPEN_SPLITS:
        for record in iter_records(dataset, split):
            examples.setdefault(dataset, []).append((render_prompt(record), str(record["outputs"])))
    return examples


def chat_turn(prompt: str, answer: str) -> tuple[str, str]:
    """One user/assistant exchange in the demo chat format, split into (context, answer part)."""
    return f"<|user|>\n{prompt}</s>\n<|assistant|>\n", f"{answer}</s>\n"


def documents() -> list[str]:
    """All training text in a fixed order (what the tokenizer is trained on and the model key hashes)."""
    docs = general_texts()
    for examples in task_examples().values():
        for prompt, answer in examples:
            docs.append(f"{prompt} {answer}")
            docs.append("".join(chat_turn(prompt, answer)))
    return docs
