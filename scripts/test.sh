#!/usr/bin/env bash
# The README's test command: install everything on a fresh machine, then lint, type-check and run
# the whole suite (including the full default-corpus build and the eval gates). Prints stage times.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False ORT_DISABLE_TELEMETRY=1 HF_HUB_DISABLE_TELEMETRY=1
stage_start=$SECONDS
stage() { echo "== [$((SECONDS - stage_start))s] $*"; }

stage "system packages (chromium for the browser tests)"
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "chromium missing and not root: browser tests will fail" >&2
  fi
fi

stage "python packages"
bash scripts/install.sh
. .venv/bin/activate

stage "ruff"
ruff check .
stage "mypy"
mypy

stage "pytest (fast tier + full build + eval gates + browser)"
set +e
pytest -m "not extended" -q -p no:cacheprovider "$@"
rc=$?
set -e
stage "done (pytest exit $rc)"
# pytest exits 5 when it collected no tests: that is a failure here.
exit $rc
