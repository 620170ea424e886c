"""The run panel: an ipywidgets form and the exact ``%%mera`` command, two views of one RunSpec.

::

    import mera_magic.widgets
    p = mera_magic.widgets.panel("lm_eval --model hf --model_args pretrained=x --tasks rummlu")
    p            # the form: Model / Tasks / Options / Environment tabs, the command below
    p.spec       # the RunSpec it shows now
    p.command    # its command text (HF_TOKEN as $HF_TOKEN, API keys masked)

- **Model**: the backends of the installed lm_eval (the MERA ones first) and, for the chosen one, its
  ``--model_args`` as fields built from the backend's own constructor; the MERA guide's arguments first, the
  rest under "Advanced".
- **Tasks**: ``--tasks``, ``--include_path`` and a searchable list of the task index (MERA tasks annotated).
- **Options**: every flag of the installed lm_eval, the general ones first.
- **Environment**: ``CUDA_VISIBLE_DEVICES`` (with the GPUs found on the machine), the HuggingFace variables,
  ``TOKENIZERS_PARALLELISM``; ``HF_TOKEN`` is a password input whose value goes to ``SESSION.secrets``.

Each field shows its help text (Russian or English: ``%config MeraMagic.language``, or the toggle) and the
check's findings about it, live.  Editing the command text re-reads it into the fields.  "Insert as cell" puts
the command into a new ``%%mera`` cell; "Run" runs it with ``mera_magic.run`` below the panel.  Where widgets
cannot render (nbconvert, GitHub) the panel shows the command and the findings as text.
"""

from __future__ import annotations

from ._gpus import Gpu, detect_gpus
from ._panel import Panel, panel

__all__ = ["Gpu", "Panel", "detect_gpus", "panel"]
