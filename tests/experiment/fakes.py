"""Stand-ins for the pieces a runner test does not exercise (MMM reader, probe).

``install()`` patches :mod:`mrekv.experiment.methods` so the runner's own logic
(planning, resuming, crash safety, leakage checks, records) can be tested fast and
independently of the other modules. Test data files use a trivial JSON Lines form:
``{"text": ..., "label": ..., "words": [...]}``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from mrekv.data.example import MREExample, TaskWord

#: Seconds each fake probe cell sleeps (lets a test kill the runner between cells).
CELL_SECONDS = 0.0


def read_simple(path: Path, lang: str | None) -> list[MREExample]:
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            r = json.loads(line)
            out.append(MREExample(r["text"], r["label"], TaskWord.SENTIMENT_ADJ_AND_N,
                                  tuple((r["label"], w) for w in r.get("words", ())), lang=lang))
    return out


def fake_probe(label_words, data):
    """Accuracy = share of test texts that contain a label word of their own class."""
    from mrekv.experiment.methods import CellOutcome

    time.sleep(CELL_SECONDS)
    test = data.corpus.split("test")
    hits = 0
    for text, label in zip(test.texts, test.labels, strict=True):
        words = [w.word for w in label_words.words[label]]
        hits += any(w.lower() in text.lower() for w in words)
    acc = hits / len(test.texts)
    return CellOutcome({"accuracy": acc, "macro_f1": acc, "coverage": acc,
                        "n_test": len(test.texts)}, label_words.counts(), {"predict_s": 0.0})


def fake_mine(examples, method, top_k, *, classes, **_):
    """Most frequent word-label spans per class (ties: alphabetical)."""
    from collections import Counter

    from mrekv.verbalizer.label_words import LabelWords

    lists = []
    for c in classes:
        counts = Counter(w for e in examples if e.text_label == c for w in e.words)
        lists.append([w for w, _ in sorted(counts.items(), key=lambda x: (-x[1], x[0]))][:top_k]
                     or [c])
    return LabelWords.from_lists(classes, lists, {"method": method})


def install(cell_seconds: float = 0.0) -> None:
    global CELL_SECONDS
    import mrekv.experiment.datasets as datasets
    import mrekv.experiment.methods as methods


    CELL_SECONDS = cell_seconds
    datasets._read_mmm = read_simple
    methods.run_probe = fake_probe



POS = ["great", "good", "lovely", "tasty", "fine", "superb"]
NEG = ["bad", "awful", "bland", "rude", "poor", "dirty"]


def write_data(folder: Path, n_train: int = 40, n_test: int = 12) -> dict[str, Path]:
    """Write train/test files: class c's texts contain one of its words plus an index."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for split, n, offset in (("train", n_train, 0), ("test", n_test, 1000)):
        rows = []
        for i in range(n):
            label = "positive" if i % 2 == 0 else "negative"
            word = (POS if label == "positive" else NEG)[i % 6]
            rows.append({"text": f"item {offset + i} was {word}", "label": label,
                         "words": [word]})
        path = folder / f"{split}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        paths[split] = path
    return paths
