#!/usr/bin/env bash
# The main job end to end on the project's own sample data (data/samples), through the CLI:
# word tokenizers -> label-word mining -> model-free probe -> prompt-tuning with the mined
# knowledgeable verbalizer -> save / evaluate / predict -> the quick verbalizer comparison
# and its report.
#
# No pretrained masked-LM weights exist on this machine, so the demo builds a tiny RANDOM
# masked LM: every number it prints shows that the pipeline runs, not how well a method works.
set -euo pipefail
cd "$(dirname "$0")/.."
MREKV=${MREKV:-.venv/bin/mrekv}
OUT=${OUT:-runs/demo}
S=data/samples
mkdir -p "$OUT"

echo "== 1. word tokenizers (surface/UPOS)"
"$MREKV" tokenize --lang en "The pasta was delicious but the waiter was rude."
"$MREKV" tokenize --lang ja "美味しいラーメンを食べたが、店員は失礼だった。"
"$MREKV" tokenize --lang zh "这家酒店的服务很好，但是房间太小。"

echo "== 2. mine label words from the word-level labels of a knowledge split"
# The knowledge split (first 22 train records) is disjoint from the few-shot training
# records (the rest) and from the test file: no leakage.
head -n 22 "$S/en-scpos-adj-n.train.jsonl" > "$OUT/knowledge.jsonl"
tail -n +23 "$S/en-scpos-adj-n.train.jsonl" > "$OUT/fewshot.jsonl"
"$MREKV" mine --input "$OUT/knowledge.jsonl" --method frequency --top-k 100 --out "$OUT/kv-frequency.json"
"$MREKV" mine --input "$OUT/knowledge.jsonl" --method chi2 --top-k 100 --out "$OUT/kv-chi2.json"
"$MREKV" mine --input "$OUT/knowledge.jsonl" --method frequency --format kpt --out "$OUT/kv-frequency.txt"
echo "   OpenPrompt/KPT knowledge file:"; cat "$OUT/kv-frequency.txt"

echo "== 3. model-free probe of each verbalizer on the test file"
for kv in frequency chi2; do
  echo "   $kv:"; "$MREKV" probe --input "$S/en-scpos-adj-n.test.jsonl" --label-words "$OUT/kv-$kv.json"
done

echo "== 4. a tiny random masked LM (vocabulary trained on the sample texts)"
"$MREKV" tiny-model --texts "$S"/en-*.jsonl --out "$OUT/tiny-en"

echo "== 5. prompt-tune it with the mined knowledgeable verbalizer, save, evaluate, predict"
"$MREKV" train --model "$OUT/tiny-en" --label-words "$OUT/kv-chi2.json" --lang en \
  --train "$OUT/fewshot.jsonl" --calibrate "$OUT/knowledge.jsonl" \
  --epochs 3 --learning-rate 1e-3 --batch-size 8 --out "$OUT/prompt-en"
"$MREKV" evaluate --model-dir "$OUT/prompt-en" --input "$S/en-scpos-adj-n.test.jsonl"
"$MREKV" predict --model-dir "$OUT/prompt-en" --input "$S/en-scpos-adj-n.test.jsonl" --out "$OUT/predictions.jsonl"
head -n 2 "$OUT/predictions.jsonl"

echo "== 6. compare verbalizers and fine-tuning (en/ja/zh samples), then the report"
"$MREKV" experiment run experiments/quick.toml --quiet
"$MREKV" experiment report runs/quick.jsonl
echo "demo finished: see $OUT and runs/quick-report/report.md"
