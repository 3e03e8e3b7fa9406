#!/usr/bin/env bash
# The real-model suite in two resumable phases (first-token cells of every dataset, then the
# slower exact-scoring cells). Rerun to resume; results: experiments/results/real-lm.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."
export NLTK_DATA="${NLTK_DATA:-$(cd .. && pwd)/shared/nltk_data}"
export MREKV_DATASETS="${MREKV_DATASETS:-$(cd .. && pwd)/shared/datasets}"
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
PY="${PY:-.venv/bin/python}"
FIRST="lm:manual,lm:manual+calib,lm:kpt,lm:kpt+calib,lm:mre-frequency,lm:mre-frequency+calib,lm:mre-best,lm:mre-best+calib"
"$PY" - "$FIRST" "$@" <<'PY'
import sys, time
from mrekv.experiment.runner import run_experiment
first = sys.argv[1].split(",")
shard = None
if len(sys.argv) > 2:
    i, n = sys.argv[2].split("/")
    shard = (int(i), int(n))
start = time.time()
run_experiment("experiments/real-lm.toml", methods=first, shard=shard, progress=True)
print(f"phase 1 (first-token cells) done in {time.time() - start:.0f} s", flush=True)
run_experiment("experiments/real-lm.toml", shard=shard, progress=True)
print(f"all cells done in {time.time() - start:.0f} s", flush=True)
PY
