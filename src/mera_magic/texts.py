"""Every user-visible text that explains a flag, an environment variable or a model arg, in Russian and English.

Keys name what a text explains, with the same ``where`` names :class:`mera_magic.checks.Finding` uses:

- ``options.<dest>``: an lm_eval option, by its argparse destination (``options.num_fewshot``);
- ``model_args.<key>``: a ``--model_args`` key; a backend or a backend family may refine it with
  ``model_args.<backend>.<key>`` or ``model_args.<family>.<key>`` (families: ``hf``, ``vllm``, ``api``);
- ``env.<NAME>``: an environment variable;
- ``ui.<name>``: the panel's own labels and buttons.

The Russian texts follow the MERA evaluation guide's own explanations; the English ones say the same.
:data:`CHOICES` holds the values offered for fields with a closed (or usual) set of values, written as they
appear in the command; :data:`MODEL_ARG_ORDER` the model args the MERA guide describes, in its order, per
backend family.  :func:`text` looks a text up in the session's language (``%config MeraMagic.language``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Optional

LANGUAGES = ("ru", "en")

# key -> (ru, en)
_T: dict[str, tuple[str, str]] = {
    # -- environment variables -------------------------------------------------------------------------------
    "env.CUDA_VISIBLE_DEVICES": (
        "Номера видеокарт, которые увидит lm_eval, через запятую без пробелов (например, 0,1). Не включает "
        "параллелизацию сама по себе: только ограничивает круг видимых карт. Номера показывает nvidia-smi.",
        "Indices of the GPUs lm_eval may see, comma-separated without spaces (e.g. 0,1). It does not parallelise "
        "by itself, it only limits which GPUs are visible. nvidia-smi shows the indices."),
    "env.HF_HOME": (
        "Папка для загруженных с HuggingFace моделей и датасетов (кэш в $HF_HOME/hub, токен в $HF_HOME/token).",
        "Folder for models and datasets downloaded from HuggingFace (cache in $HF_HOME/hub, token in "
        "$HF_HOME/token)."),
    "env.HF_DATASETS_CACHE": (
        "Отдельная папка только для кэш-файлов датасетов (вместо папки по умолчанию).",
        "A separate folder for dataset cache files only (instead of the default one)."),
    "env.HF_DATASETS_IN_MEMORY_MAX_SIZE": (
        "Сколько байт оперативной памяти отвести под датасеты, чтобы читать их из памяти, а не из кэша на "
        "диске (например, 23400000). Не больше доступной памяти.",
        "How many bytes of RAM datasets may take, so they are read from memory rather than the disk cache "
        "(e.g. 23400000). Not more than the memory available."),
    "env.TOKENIZERS_PARALLELISM": (
        "Параллелизм быстрых токенизаторов. Рекомендуется false: иначе после fork возможны предупреждения и "
        "даже остановка процесса.",
        "Parallelism of fast tokenizers. false is recommended: otherwise forking may print warnings or even "
        "hang the process."),
    "env.HF_TOKEN": (
        "Токен HuggingFace для закрытых моделей и датасетов. Хранится только в памяти ядра: не попадает ни в "
        "команду (там $HF_TOKEN), ни в ноутбук.",
        "HuggingFace token for gated models and datasets. Kept in the kernel's memory only: never written into "
        "the command (which says $HF_TOKEN) or the notebook."),
    "env.OPENAI_API_KEY": (
        "Ключ API для OpenAI-совместимых бэкендов. Хранится только в памяти ядра, в команде — $OPENAI_API_KEY.",
        "API key for the OpenAI-compatible backends. Kept in the kernel's memory only; the command says "
        "$OPENAI_API_KEY."),
    # MERA_MULTIMODAL's media variables (multimodal_tasks/load_media.py) and lm_eval's multimodal logging
    "env.LOAD_OBJECT": (
        "MERA (мультимодальные задачи): передавать модели изображения как объекты Pillow (режим по умолчанию; "
        "нужен hf-multimodal и vllm-vlm). Включается значением 1; включать можно только один режим LOAD_*.",
        "MERA (multimodal tasks): hand images to the model as Pillow objects (the default; what hf-multimodal and "
        "vllm-vlm need). On with the value 1; only one LOAD_* mode may be on."),
    "env.LOAD_BYTES": (
        "MERA (мультимодальные задачи): передавать медиа как байты. Значение 1; только один режим LOAD_*.",
        "MERA (multimodal tasks): hand media over as raw bytes. Value 1; only one LOAD_* mode may be on."),
    "env.LOAD_BASE64": (
        "MERA (мультимодальные задачи): передавать медиа как data-URL в base64 — для API-бэкендов и форка MERA с "
        "--pass_multimodal_args_to_chat_history. Значение 1; только один режим LOAD_*.",
        "MERA (multimodal tasks): hand media over as base64 data URLs, for API backends and MERA's lm-eval with "
        "--pass_multimodal_args_to_chat_history. Value 1; only one LOAD_* mode may be on."),
    "env.LOAD_FILES": (
        "MERA (мультимодальные задачи): сохранять медиа в файлы (в $LM_EVAL_MEDIA_DIR) и передавать пути. "
        "Значение 1; только один режим LOAD_*.",
        "MERA (multimodal tasks): save media to files (under $LM_EVAL_MEDIA_DIR) and hand over their paths. "
        "Value 1; only one LOAD_* mode may be on."),
    "env.LM_EVAL_MEDIA_DIR": (
        "Папка для медиафайлов режима LOAD_FILES=1 (по умолчанию $HF_HOME/lm_eval_media).",
        "Folder for the media files of LOAD_FILES=1 (default $HF_HOME/lm_eval_media)."),
    "env.HARNESS_RESIZE_IMAGES": (
        "MERA: уменьшать изображения перед подачей модели (1/true), до INPUT_IMAGE_WIDTH/HEIGHT или "
        "INPUT_IMAGE_MAX_SIDE.",
        "MERA: resize images before the model sees them (1/true), to INPUT_IMAGE_WIDTH/HEIGHT or "
        "INPUT_IMAGE_MAX_SIDE."),
    "env.INPUT_IMAGE_WIDTH": (
        "MERA: ширина изображений в пикселях при HARNESS_RESIZE_IMAGES=1.",
        "MERA: image width in pixels with HARNESS_RESIZE_IMAGES=1."),
    "env.INPUT_IMAGE_HEIGHT": (
        "MERA: высота изображений в пикселях при HARNESS_RESIZE_IMAGES=1.",
        "MERA: image height in pixels with HARNESS_RESIZE_IMAGES=1."),
    "env.INPUT_IMAGE_MAX_SIDE": (
        "MERA: наибольшая сторона изображения в пикселях при HARNESS_RESIZE_IMAGES=1 (пропорции сохраняются).",
        "MERA: the longest image side in pixels with HARNESS_RESIZE_IMAGES=1 (the aspect ratio is kept)."),
    "env.LMEVAL_HASHMM": (
        "lm_eval: заменять изображения в файлах samples их хешами (по умолчанию да; 0 — писать их как есть, "
        "файлы сильно вырастут).",
        "lm_eval: replace images in the samples files by their hashes (the default; 0 writes them as they are, "
        "and the files grow a lot)."),
    "env.other": (
        "Другие переменные окружения для этого запуска: NAME=VALUE через пробел (например, PYTHONPATH=$PWD).",
        "Other environment variables for this run: NAME=VALUE separated by spaces (e.g. PYTHONPATH=$PWD)."),
    # -- lm_eval options -------------------------------------------------------------------------------------------
    "options.config": (
        "YAML-файл с параметрами запуска; флаги командной строки его переопределяют.",
        "A YAML file with run settings; command-line flags override it."),
    "options.tasks": (
        "Задачи через запятую без пробелов. Запросы всех задач сортируются по типу и подаются в модель общими "
        "списками.",
        "Tasks, comma-separated without spaces. The requests of all tasks are sorted by type and sent to the "
        "model together."),
    "options.model": (
        "Бэкенд, которым запускается модель (hf — transformers, vllm, local-completions — OpenAI-подобный "
        "сервер, ...). От него зависят --model_args. Чатовые бэкенды не дают логитов и запускают только "
        "generate_until задачи.",
        "The backend that runs the model (hf: transformers, vllm, local-completions: an OpenAI-like server, ...). "
        "--model_args depend on it. Chat backends return no logits and run only generate_until tasks."),
    "options.model_args": (
        "Параметры модели для выбранного бэкенда: key=value через запятую.",
        "Model parameters for the chosen backend: key=value pairs separated by commas."),
    "options.apply_chat_template": (
        "Оформлять запрос чат-шаблоном токенизатора (список сообщений с ролями). Можно указать имя шаблона, "
        "если у токенизатора их несколько.",
        "Format each request with the tokenizer's chat template (a list of role messages). A template name may "
        "be given when the tokenizer has several."),
    "options.limit": (
        "Взять только первые N примеров каждой задачи (после перемешивания, если оно есть) — для отладки. "
        "Число меньше 1 — доля задачи.",
        "Evaluate only the first N examples of each task (after shuffling, if any) — for debugging. A number "
        "below 1 is a fraction of the task."),
    "options.use_cache": (
        "Путь к базе с кэшем ответов модели (создаётся <путь>_rank0.db): при перезапуске готовые ответы не "
        "генерируются заново. Кэш не различает модели: для каждой модели — свой путь.",
        "Path of a cache of model answers (<path>_rank0.db is created): a rerun does not generate them again. "
        "The cache does not tell models apart: use a new path per model."),
    "options.num_fewshot": (
        "Количество фью-шотов; переопределяет значение из yaml задачи. В некоторых версиях lm_eval 0 в yaml "
        "нельзя изменить.",
        "Number of few-shot examples; overrides the task's yaml. In some lm_eval versions a 0 in the yaml "
        "cannot be changed."),
    "options.batch_size": (
        "Сколько запросов подаётся в модель за раз. auto подбирает размер, начиная с --max_batch_size и "
        "уменьшая до исчезновения ошибки нехватки памяти; auto:N повторяет подбор N раз.",
        "How many requests go to the model at once. auto searches for the size, from --max_batch_size down "
        "until out-of-memory errors stop; auto:N redoes the search N times."),
    "options.max_batch_size": (
        "Наибольший размер батча, с которого начинается подбор при --batch_size auto.",
        "The largest batch size the search starts from with --batch_size auto."),
    "options.device": (
        "Устройство для расчётов: cuda, cpu, mps (Apple), xpu (Intel). Номер карты лучше задавать через "
        "CUDA_VISIBLE_DEVICES, а не cuda:0.",
        "Compute device: cuda, cpu, mps (Apple), xpu (Intel). Choose the GPU with CUDA_VISIBLE_DEVICES rather "
        "than cuda:0."),
    "options.gen_kwargs": (
        "Параметры генерации для всех generate_until задач (например, do_sample=true,temperature=0.6); "
        "заменяют параметры из yaml задач.",
        "Generation parameters for every generate_until task (e.g. do_sample=true,temperature=0.6); they "
        "replace those in the tasks' yaml."),
    "options.output_path": (
        "Папка для результатов: внутри создаётся подпапка по имени модели с results_*.json и samples_*.jsonl.",
        "Folder for results: a sub-folder named after the model is created in it, holding results_*.json and "
        "samples_*.jsonl."),
    "options.log_samples": (
        "Сохранять запросы и ответы модели по каждому примеру (samples_<задача>_*.jsonl). Нужно для сабмита "
        "MERA; требует --output_path.",
        "Save every request and the model's answers (samples_<task>_*.jsonl). Needed for a MERA submission; "
        "requires --output_path."),
    "options.samples": (
        "Какие примеры запускать: JSON вида {\"задача\": [номера]} или путь к такому файлу. Не совместим с "
        "--limit.",
        "Which examples to run: JSON like {\"task\": [indices]} or a path to such a file. Cannot be combined "
        "with --limit."),
    "options.cache_requests": (
        "Кэш собранных запросов к модели: true — сохранить и переиспользовать, refresh — пересобрать, delete — "
        "удалить.",
        "Cache of the built model requests: true — save and reuse, refresh — rebuild, delete — remove."),
    "options.check_integrity": (
        "Запустить тесты целостности задач перед оценкой.",
        "Run the tasks' integrity tests before evaluating."),
    "options.system_instruction": (
        "Систем промпт — общая инструкция модели для всех задач. Без чат-шаблона приписывается слева к каждому "
        "запросу, с чат-шаблоном передаётся сообщением с ролью system.",
        "The system prompt — one instruction for all tasks. Without a chat template it is prepended to each "
        "request; with one it is sent as a message with the system role."),
    "options.fewshot_as_multiturn": (
        "Диалоговый режим: каждый фью-шот превращается в пару реплик user/assistant. Работает только вместе с "
        "--apply_chat_template.",
        "Multi-turn mode: each few-shot example becomes a user/assistant exchange. Works only with "
        "--apply_chat_template."),
    "options.include_path": (
        "Папка с внешними задачами (yaml или py), например ./benchmark_tasks с задачами MERA: без неё lm_eval "
        "их не найдёт.",
        "Folder with external tasks (yaml or py), e.g. ./benchmark_tasks with MERA's tasks: lm_eval will not "
        "find them without it."),
    "options.verbosity": (
        "Подробность журнала: CRITICAL, ERROR, WARNING, INFO, DEBUG. Для получения метрик хватает ERROR, для "
        "отладки — DEBUG.",
        "Log detail: CRITICAL, ERROR, WARNING, INFO, DEBUG. ERROR is enough to get metrics, DEBUG is for "
        "debugging."),
    "options.write_out": (
        "Вывести несколько первых запросов каждой задачи — проверить, как собираются промпты.",
        "Print the first few requests of each task — to check how prompts are built."),
    "options.show_config": (
        "Вывести полный конфиг замера (как в results_*.json) по окончании.",
        "Print the run's full configuration (as in results_*.json) at the end."),
    "options.wandb_args": (
        "Параметры загрузки результатов в Weights & Biases (например, project=lm-eval,job_type=eval).",
        "Settings for logging results to Weights & Biases (e.g. project=lm-eval,job_type=eval)."),
    "options.wandb_config_args": (
        "Дополнительные поля конфига запуска в Weights & Biases.",
        "Extra fields of the Weights & Biases run config."),
    "options.trackio_args": (
        "Параметры загрузки результатов в Trackio.",
        "Settings for logging results to Trackio."),
    "options.hf_hub_log_args": (
        "Параметры загрузки результатов на HuggingFace Hub (например, hub_results_org=...,hub_repo_name=...).",
        "Settings for pushing results to the HuggingFace Hub (e.g. hub_results_org=...,hub_repo_name=...)."),
    "options.predict_only": (
        "Только сгенерировать ответы, без подсчёта метрик (метрики заменяются на bypass). Для закрытых тестов "
        "MERA — обязательно; требует --output_path и --log_samples.",
        "Generate answers only, without computing metrics (metrics become bypass). Needed for MERA's closed "
        "tests; requires --output_path and --log_samples."),
    "options.seed": (
        "Зёрна случайности: одно число для всех или четыре через запятую — python, numpy, torch, выбор "
        "фью-шотов (None — не фиксировать), например 1,None,123,0.",
        "Random seeds: one number for all, or four comma-separated — python, numpy, torch, few-shot sampling "
        "(None leaves one unset), e.g. 1,None,123,0."),
    "options.trust_remote_code": (
        "Разрешить исполнение кода из репозиториев моделей и датасетов при загрузке.",
        "Allow running code from model and dataset repositories when they load."),
    "options.confirm_run_unsafe_code": (
        "Подтвердить запуск задач, исполняющих сгенерированный моделью код (например, проверка решений).",
        "Confirm running tasks that execute code the model generated (e.g. code-solution checks)."),
    "options.metadata": (
        "Метаданные, передаваемые в конфиги задач (key=value или JSON); некоторые задачи их требуют.",
        "Metadata passed to the task configs (key=value or JSON); some tasks require it."),
    "options.decontamination_ngrams_path": (
        "Путь к n-граммам для проверки утечки тестовых данных.",
        "Path of n-grams for checking test-set contamination."),
    # -- model args: Transformers (hf), the MERA guide's list first ------------------------------------------------
    "model_args.pretrained": (
        "Модель: репозиторий HuggingFace или локальный путь (Qwen/Qwen2-0.5B-Instruct, ./my_saved_models/qwen). "
        "По её имени называется папка с логами; имя, начинающееся с «.», даст скрытую папку.",
        "The model: a HuggingFace repository or a local path (Qwen/Qwen2-0.5B-Instruct, ./my_saved_models/qwen). "
        "The results folder is named after it; a name starting with '.' gives a hidden folder."),
    "model_args.backend": (
        "Тип модели: causal (AutoModelForCausalLM) или seq2seq (AutoModelForSeq2SeqLM); default — определить по "
        "конфигу.",
        "Model type: causal (AutoModelForCausalLM) or seq2seq (AutoModelForSeq2SeqLM); default detects it from "
        "the config."),
    "model_args.tokenizer": (
        "Токенизатор (репозиторий или путь); если не задан, берётся токенизатор модели.",
        "The tokenizer (repository or path); the model's own one when not given."),
    "model_args.max_length": (
        "Размер контекста для замера; не должен превышать максимальный для модели.",
        "Context length used for the evaluation; must not exceed the model's maximum."),
    "model_args.dtype": (
        "Точность весов модели: bfloat16, float16, float32 или auto.",
        "Precision of the model weights: bfloat16, float16, float32 or auto."),
    "model_args.add_bos_token": (
        "Добавлять специальные токены (не только BOS): включает add_special_tokens=True.",
        "Add special tokens (not only BOS): sets add_special_tokens=True."),
    "model_args.parallelize": (
        "Разрешить accelerate разложить модель по нескольким видеокартам.",
        "Let accelerate spread the model over several GPUs."),
    "model_args.peft": (
        "PEFT-адаптер: репозиторий или локальный путь.",
        "A PEFT adapter: repository or local path."),
    "model_args.delta": (
        "Delta-модель (репозиторий или путь), веса которой добавляются к весам pretrained.",
        "A delta model (repository or path) whose weights are added to pretrained's."),
    "model_args.autogptq": (
        "Загружать модель классом AutoGPTQForCausalLM (true или имя файла весов).",
        "Load the model with AutoGPTQForCausalLM (true or the weights file name)."),
    "model_args.gptqmodel": (
        "Загружать модель классом GPTQModel.",
        "Load the model with GPTQModel."),
    "model_args.attn_implementation": (
        "Реализация внимания при инференсе: обычно не задаётся или flash_attention_2. Передаётся в "
        "from_pretrained.",
        "Attention implementation used for inference: usually unset or flash_attention_2. Passed on to "
        "from_pretrained."),
    "model_args.revision": (
        "Ветка, тег или коммит репозитория модели.",
        "Branch, tag or commit of the model repository."),
    "model_args.subfolder": (
        "Подпапка репозитория, в которой лежит модель.",
        "Sub-folder of the repository that holds the model."),
    "model_args.truncation": (
        "Обрезать слишком длинные запросы (слева) до размера контекста.",
        "Cut over-long requests (from the left) to the context length."),
    "model_args.logits_cache": (
        "Переиспользовать логиты для запросов с общим продолжением (ускоряет multiple_choice).",
        "Reuse logits for requests that share a continuation (speeds up multiple_choice)."),
    "model_args.device": (
        "Устройство модели (cuda, cpu, mps); обычно задаётся флагом --device.",
        "The model's device (cuda, cpu, mps); usually set with --device."),
    "model_args.softmax_dtype": (
        "Точность, в которой считается log-softmax над логитами.",
        "Precision in which log-softmax over the logits is computed."),
    "model_args.mixed_precision_dtype": (
        "Точность autocast при прямом проходе (смешанная точность).",
        "Autocast precision of the forward pass (mixed precision)."),
    "model_args.batch_size": (
        "Размер батча; обычно задаётся флагом --batch_size.",
        "Batch size; usually set with --batch_size."),
    "model_args.max_batch_size": (
        "Наибольший батч для подбора auto; обычно задаётся флагом --max_batch_size.",
        "Largest batch for the auto search; usually set with --max_batch_size."),
    "model_args.trust_remote_code": (
        "Разрешить код из репозитория модели (как флаг --trust_remote_code).",
        "Allow code from the model repository (like the --trust_remote_code flag)."),
    "model_args.use_fast_tokenizer": (
        "Использовать быстрый (Rust) токенизатор.",
        "Use the fast (Rust) tokenizer."),
    "model_args.prefix_token_id": (
        "ID токена, с которого начинается контекст при подсчёте правдоподобия (по умолчанию BOS или EOS).",
        "Token ID that starts the context for log-likelihoods (BOS or EOS by default)."),
    "model_args.max_memory_per_gpu": (
        "Лимит памяти на одну видеокарту при parallelize (например, 40GB).",
        "Memory limit per GPU with parallelize (e.g. 40GB)."),
    "model_args.max_cpu_memory": (
        "Лимит оперативной памяти для выгрузки весов при parallelize.",
        "RAM limit for offloaded weights with parallelize."),
    "model_args.offload_folder": (
        "Папка для выгрузки весов на диск при parallelize.",
        "Folder for weights offloaded to disk with parallelize."),
    "model_args.tp_plan": (
        "План тензорного параллелизма transformers (например, auto).",
        "The transformers tensor-parallel plan (e.g. auto)."),
    "model_args.gguf_file": (
        "Имя gguf-файла в репозитории модели.",
        "Name of the gguf file in the model repository."),
    "model_args.think_end_token": (
        "Токен (или его ID), которым заканчиваются рассуждения модели; текст до него отбрасывается.",
        "Token (or its ID) that ends the model's reasoning; the text before it is dropped."),
    "model_args.enable_thinking": (
        "Включить режим рассуждений в чат-шаблоне (для моделей, которые его поддерживают).",
        "Enable the reasoning mode in the chat template (for models that support it)."),
    "model_args.chat_template_args": (
        "Дополнительные аргументы чат-шаблона (словарь).",
        "Extra arguments of the chat template (a dict)."),
    # -- hf-multimodal --------------------------------------------------------------------------------------------
    "model_args.image_token_id": (
        "ID токена, которым кодируется <image>.",
        "ID of the token that encodes <image>."),
    "model_args.image_string": (
        "Строка, которой изображение обозначено в тексте запроса.",
        "The string that marks an image in the request text."),
    "model_args.interleave": (
        "Вставлять изображения в текст на их места (а не все в начало).",
        "Put images in the text where they occur (rather than all at the start)."),
    "model_args.max_images": (
        "Максимально допустимое для модели количество изображений в одном запросе.",
        "The largest number of images the model accepts in one request."),
    "model_args.convert_img_format": (
        "Конвертировать изображения в RGB (img.convert(\"RGB\")).",
        "Convert images to RGB (img.convert(\"RGB\"))."),
    "model_args.min_pixels": (
        "Наименьшее число пикселей изображения для процессора модели.",
        "Smallest number of image pixels for the model's processor."),
    "model_args.max_pixels": (
        "Наибольшее число пикселей изображения для процессора модели.",
        "Largest number of image pixels for the model's processor."),
    "model_args.image_width": (
        "Ширина, к которой приводятся изображения.",
        "Width images are resized to."),
    "model_args.image_height": (
        "Высота, к которой приводятся изображения.",
        "Height images are resized to."),
    "model_args.image_max_side": (
        "Наибольшая сторона изображения после уменьшения.",
        "Longest image side after downscaling."),
    # -- vLLM -----------------------------------------------------------------------------------------------------
    "model_args.tensor_parallel_size": (
        "Количество видеокарт для тензорного параллелизма инференса.",
        "Number of GPUs for tensor-parallel inference."),
    "model_args.gpu_memory_utilization": (
        "Доля памяти видеокарт(ы) под модель и инференс (например, 0.7). Передаётся в движок vLLM.",
        "Fraction of GPU memory for the model and inference (e.g. 0.7). Passed on to the vLLM engine."),
    "model_args.lora_local_path": (
        "Локальный путь к LoRA-адаптеру.",
        "Local path of a LoRA adapter."),
    "model_args.tokenizer_mode": (
        "Режим токенизатора vLLM: auto (быстрый, если есть) или slow.",
        "vLLM tokenizer mode: auto (fast when available) or slow."),
    "model_args.tokenizer_revision": (
        "Ветка, тег или коммит репозитория токенизатора.",
        "Branch, tag or commit of the tokenizer repository."),
    "model_args.quantization": (
        "Метод квантизации весов в vLLM (awq, gptq, fp8, ...).",
        "vLLM weight quantization method (awq, gptq, fp8, ...)."),
    "model_args.max_gen_toks": (
        "Наибольшее число генерируемых токенов, если задача не задаёт своё.",
        "Largest number of generated tokens when the task does not set one."),
    "model_args.swap_space": (
        "Объём памяти CPU (ГБ) на видеокарту для подкачки кэша vLLM.",
        "CPU swap space (GB) per GPU for the vLLM cache."),
    "model_args.max_model_len": (
        "Размер контекста модели в vLLM (то же, что max_length).",
        "Model context length in vLLM (same as max_length)."),
    "model_args.seed": (
        "Зерно случайности модели.",
        "Random seed of the model."),
    "model_args.data_parallel_size": (
        "Число копий модели для параллельной обработки данных.",
        "Number of model replicas for data-parallel processing."),
    "model_args.max_lora_rank": (
        "Наибольший ранг LoRA-адаптера.",
        "Largest LoRA adapter rank."),
    "model_args.truncation_side": (
        "С какой стороны обрезать слишком длинные запросы: left, right, middle.",
        "Which side of over-long requests to cut: left, right, middle."),
    # -- API backends (local-completions, local-chat-completions, openai-*) -----------------------------------------
    "model_args.model": (
        "Имя модели на сервере (то, что сервер ждёт в поле model запроса).",
        "The model's name on the server (what the server expects in the request's model field)."),
    "model_args.base_url": (
        "URL для запросов, например http://localhost:8000/v1/completions для OpenAI-подобного сервера.",
        "URL requests go to, e.g. http://localhost:8000/v1/completions for an OpenAI-like server."),
    "model_args.tokenizer_backend": (
        "Бэкенд токенизатора: tiktoken — для моделей OpenAI, huggingface — для моделей HuggingFace, None — "
        "в остальных случаях.",
        "Tokenizer backend: tiktoken for OpenAI models, huggingface for HuggingFace models, None otherwise."),
    "model_args.tokenized_requests": (
        "Токенизировать запросы перед отправкой на сервер.",
        "Tokenize requests before sending them to the server."),
    "model_args.num_concurrent": (
        "Количество одновременных запросов. Больше 1 — асинхронный режим с этим лимитом.",
        "Number of simultaneous requests. Above 1 — asynchronous mode with this limit."),
    "model_args.verify_certificate": (
        "Проверять сертификаты сервера (HTTPS).",
        "Verify the server's (HTTPS) certificates."),
    "model_args.ca_cert_path": (
        "Путь к файлу корневого сертификата для проверки сервера.",
        "Path of a CA certificate file to verify the server with."),
    "model_args.auth_token": (
        "Токен авторизации для сервера. Хранится только в памяти ядра и в команде не показывается.",
        "Authorization token for the server. Kept in the kernel's memory only and not shown in the command."),
    "model_args.timeout": (
        "Таймаут ожидания ответа на один запрос, в секундах.",
        "Timeout for one request's answer, in seconds."),
    "model_args.max_retries": (
        "Сколько раз повторить запрос после ошибки.",
        "How many times to retry a request after an error."),
    "model_args.truncate": (
        "Обрезать слишком длинные запросы до max_length.",
        "Cut over-long requests to max_length."),
    "model_args.custom_prefix_token_id": (
        "ID токена, с которого начинается контекст при подсчёте правдоподобия.",
        "Token ID that starts the context for log-likelihoods."),
    "model_args.eos_string": (
        "Строка конца текста, на которой останавливается генерация.",
        "End-of-text string that stops generation."),
    "model_args.header": (
        "Дополнительные HTTP-заголовки запросов (словарь).",
        "Extra HTTP headers of the requests (a dict)."),
    "model_args.write_out": (
        "Выводить запросы, которые получает модель.",
        "Print the requests the model receives."),
    # family refinements
    "model_args.api.pretrained": (
        "То же, что model: имя модели на сервере.",
        "Same as model: the model's name on the server."),
    "model_args.api.tokenizer": (
        "Токенизатор для подсчёта токенов на нашей стороне (репозиторий или путь), если tokenizer_backend="
        "huggingface.",
        "Tokenizer used to count tokens on our side (repository or path), with tokenizer_backend=huggingface."),
    "model_args.api.batch_size": (
        "Сколько запросов отправляется в одном обращении к серверу.",
        "How many requests go in one call to the server."),
    "model_args.api.max_length": (
        "Размер контекста, до которого обрезаются запросы.",
        "Context length requests are cut to."),
    "model_args.api.max_images": (
        "Наибольшее число изображений в одном запросе.",
        "Largest number of images in one request."),
    "model_args.vllm.max_length": (
        "Размер контекста для замера; не должен превышать максимальный для модели.",
        "Context length used for the evaluation; must not exceed the model's maximum."),
    "model_args.vllm.batch_size": (
        "Размер батча; auto отдаёт все запросы движку vLLM сразу.",
        "Batch size; auto hands every request to the vLLM engine at once."),
    # -- the panel's own labels ----------------------------------------------------------------------------------------
    "ui.title": ("Запуск MERA", "MERA run"),
    "ui.tab.model": ("Модель", "Model"),
    "ui.tab.tasks": ("Задачи", "Tasks"),
    "ui.tab.options": ("Параметры", "Options"),
    "ui.tab.env": ("Окружение", "Environment"),
    "ui.backend": ("Бэкенд", "Backend"),
    "ui.advanced": ("Дополнительно", "Advanced"),
    "ui.other_model_args": ("Другие model_args", "Other model_args"),
    "ui.other_model_args.help": (
        "Ключи, которых нет среди параметров бэкенда: key=value через запятую. lm_eval передаст их дальше, "
        "проигнорирует или упадёт — см. проверку рядом.",
        "Keys that are not parameters of the backend: key=value pairs separated by commas. lm_eval passes them "
        "on, ignores them or fails — see the check next to it."),
    "ui.other_env": ("Другие переменные", "Other variables"),
    "ui.launcher": ("Лаунчер", "Launcher"),
    "ui.launcher.help": (
        "Слова перед lm_eval при запуске через лаунчер, например accelerate launch --num_processes 2 (тогда "
        "запуск идёт отдельным процессом).",
        "Words before lm_eval when a launcher starts it, e.g. accelerate launch --num_processes 2 (the run then "
        "goes in a child process)."),
    "ui.command": ("Команда", "Command"),
    "ui.command.help": (
        "Та же настройка текстом: правка поля меняет команду, правка команды — поля.",
        "The same settings as text: editing a field changes the command, editing the command changes the fields."),
    "ui.insert": ("Вставить ячейкой", "Insert as cell"),
    "ui.insert.help": ("Вставить команду новой ячейкой %%mera ниже", "Insert the command as a new %%mera cell below"),
    "ui.inserted": (
        "Команда вставлена ячейкой ниже.",
        "The command was inserted as a cell below."),
    "ui.insert.manual": (
        "Не удалось вставить ячейку в этом интерфейсе: команда скопирована в буфер обмена (если браузер "
        "разрешил) — вставьте её в новую ячейку.",
        "This interface does not let the panel insert a cell: the command was copied to the clipboard (where the "
        "browser allows it) — paste it into a new cell."),
    "ui.run": ("Запустить", "Run"),
    "ui.run.help": ("Запустить оценку; ход и результат — ниже", "Run the evaluation; progress and result below"),
    "ui.run.blocked": (
        "Запуск не начат: сначала исправьте ошибки, отмеченные выше.",
        "Not started: fix the errors marked above first."),
    "ui.default": ("по умолчанию", "default"),
    "ui.not_given": ("не задано", "not given"),
    "ui.required": ("обязательный", "required"),
    "ui.secret.set": ("задан (скрыт)", "set (hidden)"),
    "ui.secret.unset": ("не задан", "not set"),
    "ui.secret.forget": ("Забыть", "Forget"),
    "ui.secret.placeholder": ("ввод, затем Enter", "type, then Enter"),
    "ui.gpus.none": ("Видеокарты NVIDIA не найдены (nvidia-smi).", "No NVIDIA GPU found (nvidia-smi)."),
    "ui.gpus.found": ("Видеокарты на этой машине:", "GPUs on this machine:"),
    "ui.tasks.search": ("Поиск задачи", "Find a task"),
    "ui.tasks.add": ("Добавить", "Add"),
    "ui.tasks.load": ("Загрузить задачи lm_eval", "Load lm_eval's tasks"),
    "ui.tasks.load.help": (
        "Проиндексировать встроенные задачи lm_eval (несколько секунд); задачи из --include_path "
        "индексируются сразу.",
        "Index lm_eval's built-in tasks (a few seconds); tasks in --include_path are indexed right away."),
    "ui.tasks.count": ("Найдено задач: {n}", "Tasks found: {n}"),
    "ui.tasks.unchecked": (
        "Имена задач не проверены: встроенные задачи lm_eval ещё не загружены.",
        "Task names not checked: lm_eval's built-in tasks are not loaded yet."),
    "ui.task.closed": ("закрытый тест", "closed test"),
    "ui.task.twin": ("генеративный вариант {twin}", "generative twin {twin}"),
    "ui.batch.auto": ("auto — подобрать", "auto — search"),
    "ui.chat_template.name": ("имя шаблона (необязательно)", "template name (optional)"),
    "ui.parse_error": ("Команда не разобрана", "The command could not be read"),
    "ui.findings.none": ("Проверка: замечаний нет.", "Check: nothing to report."),
    "ui.findings.summary": ("Проверка: {counts}", "Check: {counts}"),
    "ui.count.error": ("ошибка|ошибки|ошибок", "error|errors"),
    "ui.count.warning": ("предупреждение|предупреждения|предупреждений", "warning|warnings"),
    "ui.count.info": ("заметка|заметки|заметок", "note|notes"),
    "ui.running": ("Идёт запуск…", "Running…"),
    "ui.stop": ("Остановить", "Stop"),
    "ui.stop.help": (
        "Остановить запуск (как кнопка остановки ядра): за несколько секунд, окружение восстанавливается.",
        "Stop the run (like the kernel's stop button): within seconds, the environment is restored."),
    "ui.run.ignored": (
        "Повторное нажатие во время запуска пропущено: запуск уже идёт.",
        "A second click during the run was ignored: the run is already going."),
    "ui.tasks.indexing": (
        "Индексирую задачи lm_eval для проверки имён… {seconds} с",
        "Indexing lm_eval's tasks to check the names… {seconds} s"),
    "ui.tasks.index_failed": ("Индекс задач не построен: {error}", "The task index could not be built: {error}"),
    "ui.record.title": ("Команда панели MERA", "MERA panel command"),
    "ui.record.run": ("Последний запуск из панели: {status}", "Last run from the panel: {status}"),
    "ui.writeback": ("Записать в ячейку", "Write into the cell"),
    "ui.writeback.help": (
        "Панель изменена: записать её команду в эту ячейку %%mera --panel, чтобы повторный запуск её не потерял.",
        "The panel was edited: write its command into this %%mera --panel cell, so re-running the cell keeps it."),
    "ui.writeback.done": ("Команда записана в ячейку.", "The command was written into the cell."),
    "ui.writeback.kept": (
        "Ячейка перезапущена: панель сохранила прежние правки и записала их в ячейку.",
        "The cell was run again: the panel kept its earlier edits and wrote them into the cell."),
    "ui.value.invalid": ("Значение не разобрано: {error}", "Cannot read the value: {error}"),
    "ui.language": ("Язык", "Language"),
    "ui.fallback": (
        "Панель mera-magic (виджеты здесь не отображаются). Команда:",
        "mera-magic panel (widgets do not render here). The command:"),
    # -- what %%mera --dry-run shows around the findings --------------------------------------------------------------
    "dryrun.title": ("Пробный запуск", "Dry run"),
    "dryrun.would-run": ("запуск возможен", "would run"),
    "dryrun.would-not-run": ("запуск невозможен (исправьте ошибки)", "would NOT run (fix the errors)"),
    "dryrun.nothing-run": ("ничего не запускалось", "nothing was run"),
    "dryrun.no-problems": ("замечаний нет", "no problems found"),
    "dryrun.name": ("имя", "name"),
    "dryrun.value": ("значение", "value"),
    "dryrun.meaning": ("что это значит", "meaning"),
    "dryrun.launcher": ("запускается дочерним процессом", "runs as a child process"),
    "dryrun.level.error": ("ошибка", "error"),
    "dryrun.level.warning": ("предупреждение", "warning"),
    "dryrun.level.info": ("к сведению", "info"),
    "dryrun.suite-title": ("Пробный запуск набора MERA", "Dry run of MERA suite"),
    "dryrun.suite-nothing-run": ("Ничего не запускалось.", "Nothing was run."),
    "dryrun.suite-findings": ("Замечания к команде:", "Findings of the command:"),
}

#: every text, ``TEXTS[key][language]``
TEXTS: dict[str, dict[str, str]] = {key: {"ru": ru, "en": en} for key, (ru, en) in _T.items()}

# the pre-flight findings' texts (finding.<code>) live in their own module and are looked up like the rest
from .texts_findings import FINDING_TEXTS  # noqa: E402 - kept next to the table it extends

TEXTS.update({key: {"ru": ru, "en": en} for key, (ru, en) in FINDING_TEXTS.items()})

_DTYPES = ("auto", "bfloat16", "float16", "float32")

#: values offered for a field, as written in the command (a field still accepts any other value)
CHOICES: dict[str, tuple[str, ...]] = {
    "model_args.dtype": _DTYPES,
    "model_args.softmax_dtype": _DTYPES[1:],
    "model_args.mixed_precision_dtype": _DTYPES[1:],
    "model_args.backend": ("default", "causal", "seq2seq"),
    "model_args.tokenizer_backend": ("huggingface", "tiktoken", "None"),
    "model_args.attn_implementation": ("eager", "sdpa", "flash_attention_2"),
    "model_args.tokenizer_mode": ("auto", "slow"),
    "model_args.truncation_side": ("left", "right", "middle"),
    "model_args.quantization": ("awq", "gptq", "fp8", "bitsandbytes"),
    "model_args.device": ("cuda", "cpu", "mps", "xpu"),
    "options.device": ("cuda", "cpu", "mps", "xpu"),
    "options.verbosity": ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"),
    "options.cache_requests": ("true", "refresh", "delete"),
    "options.batch_size": ("auto", "auto:4", "1", "4", "8", "16", "32", "64"),
    "env.TOKENIZERS_PARALLELISM": ("false", "true"),
}

#: model args the MERA guide describes, in its order, per backend family; shown before the others
MODEL_ARG_ORDER: dict[str, tuple[str, ...]] = {
    "hf": ("pretrained", "backend", "tokenizer", "max_length", "dtype", "add_bos_token", "parallelize", "peft",
           "delta", "autogptq", "gptqmodel", "attn_implementation"),
    "hf-multimodal": ("pretrained", "backend", "tokenizer", "max_length", "dtype", "add_bos_token", "parallelize",
                      "image_token_id", "max_images", "convert_img_format", "attn_implementation"),
    "vllm": ("pretrained", "tensor_parallel_size", "gpu_memory_utilization", "tokenizer", "add_bos_token",
             "max_length", "dtype", "lora_local_path"),
    "vllm-vlm": ("pretrained", "tensor_parallel_size", "gpu_memory_utilization", "tokenizer", "add_bos_token",
                 "max_length", "dtype", "lora_local_path", "max_images"),
    "api": ("model", "base_url", "tokenizer_backend", "tokenizer", "tokenized_requests", "num_concurrent", "seed",
            "add_bos_token", "verify_certificate", "timeout", "max_retries", "auth_token"),
}

#: keys the MERA guide uses that a backend's constructor does not name but passes on to the model loader:
#: offered when the backend forwards extra keys and has the marker parameter (``key -> marker``)
FORWARDED_KEYS: dict[str, str] = {
    "attn_implementation": "parallelize",  # HFLM-like: passed to from_pretrained
    "gpu_memory_utilization": "tensor_parallel_size",  # vLLM: passed to the engine
}

#: the backends the panel lists first, in this order (the rest follow alphabetically)
COMMON_BACKENDS = ("hf", "vllm", "hf-multimodal", "vllm-vlm", "local-completions", "local-chat-completions",
                   "openai-completions", "openai-chat-completions")

#: the general lm_eval options the panel shows first, in this order (the rest go under "advanced")
MAIN_OPTIONS = ("num_fewshot", "batch_size", "max_batch_size", "limit", "device", "apply_chat_template",
                "fewshot_as_multiturn", "system_instruction", "gen_kwargs", "output_path", "log_samples",
                "predict_only", "use_cache", "cache_requests", "seed", "verbosity", "trust_remote_code")

#: environment variables the panel always shows, in this order
ENV_VARS = ("CUDA_VISIBLE_DEVICES", "HF_HOME", "HF_DATASETS_CACHE", "HF_DATASETS_IN_MEMORY_MAX_SIZE",
            "TOKENIZERS_PARALLELISM", "HF_TOKEN")


#: model args a backend cannot run without although its constructor gives them a default (the MERA guide
#: documents them as required); constructor parameters without a default are required anyway
REQUIRED_MODEL_ARGS: dict[str, tuple[str, ...]] = {
    "local-completions": ("model", "base_url"),
    "local-chat-completions": ("model", "base_url"),
    "openai-completions": ("model",),
    "openai-chat-completions": ("model",),
    "gguf": ("base_url",),
    "ggml": ("base_url",),
}


def count_words(counts: Mapping[str, int], language: Optional[str] = None) -> str:
    """``1 error, 2 warnings`` (``1 ошибка, 2 предупреждения``): the non-zero counts, each in its plural form."""
    lang = _check_language(language)
    parts = []
    for level in ("error", "warning", "info"):
        n = counts.get(level, 0)
        if not n:
            continue
        forms = text(f"ui.count.{level}", lang).split("|")
        if lang == "ru":
            one, few, many = forms
            form = one if n % 10 == 1 and n % 100 != 11 else few if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14 \
                else many
        else:
            form = forms[0] if n == 1 else forms[1]
        parts.append(f"{n} {form}")
    return ", ".join(parts)


def current_language() -> str:
    """The session's interface language (``%config MeraMagic.language``), ``ru`` or ``en``."""
    from .session import SESSION

    language = str(SESSION.config.language).lower()
    return language if language in LANGUAGES else "en"


