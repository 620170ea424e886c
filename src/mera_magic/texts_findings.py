"""The texts of every check's findings, in Russian and English: ``finding.<code> -> (ru, en)`` with ``{fields}``.

The pre-flight's (models, servers, devices, packages, the shell language, MERA's task folders), then the run's own
checks (:mod:`mera_magic.checks`: flags, backend, variables, tasks), typed values (:mod:`mera_magic.checks_values`;
a ``finding.value.*`` problem follows the value it is about: "`--limit abc` is not a number", "`--limit abc` — не
число"), multimodal runs (:mod:`mera_magic.checks_multimodal`) and what lies outside the command
(:mod:`mera_magic.probe`), and a MERA task folder the installed lm_eval cannot load (:mod:`mera_magic.lmeval.compat`,
``finding.compat.*``).  Findings are made with :func:`mera_magic.preflight.say.finding`.

:mod:`mera_magic.texts` reads this table into its own, so ``text("finding.<code>")`` answers in the session's
language like every panel text.  Kept apart from the panel's texts so the two are edited independently.
"""

from __future__ import annotations

_GET_MODEL_RU = ("Скачайте её там, где есть сеть, в тот же кэш: `{download}`, или укажите локальную папку "
                 "(`{arg}=/путь/к/модели`).")
_GET_MODEL_EN = ("Download it where there is network, into the same cache: `{download}`, or point `{arg}=` at a "
                 "local folder.")

