#!/usr/bin/env bash
# The README's main command: install everything, build the index from corpus/ if missing, start
# the web app on http://127.0.0.1:7860 (extra arguments go to `clinqa serve`).
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False ORT_DISABLE_TELEMETRY=1 HF_HUB_DISABLE_TELEMETRY=1
bash scripts/install.sh
exec .venv/bin/clinqa serve "$@"
