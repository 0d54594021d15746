#!/usr/bin/env bash
# Install clinqa and its pinned dependencies into ./.venv (idempotent).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
. .venv/bin/activate
# torch first, as the CPU wheel: a bare `torch` requirement would pull a multi-GB CUDA build.
pip install -q "torch==2.13.0"
pip install -q -c requirements.lock -e ".[dev,milvus]"
