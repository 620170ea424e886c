"""A run's configuration and environment facts, with secrets masked.

lm_eval copies ``model_args`` into ``config.model_args`` (a dict, or the raw ``k=v,...`` string in 0.4.4) and
into every task config's ``metadata``; an ``auth_token=...`` or an API key given there would be shown and
saved as is.  Everything that leaves this module has the value of every secret-named key
(:func:`mera_magic.secrets.is_secret_name`), and every known or token-shaped secret value, replaced by
:data:`mera_magic.secrets.MASK`, in dicts, in ``k=v`` strings and in command lines.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from ..lmeval.output import model_args_of_text
from ..secrets import mask_data


def mask(value: Any) -> Any:
    """A copy of ``value`` with every secret masked (see :mod:`mera_magic.secrets`)."""
    return mask_data(value)


def config_of(raw: dict[str, Any], spec: Any = None) -> dict[str, Any]:
    """The run's settings: lm_eval's ``config`` plus the run-level options lm_eval records, masked."""
    raw_config = raw.get("config")
    config: dict[str, Any] = dict(raw_config) if isinstance(raw_config, dict) else {}
    if isinstance(config.get("model_args"), str):  # lm_eval <= 0.4.9 records the --model_args text
        config["model_args"] = model_args_of_text(config["model_args"])
    for key in ("system_instruction", "fewshot_as_multiturn", "chat_template_sha"):
        if raw.get(key) is not None:
            config[key] = raw[key]
    config["apply_chat_template"] = bool(raw.get("chat_template"))
    if isinstance(raw.get("n-shot"), dict) and raw["n-shot"]:
        config["n_shot"] = dict(raw["n-shot"])
    if spec is not None:
        try:
            config["command"] = spec.to_command()
        except Exception:  # a spec the renderer cannot print still has its fields
            masked = spec.masked()
            config["command"] = f"{masked.model} {masked.model_args} {masked.tasks} {masked.options}"
    return mask(config)


def _iso(value: Any) -> str | None:
    if value in (None, ""):
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(float(value), tz=timezone.utc).isoformat(timespec="seconds")
    return str(value)


def _seconds(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def env_of(raw: dict[str, Any], *, elapsed: float | None = None) -> dict[str, Any]:
    """Environment facts: versions, git hash, date, total time, chat template used or not."""
    config: dict[str, Any] = raw["config"] if isinstance(raw.get("config"), dict) else {}
    total = elapsed if elapsed is not None else _seconds(raw.get("total_evaluation_time_seconds"))
    env = {
        "lm_eval_version": raw.get("lm_eval_version"),
        "transformers_version": raw.get("transformers_version"),
        "git_hash": raw.get("git_hash"),
        "upper_git_hash": raw.get("upper_git_hash"),
        "date": _iso(raw.get("date")),
        "total_time_s": total,
        "chat_template": bool(raw.get("chat_template")),
        "model_source": raw.get("model_source") or config.get("model"),
        "model_num_parameters": config.get("model_num_parameters"),
        "model_dtype": config.get("model_dtype"),
        "model_revision": config.get("model_revision"),
        "model_sha": config.get("model_sha") or None,
        "max_length": raw.get("max_length"),
        "pretty_env_info": raw.get("pretty_env_info"),
    }
    return {k: v for k, v in mask(env).items() if v is not None}