def _check_language(language: Optional[str]) -> str:
    language = current_language() if language is None else language.lower()
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {language!r}")
    return language


def text(key: str, language: Optional[str] = None, **fields: object) -> str:
    """The text ``key`` in ``language`` (the session's language when None), with ``{fields}`` filled in.

    Raises KeyError for an unknown key and ValueError for a language other than ``ru``/``en``.
    """
    value = TEXTS[key][_check_language(language)]
    return value.format(**fields) if fields else value


def family(backend: str, arg_names: Iterable[str]) -> Optional[str]:
    """The backend family whose texts and guide order apply: ``hf``, ``vllm``, ``api`` or None."""
    names = set(arg_names)
    if backend in MODEL_ARG_ORDER:
        return "hf" if backend.startswith("hf") else "vllm" if backend.startswith("vllm") else backend
    if "base_url" in names:
        return "api"
    if backend.startswith("vllm") or "tensor_parallel_size" in names:
        return "vllm"
    if "parallelize" in names or "pretrained" in names:
        return "hf"
    return None


def model_arg_key(backend: str, key: str, arg_names: Iterable[str] = ()) -> Optional[str]:
    """The most specific text key for model arg ``key`` of ``backend`` (backend, family, generic), or None."""
    candidates = [f"model_args.{backend}.{key}"]
    fam = family(backend, arg_names)
    if fam:
        candidates.append(f"model_args.{fam}.{key}")
    candidates.append(f"model_args.{key}")
    return next((c for c in candidates if c in TEXTS), None)


def model_arg_help(backend: str, key: str, language: Optional[str] = None, arg_names: Iterable[str] = (),
                   fallback: str = "") -> str:
    """The help text of a model arg, or ``fallback`` when this project has none for it."""
    found = model_arg_key(backend, key, arg_names)
    return text(found, language) if found else fallback


def choices(key: str, extra: Iterable[object] = ()) -> tuple[str, ...]:
    """The values offered for field ``key`` (:data:`CHOICES`), followed by ``extra`` ones not already there."""
    out = list(CHOICES.get(key, ()))
    for value in extra:
        word = str(value)
        if word not in out:
            out.append(word)
    return tuple(out)


def missing(keys: Iterable[str]) -> list[str]:
    """The keys among ``keys`` that have no text (in either language): what a test asks to be written."""
    return [k for k in keys if k not in TEXTS or any(not TEXTS[k].get(lang) for lang in LANGUAGES)]


def as_table(language: Optional[str] = None, prefix: str = "") -> Mapping[str, str]:
    """``{key: text}`` of every text whose key starts with ``prefix`` (for ``%mera help``-like listings)."""
    lang = _check_language(language)
    return {k: v[lang] for k, v in TEXTS.items() if k.startswith(prefix)}
