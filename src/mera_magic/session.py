"""The one piece of mutable state: a :class:`Session` per kernel (config, secrets, task indexes, held models).

Tests reset it with ``SESSION.reset()``; nothing else in the package keeps global state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Config:
    """User settings, also reachable as ``%config MeraMagic.<name>``."""

    #: interface language of panels and messages that have both: "ru" or "en"
    language: str = "ru"


@dataclass
class Session:
    """What a kernel keeps between cells."""

    config: Config = field(default_factory=Config)
    #: secrets entered through ``%mera secret NAME`` (never in os.environ, the namespace or outputs)
    secrets: dict[str, str] = field(default_factory=dict)
    #: every secret value seen this session (see mera_magic.secrets): masked in everything shown or written
    secret_values: set[str] = field(default_factory=set)
    #: task indexes, keyed by (include_path, include_defaults)
    task_indexes: dict[tuple[str | None, bool], Any] = field(default_factory=dict)
    #: loaded models held for reuse (see mera_magic.runner.models)
    models: Any = None
    #: CUDA_VISIBLE_DEVICES when a run of this kernel started CUDA ("*" for all GPUs); None while CUDA is unused
    cuda_devices: str | None = None
    #: what the pre-flight checks asked the outside world (hub answers, the GPU inventory), with the time asked
    probes: dict[Any, Any] = field(default_factory=dict)
    #: vLLM servers started by ``%mera serve``, by served model name (see mera_magic.serve)
    servers: dict[str, Any] = field(default_factory=dict)

    def reset(self) -> None:
        """Forget everything (frees held models and stops servers first)."""
        if self.models is not None:
            self.models.free()
        for server in self.servers.values():
            server.stop()
        self.__init__()  # type: ignore[misc]


SESSION = Session()
