"""The texts of the pre-flight findings (models, servers, devices, packages, the shell language, MERA's task
folders), in Russian and English: ``finding.<code> -> (ru, en)`` with ``{fields}``.

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
}
