#!/usr/bin/env bash
# Evaluation on real data, one command: regenerates eval/RESULTS.md and eval/reports/<set>/.
#
#   bash scripts/eval_all.sh            (run from anywhere; ~10-20 min on 2 CPU cores)
#
# 1. builds the eval index var/eval_index = corpus/ minus eval/gold/holdout_doc_ids.txt, starting
#    from a copy of the built default index (var/index, when present) so nothing is re-embedded;
# 2. compares bm25, dense, hybrid, clinqa and vanilla LangChain RAG on seed.test, pubmedqa.test
#    (answers stripped: PubMedQA answers are yes/no/maybe labels) and covidqa.test;
# 3. scores the leave-gold-out files (pubmedqa/covidqa .holdout.test) with clinqa only;
# 4. sweeps the abstention threshold (abstention.md/.png per set: abstain_recall vs false_abstain);
# 5. writes eval/reports/<set>/{compare.json,compare.md,*.png} and regenerates eval/RESULTS.md.
# Environment: EVAL_INDEX (default var/eval_index), BASE_INDEX (default var/index).
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
PY=.venv/bin/python
EVAL_INDEX=${EVAL_INDEX:-var/eval_index}
BASE_INDEX=${BASE_INDEX:-var/index}
GOLD=eval/gold
REPORTS=eval/reports
start=$SECONDS
stage() { echo "== [$((SECONDS - start))s] $*"; }

stage "eval index $EVAL_INDEX (corpus minus $(wc -l < $GOLD/holdout_doc_ids.txt) holdout docs)"
base_args=()
if [ -f "$BASE_INDEX/CURRENT" ]; then base_args=(--base "$BASE_INDEX"); fi
$PY -m eval.results_md build-index --index "$EVAL_INDEX" --corpus corpus \
  --exclude $GOLD/holdout_doc_ids.txt "${base_args[@]}"

stage "compare: seed.test, pubmedqa.test, covidqa.test (5 systems)"
$PY -m eval.results_md compare --index "$EVAL_INDEX" --out $REPORTS \
  --gold $GOLD/seed.test.jsonl --gold $GOLD/pubmedqa.test.jsonl --gold $GOLD/covidqa.test.jsonl \
  --no-answers-for pubmedqa

stage "holdout (clinqa only): pubmedqa.holdout.test, covidqa.holdout.test"
$PY -m eval.results_md compare --index "$EVAL_INDEX" --out $REPORTS --systems clinqa \
  --gold $GOLD/pubmedqa.holdout.test.jsonl --gold $GOLD/covidqa.holdout.test.jsonl \
  --no-answers-for pubmedqa

stage "abstention curves (threshold off, then swept): seed.test, pubmedqa and covidqa test + holdout"
$PY -m eval.results_md curve --index "$EVAL_INDEX" --out $REPORTS --no-answers-for pubmedqa \
  --gold $GOLD/seed.test.jsonl \
  --gold $GOLD/pubmedqa.test.jsonl+$GOLD/pubmedqa.holdout.test.jsonl \
  --gold $GOLD/covidqa.test.jsonl+$GOLD/covidqa.holdout.test.jsonl

stage "eval/RESULTS.md"
$PY -m eval.results_md results --reports $REPORTS --index "$EVAL_INDEX" --out eval/RESULTS.md
stage "done"
