#!/usr/bin/env bash
# Create (or reuse) the environment that runs `--model vllm-vlm` on a CPU: scripts/vllm-env.sh's vLLM CPU build
# with what lm_eval's vllm_vlms backend and vLLM's vision models need besides (measured, see README.md):
#  - ray and pillow (lm_eval/models/vllm_vlms.py imports ray at the top), through VLLM_ENV_EXTRA;
#  - torchvision: vLLM's LLaVA/Qwen2-VL code imports its transforms.  PyPI's torchvision is a CUDA build whose C++
#    ops do not load with the CPU torch (vllm-env.sh removes it for that reason); it is installed again without
#    dependencies, with scripts/torchvision_cpu_shim.py imported at start-up (a .pth line) so it imports.
# Its own folder, since vllm-env.sh makes a fresh install for a different extra.
#   VENV=.venv-vllm-vlm (default)   TORCHVISION_VERSION=0.28.0 (default: the release for torch 2.13.0)
# Prints the venv's folder on its last line.  Used by .ci/run for tests/integration/test_notebooks_vllm.py.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv-vllm-vlm}"
TORCHVISION_VERSION="${TORCHVISION_VERSION:-0.28.0}"
VENV="$VENV" VLLM_ENV_EXTRA="ray pillow" bash scripts/vllm-env.sh >&2
py="$VENV/bin/python"
"$py" -m pip install -q --no-deps "torchvision==$TORCHVISION_VERSION" >&2
site=$("$py" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
cp scripts/torchvision_cpu_shim.py "$site/mera_torchvision_cpu_shim.py"
echo "import mera_torchvision_cpu_shim" > "$site/mera_torchvision_cpu_shim.pth"
"$py" -c "import ray, torchvision.transforms.v2, vllm, lm_eval.models.vllm_vlms; print('vllm-vlm environment ready')" >&2
echo "$VENV"
