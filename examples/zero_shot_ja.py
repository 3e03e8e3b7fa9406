"""Zero-shot Japanese sentiment: a masked LM, a prompt template and a manual verbalizer.

    python examples/zero_shot_ja.py                              # offline, tiny random model
    python examples/zero_shot_ja.py --model cl-tohoku/bert-base-japanese-v3

Without ``--model`` the script builds a tiny *randomly initialised* BertForMaskedLM on the
real cl-tohoku bert-base-japanese vocabulary (MeCab word splitting by fugashi + unidic-lite,
``../shared/models/tokenizers``; else a vocabulary
trained on the sample texts): it shows the API runs, its predictions mean nothing.
The last line printed is ``result: {...}`` (JSON).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import warnings
from pathlib import Path

import mrekv

ROOT = Path(__file__).resolve().parents[1]
TEST = ROOT / "data" / "samples" / "ja-scpos-adj-n.test.jsonl"
VOCAB = ROOT.parent / "shared" / "models" / "tokenizers" / "ja-bert-base-japanese"


def main() -> None:
    # The bert-base-japanese vocabulary asks for the ipadic MeCab dictionary; mrekv falls
    # back to unidic-lite (the `ja` extra) and warns once. Fine for this example.
    warnings.filterwarnings("ignore", message=".*ipadic.*")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="Hub id or folder of a masked LM (default: tiny random)")
    args = parser.parse_args()

    test = mrekv.read_mmm(TEST).read()
    texts = [e.text for e in test]
    labels = [e.text_label for e in test]
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model or mrekv.make_tiny_mlm(
            Path(tmp) / "tiny-ja",
            texts=None if VOCAB.is_dir() else texts,
            tokenizer_from=VOCAB if VOCAB.is_dir() else None,
        )
        clf = mrekv.PromptClassifier(
            model,
            template=mrekv.default_template("ja", "sentiment"),  # {text}この文は{mask}。
            verbalizer={"negative": ["悪い", "最悪"], "positive": ["良い", "最高"]},
            progress=False,
        )
        # Contextualized calibration: divide out the LM's prior over the label words,
        # estimated on unlabeled texts (here the test texts themselves, without labels).
        clf.calibrate(texts)
        predictions = clf.predict(texts)
        probabilities = clf.predict_proba(texts)  # (n, classes), rows sum to 1

    for text, label, proba in list(zip(texts, predictions, probabilities, strict=True))[:3]:
        print(f"{label:>8}  p={max(proba):.2f}  {text}")
    metrics = mrekv.classification_metrics(labels, predictions)
    result = {"n": metrics["n"], "accuracy": metrics["accuracy"], "macro_f1": metrics["macro_f1"]}
    print("result:", json.dumps(result))


if __name__ == "__main__":
    main()