FINDING_TEXTS: dict[str, tuple[str, str]] = {
    "finding.did-you-mean": (" Возможно, имелось в виду `{name}`?", " Did you mean `{name}`?"),
    "finding.dry-run-failed": ("Пробный запуск нашёл ошибки: {message}{more}",
                               "The dry run found errors: {message}{more}"),
    "finding.more-errors": (" (и ещё ошибок: {count}, они показаны выше)",
                            " (and {count} more error(s), shown above)"),
    # -- models ------------------------------------------------------------------------------------------------
    "finding.model-path-missing": (
        "`{arg}={value}` — это путь к локальной папке, но её нет (относительно {cwd}).{hint}",
        "`{arg}={value}` is a local path, but it does not exist (from {cwd}).{hint}"),
    "finding.model-path-is-file": (
        "`{arg}={value}` — файл, а нужна папка модели (с config.json и весами).",
        "`{arg}={value}` is a file; a model folder (with config.json and weights) is needed."),
    "finding.model-folder-empty": (
        "В папке `{arg}={value}` нет того, что нужно для загрузки (ожидается {needs}, ...).",
        "The folder `{arg}={value}` holds nothing loadable (expected {needs}, ...)."),
    "finding.gguf-file-missing": (
        "`gguf_file={gguf}`: такого файла нет в папке модели {folder}.",
        "`gguf_file={gguf}`: there is no such file in the model folder {folder}."),
    "finding.model-not-cached-offline": (
        "Модели `{value}` (`{arg}=`) нет в кэше хаба ({cache}), а хаб для этого запуска выключен ({switch}). "
        + _GET_MODEL_RU,
        "The model `{value}` (`{arg}=`) is not in the hub cache ({cache}), and the hub is off for this run "
        "({switch}). " + _GET_MODEL_EN),
    "finding.model-hub-unreachable": (
        "Модели `{value}` (`{arg}=`) нет в кэше хаба ({cache}), а хаб {endpoint} недоступен ({reason}). "
        + _GET_MODEL_RU,
        "The model `{value}` (`{arg}=`) is not in the hub cache ({cache}), and the hub {endpoint} cannot be "
        "reached ({reason}). " + _GET_MODEL_EN),
    "finding.model-gated": (
        "Модель `{value}` закрыта (gated): нужен токен. Примите условия на {url}, затем `%mera secret HF_TOKEN` и "
        "`HF_TOKEN=$HF_TOKEN` в начале команды.",
        "The model `{value}` is gated: a token is needed. Accept its terms at {url}, then run "
        "`%mera secret HF_TOKEN` and start the command with `HF_TOKEN=$HF_TOKEN`."),
    "finding.model-gated-token": (
        "Модель `{value}` закрыта (gated), и у вашего HF_TOKEN нет к ней доступа: примите условия на {url} "
        "(тем же аккаунтом) или используйте другой токен.",
        "The model `{value}` is gated and your HF_TOKEN has no access to it: accept its terms at {url} (with the "
        "same account) or use another token."),
    "finding.model-not-on-hub": (
        "`{arg}={value}`: такой модели нет на хабе (или она приватная). Проверьте имя (`организация/модель`).",
        "`{arg}={value}`: there is no such model on the hub (or it is private). Check the name (`org/model`)."),
    "finding.model-hub-error": (
        "`{arg}={value}`: хаб ответил {detail}; загрузка может не удаться.",
        "`{arg}={value}`: the hub answered {detail}; loading may fail."),
    "finding.model-name-invalid": (
        "`{arg}={value}` — не путь к папке и не имя модели на хабе (`организация/модель`).",
        "`{arg}={value}` is neither a folder path nor a hub model name (`org/model`)."),
    "finding.model-arg-required": (
        "У `{backend}` ({cls}) обязательный параметр `{name}`, а в --model_args его нет.{hint} Например: "
        "`--model_args {name}={example}`.",
        "`{backend}` ({cls}) requires `{name}`, and --model_args does not give it.{hint} For example: "
        "`--model_args {name}={example}`."),
    "finding.typo-for": (" Вы написали `{given}` — видимо, имелось в виду `{name}`.",
                         " You wrote `{given}`: did you mean `{name}`?"),
    "finding.model-arg-forwarded": (
        "`{arg}` — не параметр `{backend}` ({cls}); lm_eval передаст его загрузчику модели ({loader}), который "
        "может его отвергнуть.",
        "`{arg}` is not a parameter of `{backend}` ({cls}); lm_eval passes it on to the model loader ({loader}), "
        "which may reject it."),
    "finding.model-arg-not-in-version": (
        "`{arg}` описан в руководстве MERA, но `{backend}` ({cls}) в установленном lm_eval {version} его не знает и "
        "пропустит (в новых версиях lm_eval он есть).",
        "`{arg}` is described in the MERA guide, but `{backend}` ({cls}) in the installed lm_eval {version} does "
        "not know it and will skip it (newer lm_eval versions have it)."),
    "finding.model-arg-typo": (
        "`{arg}` — не параметр `{backend}` ({cls}) и не параметр загрузчика модели: lm_eval упадёт с "
        "TypeError.{hint}",
        "`{arg}` is neither a parameter of `{backend}` ({cls}) nor of the model loader: lm_eval would fail with a "
        "TypeError.{hint}"),
    # -- servers -----------------------------------------------------------------------------------------------
    "finding.server-down": (
        "По адресу {base_url} никто не отвечает ({reason}). Сначала запустите сервер (`%mera serve {model}` "
        "запустит vLLM из этого ядра и напишет base_url, или `vllm serve {model} --port {port}`) или исправьте "
        "хост и порт.",
        "Nothing answers at {base_url} ({reason}). Start the server first (`%mera serve {model}` starts vLLM "
        "from this kernel and prints its base_url; or `vllm serve {model} --port {port}`), or fix the host and port."),
    "finding.server-wrong-path": (
        "Сервер {root} отвечает, но пути {path} у него нет (HTTP 404). Для `{backend}` base_url обычно "
        "заканчивается на `{expected}`.",
        "The server {root} answers, but it has no path {path} (HTTP 404). For `{backend}` base_url usually ends "
        "with `{expected}`."),
    "finding.server-model-not-served": (
        "Сервер {root} не обслуживает модель `{model}`; он отдаёт: {served}. Укажите `model=` одно из них.",
        "The server {root} does not serve the model `{model}`; it serves: {served}. Set `model=` to one of them."),
    "finding.server-error": (
        "Сервер {root} ответил на {url}: {detail}.",
        "The server {root} answered {url} with {detail}."),
    # -- devices -----------------------------------------------------------------------------------------------
    "finding.no-gpu": (
        "{what} нужна видеокарта NVIDIA, а на этой машине её нет (драйвер NVIDIA не найден: {how}). Запустите на машине с GPU или "
        "используйте `--device cpu` (медленно; vLLM на CPU не работает).",
        "{what} needs an NVIDIA GPU, and this machine has none (no NVIDIA driver found: {how}). Run on a machine with a GPU, or use "
        "`--device cpu` (slow; vLLM does not run on a CPU)."),
    "finding.cuda-device-missing": (
        "`CUDA_VISIBLE_DEVICES={cvd}` называет видеокарты {missing}, а на этой машине их {count} (номера "
        "0–{last}, {how}).",
        "`CUDA_VISIBLE_DEVICES={cvd}` names GPU(s) {missing}, and this machine has {count} (indices 0–{last}, "
        "{how})."),
    "finding.device-index-missing": (
        "`--device {device}`: видно только {visible} видеокарт(ы) (номера 0–{last}).",
        "`--device {device}`: only {visible} GPU(s) are visible (indices 0–{last})."),
    "finding.tensor-parallel-too-large": (
        "`tensor_parallel_size={size}`, а видно только {visible} видеокарт(ы): перечислите {size} в "
        "CUDA_VISIBLE_DEVICES или уменьшите tensor_parallel_size.",
        "`tensor_parallel_size={size}`, but only {visible} GPU(s) are visible: list {size} in CUDA_VISIBLE_DEVICES "
        "or lower tensor_parallel_size."),
    "finding.parallelize-on-cpu": (
        "`parallelize=True` без видеокарт: accelerate будет выгружать веса на диск (./offload/) — очень медленно. "
        "Уберите parallelize или запустите на машине с несколькими GPU.",
        "`parallelize=True` without GPUs: accelerate offloads the weights to disk (./offload/), very slowly. Drop "
        "parallelize, or run on a machine with several GPUs."),
    "finding.parallelize-one-gpu": (
        "`parallelize=True` при одной видимой видеокарте ничего не распараллеливает; перечислите несколько в "
        "CUDA_VISIBLE_DEVICES.",
        "`parallelize=True` with one visible GPU parallelises nothing; list several in CUDA_VISIBLE_DEVICES."),
    # -- packages ----------------------------------------------------------------------------------------------
    "finding.package-missing": (
        "{what} нужен пакет `{module}`, а он не установлен в окружении ядра. Установите: `{install}` "
        "(и перезапустите ядро).",
        "{what} needs the package `{module}`, which is not installed in the kernel's environment. Install it: "
        "`{install}` (then restart the kernel)."),
    # -- the shell language ------------------------------------------------------------------------------------
    "finding.undefined-variable": (
        "`${name}` нигде не определена (ни в ноутбуке, ни в `%mera secret`, ни в окружении): оболочка подставила "
        "бы пустую строку. Определите её (`{name} = '...'` в ячейке или `%mera secret {name}`) или напишите "
        "`${{{name}:-значение}}`.",
        "`${name}` is defined nowhere (not in the notebook, `%mera secret` or the environment): a shell would put "
        "an empty string there. Define it (`{name} = '...'` in a cell, or `%mera secret {name}`), or write "
        "`${{{name}:-default}}`."),
    "finding.shell-backslash": (
        "В `{word}` обратная косая черта вне кавычек пропадает, как в bash (получится `{became}`). Возьмите "
        "значение в кавычки ('{word}') или пишите путь через /.",
        "In `{word}` the unquoted backslash is dropped, as bash does (it becomes `{became}`). Quote the value "
        "('{word}') or write the path with /."),
    # -- MERA's task folders -----------------------------------------------------------------------------------
    "finding.mera-folder-missing": (
        "`--include_path {path}` не найдена (относительно {cwd}). Это папка задач MERA из репозитория {repo} "
        "(папка `{folder}`). Получите её: `{get}`, и укажите `--include_path {fixed}` (или запускайте из папки "
        "репозитория).",
        "`--include_path {path}` does not exist (from {cwd}). It is MERA's task folder, from the repository {repo} "
        "(folder `{folder}`). Get it: `{get}`, and pass `--include_path {fixed}` (or run from inside the "
        "repository)."),
    "finding.mera-task-without-folder": (
        "{tasks}: это задачи MERA, их нет среди встроенных задач lm_eval. Они лежат в папке `benchmark_tasks` "
        "репозитория {repo}: `{get}`, затем добавьте `--include_path {fixed}`.",
        "{tasks}: these are MERA tasks, not lm_eval's built-in ones. They live in the `benchmark_tasks` folder of "
        "the repository {repo}: `{get}`, then add `--include_path {fixed}`."),
    # -- the run's own checks (mera_magic.checks): flags and backend --------------------------------------------
    "finding.unknown-option": (
        "`--{dest}`: в установленном lm_eval нет такого флага.{hint}",
        "`--{dest}` is not an option of the installed lm_eval.{hint}"),
    "finding.unknown-backend": (
        "`--model {backend}`: в установленном lm_eval нет такого бэкенда.{hint} Доступные бэкенды: {names}.",
        "`--model {backend}` is not a backend of the installed lm_eval.{hint} Backends: {names}."),
    "finding.model-arg-ignored": (
        "`{arg}` — не параметр `{backend}` ({cls}), и lm_eval молча его проигнорирует.{hint} Уберите его или "
        "исправьте имя.",
        "`{arg}` is not a parameter of `{backend}` ({cls}), and lm_eval would silently ignore it.{hint} Remove it "
        "or fix the name."),
    "finding.model-arg-unknown": (
        "`{arg}` — не параметр `{backend}` ({cls}): lm_eval упадёт с TypeError.{hint}",
        "`{arg}` is not a parameter of `{backend}` ({cls}); lm_eval would fail with a TypeError.{hint}"),
    "finding.no-model-name": (
        "В --model_args нет `pretrained`{default}: укажите модель для оценки, например "
        "`--model_args pretrained=Qwen/Qwen2-0.5B-Instruct`.",
        "--model_args has no `pretrained`{default}: name the model to evaluate, e.g. "
        "`--model_args pretrained=Qwen/Qwen2-0.5B-Instruct`."),
    "finding.no-model-name-default": (" (по умолчанию lm_eval возьмёт `{default}`)",
                                      " (lm_eval's default is `{default}`)"),
    "finding.hidden-output-folder": (
        "`pretrained={value}` начинается с `.`: lm_eval называет папку результатов по модели (`{folder}`), и "
        "папка получится скрытой. Укажите абсолютный путь (например, `pretrained=$PWD/{relative}`), чтобы она "
        "была видна.",
        "`pretrained={value}` starts with `.`: lm_eval names the results folder after it (`{folder}`), which is a "
        "hidden folder. Pass an absolute path (e.g. `pretrained=$PWD/{relative}`) to get a visible one."),
    "finding.auto-batch-unsupported": (
        "`--batch_size {value}`: `{backend}` в установленном lm_eval так не умеет — укажите число, например "
        "`--batch_size 1`.",
        "`--batch_size {value}` is not supported by `{backend}` in the installed lm_eval: give a number, e.g. "
        "`--batch_size 1`."),
    "finding.auto-batch-ignored": (
        "`--batch_size {value}`: `{backend}` не подбирает размер батча и возьмёт 1; чтобы отправлять запросы "
        "параллельно, задайте `num_concurrent` в --model_args.",
        "`--batch_size {value}`: `{backend}` cannot tune the batch size and uses 1; for parallel requests set "
        "`num_concurrent` in --model_args."),
    # -- combinations of flags ------------------------------------------------------------------------------------
    "finding.multiturn-without-chat-template": (
        "`--fewshot_as_multiturn` работает только вместе с `--apply_chat_template`: добавьте его или уберите "
        "--fewshot_as_multiturn.",
        "`--fewshot_as_multiturn` needs `--apply_chat_template`: add it, or drop --fewshot_as_multiturn."),
    "finding.no-output-path": (
        "`--{dest}` требует `--output_path`: добавьте, например, `--output_path $PWD/mera_results` (туда "
        "записываются файлы samples_*.jsonl).",
        "`--{dest}` needs `--output_path`: add e.g. `--output_path $PWD/mera_results` (the samples are written "
        "there)."),
    "finding.samples-with-limit": (
        "`--samples` и `--limit` нельзя указывать вместе: оставьте что-то одно.",
        "`--samples` and `--limit` cannot be used together: keep one of them."),
    "finding.device-index": (
        "`--device {device}`: руководство MERA советует выбирать видеокарту через "
        "`CUDA_VISIBLE_DEVICES={index}`, а в --device писать просто `--device cuda`.",
        "`--device {device}`: the MERA guide recommends choosing the GPU with `CUDA_VISIBLE_DEVICES={index}` and "
        "`--device cuda` instead."),
    "finding.vllm-device": (
        "vLLM не учитывает `--device {device}`; видеокарты для него выбираются через CUDA_VISIBLE_DEVICES.",
        "vLLM ignores `--device {device}`; choose GPUs with CUDA_VISIBLE_DEVICES."),
    "finding.results-not-saved": (
        "Нет `--output_path`: результаты будут показаны здесь, но на диск не запишутся (для сабмита в MERA нужны "
        "`--output_path ... --log_samples`).",
        "No `--output_path`: results are shown here but not written to disk (MERA's submission needs "
        "`--output_path ... --log_samples`)."),
    "finding.verbosity-late": (
        "В lm_eval {version} `--verbosity {verbosity}` начинает действовать только после оценки; mera-magic "
        "применяет его к журналу, который показывается здесь, на весь запуск.",
        "In lm_eval {version} `--verbosity {verbosity}` only takes effect after the evaluation; mera-magic "
        "applies it to the log shown here for the whole run."),
    "finding.include-path-missing": (
        "`--include_path {path}`: такой папки нет (относительно {cwd}).",
        "`--include_path {path}` does not exist (from {cwd})."),
    "finding.chat-backend-without-template": (
        "`{backend}` отправляет сообщения чата, а lm_eval собирает их только с `--apply_chat_template` (без него "
        "запуск упадёт на первом же запросе): добавьте `--apply_chat_template`.",
        "`{backend}` sends chat messages, which lm_eval builds only with `--apply_chat_template` (without it the "
        "run fails at the first request): add `--apply_chat_template`."),
    "finding.chat-backend-loglikelihood": (
        "`{backend}` — чатовый бэкенд и не возвращает логарифмы правдоподобия, а `{task}` — задача типа "
        "{types}. Возьмите её генеративный вариант `_gen` или бэкенд completions (`{completions}`).",
        "`{backend}` is a chat backend and returns no log-likelihoods, but `{task}` is {types}. Use its `_gen` "
        "twin, or a completions backend (`{completions}`)."),
    # -- the run's variables --------------------------------------------------------------------------------------
    "finding.cuda-visible-devices": (
        "`CUDA_VISIBLE_DEVICES={cvd}` записана неверно: перечислите номера видеокарт через запятую без пробелов, "
        "например `CUDA_VISIBLE_DEVICES=0,1`.",
        "`CUDA_VISIBLE_DEVICES={cvd}` is malformed: write GPU indices separated by commas without spaces, e.g. "
        "`CUDA_VISIBLE_DEVICES=0,1`."),
    "finding.cuda-visible-devices-twice": (
        "В `CUDA_VISIBLE_DEVICES={cvd}` одна видеокарта указана дважды.",
        "`CUDA_VISIBLE_DEVICES={cvd}` names a GPU twice."),
    "finding.in-memory-size": (
        "`HF_DATASETS_IN_MEMORY_MAX_SIZE={size}`: нужно число байтов, например 23400000.",
        "`HF_DATASETS_IN_MEMORY_MAX_SIZE={size}` must be a number of bytes, e.g. 23400000."),
    "finding.tokenizers-parallelism": (
        "`TOKENIZERS_PARALLELISM={value}`: пишите true или false (руководство MERA советует false).",
        "`TOKENIZERS_PARALLELISM={value}`: use true or false (the guide recommends false)."),
    "finding.literal-secret": (
        "Значение `{name}` записано прямо в ячейке и сохранится в ноутбуке. Напишите `{name}=${name}` и держите "
        "значение в окружении или выполните `%mera secret {name}` (спросит значение, не показывая его).",
        "`{name}` is written literally in the cell, so it will be saved in the notebook. Write `{name}=${name}` "
        "and keep the value in the environment, or run `%mera secret {name}` (asks for it without showing it)."),
    "finding.literal-secret-model-arg": (
        "Значение `{arg}` в model_args записано прямо в ячейке: пишите `{arg}=$SOME_VARIABLE`, а саму "
        "переменную задайте через `%mera secret SOME_VARIABLE`.",
        "model_args `{arg}` is written literally in the cell: use `{arg}=$SOME_VARIABLE` with "
        "`%mera secret SOME_VARIABLE`."),
    "finding.cache-other-model": (
        "В `--use_cache {path}` лежат ответы `{cached}`, а не `{now}`: кэш lm_eval не различает модели, и этот "
        "запуск взял бы ответы другой модели. Укажите новый путь, например `--use_cache lm_cache/{folder}`.",
        "`--use_cache {path}` holds answers of `{cached}`, not of `{now}`: lm_eval's cache does not tell models "
        "apart, so this run would reuse the other model's answers. Use a new path, e.g. "
        "`--use_cache lm_cache/{folder}`."),
    # -- tasks ----------------------------------------------------------------------------------------------------
    "finding.no-tasks": (
        "Не указаны `--tasks`: назовите хотя бы одну задачу, например `--tasks rummlu,parus`.",
        "No `--tasks` given: name at least one, e.g. `--tasks rummlu,parus`."),
    "finding.unknown-task": (
        "Задача `{name}` не найдена среди задач lm_eval.{hint} Для задач MERA добавьте "
        "`--include_path ./benchmark_tasks`.",
        "task `{name}` is not found among lm_eval's tasks.{hint} For MERA tasks add "
        "`--include_path ./benchmark_tasks`."),
    "finding.unknown-task-in-folder": (
        "Задача `{name}` не найдена ни в `{include}`, ни среди задач lm_eval.{hint}",
        "task `{name}` is not found in `{include}` or among lm_eval's tasks.{hint}"),
    "finding.closed-test-without-predict-only": (
        "{tasks}: ответы тестовой части MERA закрыты, поэтому локальные метрики будут нулевыми или "
        "бессмысленными. Добавьте `--predict_only` (как в скриптах MERA) и получите оценку на сайте или запустите "
        "вариант `_localscore`, чтобы посчитать метрики локально.",
        "{tasks}: MERA's test answers are closed, so local metrics would be 0 or meaningless. Add `--predict_only` "
        "(as MERA's scripts do) and score on the website, or run the `_localscore` variant for local numbers."),
    "finding.more-errors-check": (" (и ещё ошибок: {count}, их покажет `%mera check`)",
                                  " (and {count} more error(s): `%mera check` lists them)"),
    # -- typed values (mera_magic.checks_values); a problem follows the value: "`--limit abc` is not a number" ----
    "finding.invalid-batch-size": (
        "`{flag} {value}` {problem}: lm_eval принимает, например, `{flag} 8`.",
        "`{flag} {value}` {problem}: lm_eval takes e.g. `{flag} 8`."),
    "finding.invalid-batch-size-auto": (
        "`{flag} {value}` {problem}: lm_eval принимает, например, `{flag} 8` или `auto`.",
        "`{flag} {value}` {problem}: lm_eval takes e.g. `{flag} 8` or `auto`."),
    "finding.invalid-option-value": (
        "`{flag} {value}` {problem}: lm_eval его не примет.",
        "`{flag} {value}` {problem}: lm_eval would reject it."),
    "finding.invalid-choice": (
        "`{flag} {value}`: такого значения нет среди допустимых в lm_eval: {choices}.",
        "`{flag} {value}` is not one of lm_eval's choices: {choices}."),
    "finding.invalid-model-arg-batch-size": (
        "Значение `{arg}={value}` {problem}: напишите, например, `batch_size=8`.",
        "`{arg}={value}` {problem}: write e.g. `batch_size=8`."),
    "finding.invalid-model-arg": (
        "Значение `{arg}={value}` {problem}.",
        "`{arg}={value}` {problem}."),
    "finding.missing-model-arg": (
        "`--model {backend}` требует `{arg}` в --model_args, например `--model_args {arg}={example}`.",
        "`--model {backend}` needs `{arg}` in --model_args, e.g. `--model_args {arg}={example}`."),
    "finding.value.true-false": ("— это true/false", "is true/false"),
    "finding.value.not-positive": ("— не положительное число", "is not a positive number"),
    "finding.value.not-int": ("— не целое число", "is not a whole number"),
    "finding.value.not-int-auto": ("— не целое число и не `auto`", "is not a whole number or `auto`"),
    "finding.value.not-int-auto-n": ("— не целое число и не `auto:N`", "is not a whole number or `auto:N`"),
    "finding.value.not-int-auto-both": ("— не целое число, не `auto` и не `auto:N`",
                                        "is not a whole number, `auto` or `auto:N`"),
    "finding.value.not-number": ("— не число", "is not a number"),
    "finding.value.not-valid": ("— недопустимое значение типа {kind} ({error})", "is not a valid {kind} ({error})"),
    "finding.value.none-required": ("— None, а параметр обязательный", "is None, but the parameter is required"),
    "finding.value.not-dtype": (
        "— не тип данных установленного torch: укажите `auto` или один из: {dtypes}",
        "is not a dtype of the installed torch: use `auto` or one of {dtypes}"),
    "finding.value.not-literal": ("— не одно из допустимых значений: {values}", "is not one of {values}"),
    "finding.value.is-bool": ("— это true/false, а `{name}` принимает {kinds}",
                              "is true/false, but `{name}` takes {kinds}"),
    "finding.value.is-number": ("— число, а `{name}` принимает {kinds}", "is a number, but `{name}` takes {kinds}"),
    "finding.value.is-decimal-whole": (
        "— lm_eval прочтёт это как дробное число {value}, а `{name}` принимает целое: напишите `{name}={whole}`",
        "is read by lm_eval as the decimal number {value}, but `{name}` takes a whole number: write "
        "`{name}={whole}`"),
    "finding.value.is-decimal": ("— дробное число, а `{name}` принимает {kinds}",
                                 "is a decimal number, but `{name}` takes {kinds}"),
    "finding.value.is-mapping": ("— словарь, а `{name}` принимает {kinds}", "is a mapping, but `{name}` takes {kinds}"),
    "finding.value.is-list": ("— список, а `{name}` принимает {kinds}", "is a list, but `{name}` takes {kinds}"),
    "finding.value.is-text": ("— текст, а `{name}` принимает {kinds}", "is text, but `{name}` takes {kinds}"),
    "finding.kind.int": ("целое число", "a whole number"),
    "finding.kind.float": ("число", "a number"),
    "finding.kind.bool": ("true или false", "true or false"),
    "finding.kind.dict": ("JSON-словарь", "a JSON mapping"),
    "finding.kind.list": ("JSON-список", "a JSON list"),
    "finding.kind.other": ("значение другого типа", "another kind of value"),
    "finding.word.or": (" или ", " or "),
    "finding.word.and": (" и ", " and "),
    # -- multimodal runs (mera_magic.checks_multimodal) -----------------------------------------------------------
    "finding.mm-backend-missing": (
        "`--model {backend}` нет в установленном lm_eval {version}: этот бэкенд появился в lm_eval {since}. "
        "Установите версию новее (`pip install -U \"lm-eval[hf]>={since}\"`) или lm-eval из MERA_MULTIMODAL, в "
        "котором и запускаются мультимодальные задачи MERA.",
        "`--model {backend}` is not in the installed lm_eval {version}: it came with lm_eval {since}. Install a "
        "newer one (`pip install -U \"lm-eval[hf]>={since}\"`) or MERA_MULTIMODAL's lm-eval, in which MERA's "
        "multimodal tasks run."),
    "finding.flash-attn": (
        "`attn_implementation={value}` работает только на видеокартах с CUDA, а не с `--device {device}`: укажите "
        "`attn_implementation=sdpa`.",
        "`attn_implementation={value}` runs on CUDA GPUs only, not with `--device {device}`: use "
        "`attn_implementation=sdpa`."),
    "finding.media-env-value": (
        "`{name}={value}` ни на что не влияет: load_media.py из MERA включает режим только значением 1 "
        "(`{name}=1`).",
        "`{name}={value}` has no effect: MERA's load_media.py switches a mode on only for the value 1 "
        "(`{name}=1`)."),
    "finding.media-env-ambiguous": (
        "{modes}: load_media.py из MERA допускает только один режим загрузки медиа и останавливается с ошибкой "
        "\"the type of media to load is ambiguous\". Оставьте один из них.",
        "{modes}: MERA's load_media.py accepts one media mode and stops with \"the type of media to load is "
        "ambiguous\". Keep one of them."),
    "finding.media-env-hf-multimodal": (
        "`{mode}=1` передаёт модели изображения как {given}, а hf-multimodal нужны изображения Pillow: уберите "
        "эту переменную (или укажите `LOAD_OBJECT=1`, это режим по умолчанию).",
        "`{mode}=1` hands images to the model as {given}, but hf-multimodal needs Pillow images: drop it (or use "
        "`LOAD_OBJECT=1`, the default)."),
    "finding.media-mode.LOAD_BYTES": ("сырые байты", "raw bytes"),
    "finding.media-mode.LOAD_BASE64": ("data URL в base64", "base64 data URLs"),
    "finding.media-mode.LOAD_FILES": ("пути к файлам", "file paths"),
    "finding.media-mode.LOAD_OBJECT": ("изображения Pillow", "Pillow images"),
    "finding.media-env-vllm-base64": (
        "`LOAD_BASE64=1` с vllm-vlm — настройка MERA для её собственного lm-eval (с флагом "
        "`--pass_multimodal_args_to_chat_history`, которого в установленном lm_eval нет); обычному vllm-vlm "
        "нужны изображения Pillow: уберите LOAD_BASE64.",
        "`LOAD_BASE64=1` with vllm-vlm is MERA's setting for its own lm-eval (with "
        "`--pass_multimodal_args_to_chat_history`, which the installed lm_eval lacks); stock vllm-vlm needs "
        "Pillow images: drop LOAD_BASE64."),
    "finding.media-env-stale": (
        "load_media.py из MERA уже импортирован в этом ядре с `{name}=1`, а переменную он читает только один раз: "
        "этот запуск всё равно пойдёт с ней. Напишите в ячейке `{name}=0` (тогда запуск пойдёт в новом процессе) "
        "или перезапустите ядро.",
        "MERA's load_media.py was imported in this kernel with `{name}=1`, and it reads the variable only once: "
        "this run would still use it. Write `{name}=0` in the cell (the run then goes to a fresh process), or "
        "restart the kernel."),
    "finding.mm-text-backend": (
        "{tasks}: нужны изображения или звук, а `{backend}` — текстовый бэкенд: lm_eval остановится. Возьмите "
        "{choices} (в руководстве MERA — `--model hf-multimodal`).",
        "{tasks} need images or sound, but `{backend}` is a text-only backend: lm_eval would stop. Use {choices} "
        "(MERA's guide: `--model hf-multimodal`)."),
    "finding.mm-text-backend-one": (
        "{tasks}: нужны изображения или звук, а `{backend}` — текстовый бэкенд: lm_eval остановится. Возьмите "
        "{choices} (в руководстве MERA — `--model hf-multimodal`).",
        "{tasks} needs images or sound, but `{backend}` is a text-only backend: lm_eval would stop. Use {choices} "
        "(MERA's guide: `--model hf-multimodal`)."),
    "finding.mm-any-backend": ("мультимодальный бэкенд", "a multimodal backend"),
    "finding.mm-modality": (
        "{tasks}: это задачи с {kinds}, а `{backend}` читает только изображения. Запускайте их с аудио-бэкендом "
        "(например, `hf-audiolm-qwen`), как сказано в README MERA.",
        "{tasks}: {kinds} tasks, but `{backend}` reads images only. Run them with an audio backend (e.g. "
        "`hf-audiolm-qwen`) as MERA's README says."),
    "finding.modality.audio": ("аудио", "audio"),
    "finding.modality.video": ("видео", "video"),
    "finding.mm-loglikelihood": (
        "{tasks}: задачи с выбором ответа (по логарифму правдоподобия) с изображениями, а `{backend}` такие не "
        "оценивает (lm_eval выбросит NotImplementedError). Возьмите генеративный вариант.",
        "{tasks}: multiple-choice (log-likelihood) tasks with images, which `{backend}` does not score (lm_eval "
        "raises NotImplementedError). Use the generative variant."),
    "finding.mm-chat-template": (
        "`{backend}` без `--apply_chat_template`: изображения тогда вставляются обычными текстовыми тегами "
        "`<image>`, на которых большинство мультимодальных моделей не обучали. В руководстве MERA эти задачи "
        "запускаются с `--apply_chat_template --fewshot_as_multiturn`.",
        "`{backend}` without `--apply_chat_template`: the images are then placed by plain-text `<image>` tags, "
        "which most vision-language models were not trained on. MERA's guide runs these tasks with "
        "`--apply_chat_template --fewshot_as_multiturn`."),
    "finding.mm-fewshot": (
        "`--num_fewshot {shots}` с мультимодальными задачами: MERA запускает их без фью-шотов (кроме ruTiE), а "
        "каждый пример добавляет в промпт свои изображения.",
        "`--num_fewshot {shots}` with multimodal tasks: MERA runs its multimodal tasks 0-shot (ruTiE aside), and "
        "every example adds its images to the prompt."),
    "finding.mm-max-images-int": (
        "`max_images={value}`: нужно целое число, например `max_images=1`.",
        "`max_images={value}` must be a whole number, e.g. `max_images=1`."),
    "finding.mm-max-images": (
        "`max_images={limit}`, а в документах {tasks} изображений больше: lm_eval передаст модели только "
        "столько первых изображений, сколько разрешает max_images, а остальные выбросит вместе с их тегами "
        "`<image>`. Поднимите до `max_images={most}`, если модель принимает столько.",
        "`max_images={limit}`, but documents of {tasks} carry more images: lm_eval gives the model only the first "
        "{limit} and drops the rest of them with their `<image>` tags. Raise it to `max_images={most}` if the "
        "model takes that many."),
    # -- what lies outside the command (mera_magic.probe) ---------------------------------------------------------
    "finding.server-no-echo-refused": (
        "Сервер {base_url} отклонил запрос completion с `echo` и `logprobs` (HTTP {status}: {body}), а задачам "
        "{tasks} нужны log-probs промпта. Проверьте, что base_url заканчивается на /v1/completions, или возьмите "
        "сервер, который их возвращает (vLLM: `%mera serve MODEL`).",
        "the server at {base_url} refused a completion request with `echo` and `logprobs` (HTTP {status}: "
        "{body}); {tasks} need(s) the prompt's log-probs. Check that base_url ends in /v1/completions, or use a "
        "server that returns them (vLLM: `%mera serve MODEL`)."),
    "finding.server-echo-unknown": (
        "Не удалось проверить, возвращает ли сервер {base_url} log-probs промпта с echo ({reason}).",
        "could not check that the server at {base_url} returns echo log-probs ({reason})."),
    "finding.server-no-echo": (
        "Сервер {base_url} не возвращает log-probs промпта (`echo` с `logprobs`), а они нужны задачам {tasks} для "
        "выбора ответа. Поднимите модель на vLLM (`%mera serve MODEL`) или на сервере llama.cpp либо запустите "
        "генеративные варианты задач `_gen`.",
        "the server at {base_url} does not return the prompt's log-probs (`echo` with `logprobs`), which {tasks} "
        "need(s) for multiple choice. Serve the model with vLLM (`%mera serve MODEL`) or llama.cpp's server, or "
        "run the tasks' generative `_gen` variants."),
    "finding.parallel-size-int": (
        "`{arg}={value}`: нужно целое число.",
        "`{arg}={value}` must be a whole number."),
    "finding.parallel-size-cpu": (
        "`{sizes}` на CPU-сборке vLLM: рабочие процессы (их {needed}) делят ядра процессора этой машины (GPU не "
        "видно).",
        "`{sizes}` on vLLM's CPU build: {needed} CPU worker processes share this machine's cores (no GPU is "
        "visible)."),
    "finding.parallel-size-no-gpu": (
        "Для `{sizes}` нужно {needed} GPU, а этому запуску не видно ни одного. Перечислите нужные GPU в "
        "CUDA_VISIBLE_DEVICES или уберите параметры параллелизма.",
        "`{sizes}` needs {needed} GPUs, but none is visible to this run. Set CUDA_VISIBLE_DEVICES to the GPUs to "
        "use, or drop the parallel sizes."),
    "finding.parallel-size": (
        "Для `{sizes}` нужно {needed} GPU, а этот запуск видит {gpus}. Уменьшите значение или перечислите больше "
        "GPU в CUDA_VISIBLE_DEVICES.",
        "`{sizes}` needs {needed} GPUs, but this run sees {gpus}. Lower it, or name more GPUs in "
        "CUDA_VISIBLE_DEVICES."),
    "finding.accelerate-cpu-one-process": (
        "`accelerate launch --cpu --num_processes {processes}` запускает только один процесс: на CPU accelerate "
        "распределяет процессы лишь через MPI (`--mpirun_hostfile`). Запуск будет однопроцессным; уберите "
        "--num_processes или вместо этого увеличьте --batch_size.",
        "`accelerate launch --cpu --num_processes {processes}` starts a single process: accelerate spreads CPU "
        "processes only through MPI (`--mpirun_hostfile`). The run is the one-process run; drop --num_processes, "
        "or raise --batch_size instead."),
    "finding.accelerate-no-gpus": (
        "`accelerate launch --num_processes {processes}`, а видно меньше 2 GPU: бэкенд hf в lm_eval делит "
        "документы только между видеокартами, так что каждый из {processes} процессов оценит их все. Запускайте "
        "один процесс.",
        "`accelerate launch --num_processes {processes}` with fewer than 2 GPUs visible: lm_eval's hf backend "
        "splits the documents only across GPUs, so each of the {processes} processes would evaluate all of them. "
        "Run one process instead."),
    # -- a MERA task folder the installed lm_eval cannot load (mera_magic.lmeval.compat) ------------------------
    "finding.compat.label-fork": ("форк lm_eval от MERA {version}", "MERA's lm_eval fork {version}"),
    "finding.compat.unknown-version": ("(версия неизвестна)", "(unknown version)"),
    "finding.compat.fork-fix": (
        "Установите форк lm-eval от MERA: {command} (MERA v1.2 закрепляет коммит {commit} ветки {branch}; чтобы "
        "получить ровно эту версию, укажите его после @), затем перезапустите ядро.",
        "Install MERA's lm-eval fork: {command} (MERA v1.2 pins commit {commit} of branch {branch}; put it after @ "
        "for that exact version), then restart the kernel."),
    "finding.compat.no-folder": ("Папки задач {root} не существует", "task folder {root} does not exist"),
    "finding.compat.no-folder-fix": ("Проверьте --include_path.", "Check --include_path."),
    "finding.compat.yaml-error": ("{where} — нечитаемый YAML ({error}); lm_eval пропускает этот файл{tail}",
                                  "{where} is not readable YAML ({error}); lm_eval skips it{tail}"),
    "finding.compat.yaml-error-users": (", поэтому задачи {tasks} не загрузятся.", ", so tasks {tasks} cannot load."),
    "finding.compat.yaml-error-unused": (" без предупреждения.", " without a word."),
    "finding.compat.yaml-error-fix": ("Исправьте файл.", "Fix the file."),
    "finding.compat.fork-only-key": (
        "{where} задаёт `{option}` — параметр задачи, который есть только в форке lm-eval от MERA; установленная "
        "версия ({label}) его не принимает: TypeError: TaskConfig.__init__() got an unexpected keyword argument "
        "'{option}'.",
        "{where} sets `{option}`, a task option only MERA's lm-eval fork has; {label} (installed) rejects it: "
        "TypeError: TaskConfig.__init__() got an unexpected keyword argument '{option}'."),
    "finding.compat.unknown-task-key": (
        "{where} задаёт `{option}` — параметр задачи, которого нет у установленной версии ({label}) (он может быть в "
        "новых версиях lm_eval или в форке MERA); загрузка задачи упадёт с TypeError: unexpected keyword "
        "argument '{option}'.",
        "{where} sets `{option}`, a task option {label} (installed) does not have (newer lm_eval releases or MERA's "
        "fork may); loading the task fails with TypeError: unexpected keyword argument '{option}'."),
    "finding.compat.unknown-fewshot-key": (
        "В {where} у fewshot_config есть ключи {names}: форк MERA их читает, а установленная версия ({label}) не "
        "принимает: TypeError: FewshotConfig.__init__() got an unexpected keyword argument '{first}'.",
        "{where} has fewshot_config keys {names} that MERA's fork reads and {label} (installed) rejects: "
        "TypeError: FewshotConfig.__init__() got an unexpected keyword argument '{first}'."),
    "finding.compat.function-dotted": (
        "{where} ссылается на `!function {ref}` ({option}) — путь к файлу, который установленная версия ({label}) не "
        "находит: она читает `!function` как имя модуля через точки и падает с ImportError: Cannot import module "
        "'{module}'. lm_eval 0.4.4 - 0.4.8 и форк MERA его загружают.",
        "{where} refers to `!function {ref}` ({option}), a file path that {label} (installed) does not resolve: it "
        "reads `!function` as a dotted module name, and fails with ImportError: Cannot import module '{module}'. "
        "lm_eval 0.4.4 - 0.4.8 and MERA's fork load it."),
    "finding.compat.function-missing": ("{where} ссылается на `!function {ref}` ({option}), но файла {file} нет.",
                                        "{where} refers to `!function {ref}` ({option}), but {file} does not exist."),
    "finding.compat.function-missing-fix": ("Проверьте путь в YAML-файле.", "Check the path in the YAML file."),
    "finding.compat.include-missing": ("{parent} включает {include}, а такого файла нет (задача {task}).",
                                       "{parent} includes {include}, which does not exist (task {task})."),
    "finding.compat.include-missing-fix": ("Исправьте путь в include.", "Fix the include path."),
    "finding.compat.include-cycle": ("У задачи {task} цикл в include: {chain}.",
                                     "task {task} has an include cycle: {chain}."),
    "finding.compat.include-cycle-fix": ("Уберите цикл.", "Remove the cycle."),
    "finding.compat.include-diamond": (
        "{where} через свои include дважды доходит до {again}; установленная версия ({label}) считает это циклом и "
        "не включает задачу {task} в индекс задач, поэтому сообщает 'Tasks not found: {task}'. Форк MERA и "
        "lm_eval 0.4.4 - 0.4.8 её загружают.",
        "{where} reaches {again} twice through its includes; {label} (installed) takes that for an include cycle "
        "and leaves task {task} out of its task index, so it reports 'Tasks not found: {task}'. MERA's fork and "
        "lm_eval 0.4.4 - 0.4.8 load it."),
    "finding.compat.include-order": (
        "{where} перечисляет несколько include, в которых {keys} заданы по-разному; установленная версия ({label}) "
        "берёт их из последнего include, а форк MERA — из первого, так что задача {task} будет не той, что "
        "запускает MERA.",
        "{where} lists several includes that set {keys} differently; {label} (installed) takes them from the last "
        "include, MERA's fork from the first, so task {task} would not be the task MERA runs."),
    "finding.compat.used-by-task": (" (задача {tasks})", " (task {tasks})"),
    "finding.compat.used-by-tasks": (" (задачи {tasks})", " (tasks {tasks})"),
    "finding.compat.transformers-metrics": (
        "{where}{who} импортирует transformers.data.metrics, которого нет в установленном transformers {version}: "
        "ModuleNotFoundError: No module named 'transformers.data.metrics'. MERA v1.2 нужен transformers < 5.",
        "{where}{who} imports transformers.data.metrics, which transformers {version} (installed) no longer has: "
        "ModuleNotFoundError: No module named 'transformers.data.metrics'. MERA v1.2 needs transformers < 5."),
    "finding.compat.transformers-metrics-fix": (
        "Установите transformers < 5: pip install \"transformers<5\" (или форк MERA: {command}), затем "
        "перезапустите ядро.",
        "Install transformers < 5: pip install \"transformers<5\" (or MERA's fork: {command}), then restart the "
        "kernel."),
    "finding.compat.fork-transformers": (
        "Установлен {label} вместе с transformers {version}; форку нужен transformers < 5 (он импортирует "
        "AutoModelForVision2Seq, которого в transformers 5 нет).",
        "{label} is installed with transformers {version}; the fork needs transformers < 5 (it imports "
        "AutoModelForVision2Seq, which transformers 5 removed)."),
    "finding.compat.fork-transformers-fix": ("pip install \"transformers<5\", затем перезапустите ядро.",
                                             "pip install \"transformers<5\", then restart the kernel."),
    # -- the panel ------------------------------------------------------------------------------------------------
    "finding.check-failed": ("Проверка не удалась: {error}", "the check failed: {error}"),
}
