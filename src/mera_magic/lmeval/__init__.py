"""The one boundary with the installed lm_eval.

Everything in mera-magic that imports lm_eval, reads its source, patches it for a run or reads the files it
writes lives in this package; the rest of the code asks it.  A new lm_eval release or a MERA fork is one place
to change:

- :mod:`.install`: where lm_eval is, its version, and :func:`capabilities` (what this installation can do);
- :mod:`.source`: pure functions compiled from its source (old versions import torch on ``import lm_eval``);
- :mod:`.parser`: its own ``run`` argument parser (argv <-> namespace, options and their kinds);
- :mod:`.backends`: its model backends and their ``model_args``, read from source;
- :mod:`.tasks`: its task index (``TaskManager``), cached per include path;
- :mod:`.hooks`: the run-time hooks a run installs (results capture, task index, model reuse, progress, the API
  backends' requests via :mod:`.api_requests`), each verified to have fired and all restored however the run
  ends, and lm_eval's once-per-process logging setup;
- :mod:`.output`: the one reader of the folders it writes (runs, results files, samples files);
- :mod:`.child_main`: a child process's ``lm_eval`` (secrets from the environment, the writers' hooks);
- :mod:`.compat`: what this installation cannot load in a MERA task folder (fork-only keys, ...), and the fix;
- :mod:`.requirements`: which package each backend needs and the install that provides it, from its own source.
"""

from __future__ import annotations

from .install import Capabilities, capabilities, lm_eval_dir, lm_eval_version, version_tuple

__all__ = ["Capabilities", "capabilities", "lm_eval_dir", "lm_eval_version", "version_tuple"]
