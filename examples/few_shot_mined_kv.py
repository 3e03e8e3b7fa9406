"""Few-shot classification with a knowledgeable verbalizer mined from word-level labels.

    python examples/few_shot_mined_kv.py                              # offline, tiny random model
    python examples/few_shot_mined_kv.py --model bert-base-uncased --shots 8

The no-leakage protocol in full: the MMM sample records become a corpus, split into a
knowledge part (label words are mined ONLY from its word-level labels), k-shot train and
dev sets, and the test set, all disjoint. The mined words are filtered by the masked LM's
vocabulary, saved in mrekv's JSON and OpenPrompt/KPT's txt format, then drive a
``KnowledgeableVerbalizer``: calibrated zero-shot, then prompt-tuned on the k shots.

Without ``--model`` the masked LM is a tiny *random* BERT on the real bert-base-uncased
vocabulary: the numbers show the pipeline runs, nothing about accuracy. The last line
printed is ``result: {...}`` (JSON).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import mrekv

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples"
VOCAB = ROOT.parent / "shared" / "models" / "tokenizers" / "en-bert-base-uncased"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="Hub id or folder of a masked LM (default: tiny random)")
    parser.add_argument("--shots", type=int, default=4, help="training examples per class")
    parser.add_argument("--method", default="chi2", help="frequency (WLI-KV), tfidf, pmi, chi2")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    train = mrekv.read_mmm(SAMPLES / "en-scpos-adj-n.train.jsonl").read()
    test = mrekv.read_mmm(SAMPLES / "en-scpos-adj-n.test.jsonl").read()
    corpus = mrekv.Corpus.from_examples(
        train + test,
        "en-sample",
        "en",
        splits={"train": range(len(train)), "test": range(len(train), len(train) + len(test))},
    )
    split = mrekv.few_shot_split(corpus, k=args.shots, seed=args.seed, knowledge_fraction=0.5)
    examples = corpus.to_examples()
    knowledge = [examples[i] for i in split.knowledge]
    assert not set(split.knowledge) & (set(split.train) | set(split.dev) | set(split.test))

    def texts_labels(indices: tuple[int, ...]) -> tuple[list[str], list[str]]:
        return [corpus.texts[i] for i in indices], [corpus.labels[i] for i in indices]

    train_texts, train_labels = texts_labels(split.train)
    dev_texts, dev_labels = texts_labels(split.dev)
    test_texts, test_labels = texts_labels(split.test)

    # 1. mine label words from the knowledge split's word-level labels
    words = mrekv.mine_label_words(
        knowledge, method=args.method, top_k=50, lang="en", split_name="knowledge"
    )
    print("mined, best first:", {c: [w.word for w in words.words[c][:5]] for c in words.classes})

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        model = args.model or mrekv.make_tiny_mlm(
            tmp_path / "tiny-en",
            texts=None if VOCAB.is_dir() else corpus.texts,
            tokenizer_from=VOCAB if VOCAB.is_dir() else None,
        )
        # 2. keep the words the masked LM can predict at one [MASK], and save them
        _, tokenizer = mrekv.load_masked_lm(model)
        words, report = mrekv.filter_by_vocab(words, tokenizer)
        print("kept per class:", report.kept_counts(), "dropped:", report.dropped_counts())
        mrekv.write_label_words(tmp_path / "kv.json", words)  # mrekv JSON (scores, provenance)
        mrekv.write_label_words(tmp_path / "kv.txt", words)  # OpenPrompt / KPT knowledge file
        assert mrekv.read_label_words(tmp_path / "kv.json").as_lists() == words.as_lists()

        # 3. zero-shot with contextualized calibration, then few-shot prompt-tuning
        clf = mrekv.PromptClassifier(
            model,
            template="{text} It was {mask}.",
            verbalizer=mrekv.KnowledgeableVerbalizer(words),
            epochs=3,
            learning_rate=1e-3,
            batch_size=4,
            seed=args.seed,
            progress=False,
        )
        clf.calibrate([e.text for e in knowledge])  # unlabeled texts: the knowledge split's
        zero_shot = clf.score(test_texts, test_labels)
        clf.fit(train_texts, train_labels, dev_texts=dev_texts, dev_labels=dev_labels)
        predictions = clf.predict(test_texts)
        kept = clf.verbalizer_.words_kept()

    metrics = mrekv.classification_metrics(test_labels, predictions)
    result = {
        "n": metrics["n"],
        "zero_shot_accuracy": zero_shot,
        "accuracy": metrics["accuracy"],
        "macro_f1": metrics["macro_f1"],
        "train": len(train_texts),
        "words_kept": kept,
    }
    print("result:", json.dumps(result))


if __name__ == "__main__":
    main()
