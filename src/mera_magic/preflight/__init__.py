"""Pre-flight checks: what would fail only after seconds of loading, found in well under a second.

Each module checks one thing a run needs from outside the command, and imports nothing heavy (no torch, no
transformers, no lm_eval backend module):

- :mod:`.packages`: the packages the backend (and its model_args) needs, with the install that provides each;
- :mod:`.models`: every model reference (a local folder, the hub cache the run reads, or the hub: :mod:`.hub`);
- :mod:`.servers`: an API backend's server (down, wrong path, model not served);
- :mod:`.devices`: the GPUs asked for against the GPUs the machine has;
- :mod:`.args`, :mod:`.shell`, :mod:`.mera`: missing required model_args and forwarded keys, the shell text,
  MERA's task folders (called from :mod:`mera_magic.checks` where it looks at those parts).

Their texts are in :mod:`mera_magic.texts_findings` (Russian and English).  Answers from the outside world (the
hub, the GPU inventory) are remembered in the session (``SESSION.probes``), so a warm kernel does not ask again.
"""

from __future__ import annotations

from ..findings import Finding
from ..spec import RunSpec

__all__ = ["preflight"]


def preflight(spec: RunSpec) -> list[Finding]:
    """The findings of the pre-flight modules for ``spec`` (packages, models, servers, devices)."""
    from ..session import SESSION
    from .devices import check_devices
    from .models import check_models
    from .packages import check_packages
    from .servers import check_server

    found = list(check_packages(spec))
    found += check_models(spec, SESSION.probes)
    found += check_server(spec, SESSION.probes)
    found += check_devices(spec, SESSION.probes)
    return found
