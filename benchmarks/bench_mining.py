"""Benchmark: label-word mining time on 100k real sentences per language.

For each language it builds ``--n`` (default 100,000) sentences from the real
corpora in ``../shared/datasets`` (sentence-split, de-duplicated; repeated
cyclically if a language has fewer unique sentences, which is printed), then times:

* ``tokenize``: the language's word tokenizer on all sentences (``tokenize_batch``);
* ``text/<method>``: :func:`mine_label_words` with ``source="text"``, end to end
  (tokenization included, with a fresh tokenizer so its word caches start cold);
* ``labels/<method>``: mining from word labels (each sentence's nouns, proper nouns
  and adjectives, found once beforehand, as the MRE SCPOS word labels are built).

Run: ``.venv/bin/python benchmarks/bench_mining.py [--n 100000] [--langs en ja zh]
[--text-methods frequency]`` or ``pytest benchmarks/bench_mining.py -m benchmark -s``.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
os.environ.setdefault("NLTK_DATA", str(SHARED / "nltk_data"))
os.environ.setdefault("MREKV_DATASETS", str(SHARED / "datasets"))

from mrekv.data.example import MREExample, TaskWord  # noqa: E402
from mrekv.verbalizer.mining import METHODS, mine_label_words  # noqa: E402

GOAL_S = 10.0
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s*|\n+")
#: corpora read through mrekv's readers, per language (labels prefixed by the corpus name).
CORPORA = {
    "en": ("amazon", "agnews", "sst2", "sst5", "mr", "cr", "subj", "mpqa", "trec"),
    "ja": ("chabsa", "ner-wikipedia"),
    "zh": ("online-shopping-10cats", "chnsenticorp", "thucnews-titles", "iflytek"),
}


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if len(s.strip()) >= 5]


def _livedoor_full(folder: Path) -> list[tuple[str, str]]:
    """Whole livedoor articles (title and body), which mrekv's reader shortens."""
    out = []
    for category in sorted(p for p in (folder / "text").iterdir() if p.is_dir()):
        for path in sorted(category.glob(f"{category.name}-*.txt")):
            lines = path.read_text(encoding="utf-8").splitlines()[2:]
            out.extend((s, category.name) for line in lines for s in _sentences(line))
    return out


def build_sentences(lang: str, n: int) -> tuple[list[str], list[str], int]:
    """``n`` labelled sentences of ``lang`` and how many of them are unique."""
    from mrekv.data.corpora import load_corpus

    pairs: list[tuple[str, str]] = []
    if lang == "ja":
        pairs.extend(_livedoor_full(SHARED / "datasets" / "ja-livedoor-news"))
    for name in CORPORA[lang]:
        corpus = load_corpus(name)
        for text, label in zip(corpus.texts, corpus.labels, strict=True):
            pairs.extend((s, f"{name}:{label}") for s in _sentences(text))
    seen: dict[str, str] = {}
    for sentence, label in pairs:
        seen.setdefault(sentence, label)
    unique = list(seen.items())
    random.Random(0).shuffle(unique)  # every class, not the first corpus only
    picked = [unique[i % len(unique)] for i in range(n)]
    return [s for s, _ in picked], [label for _, label in picked], min(len(unique), n)


def run(
    langs: Sequence[str],
    n: int,
    text_methods: Sequence[str],
    tokenizer_options: dict[str, dict[str, Any]] | None = None,
) -> list[tuple[str, str, float]]:
    """Time tokenization and mining; print one line per measurement and return them."""
    from mrekv.tokenizers import tokenizer_class

    rows: list[tuple[str, str, float]] = []

    def record(lang: str, what: str, seconds: float) -> None:
        rows.append((lang, what, seconds))
        flag = "" if seconds <= GOAL_S or what == "tokenize" else "  (over the 10 s goal)"
        print(f"{lang}  {what:<16} {seconds:8.2f} s{flag}", flush=True)

    for lang in langs:
        texts, labels, unique = build_sentences(lang, n)
        note = "" if unique == n else f" ({unique} unique, repeated to {n})"
        print(f"{lang}: {n} sentences, {len(set(labels))} classes{note}", flush=True)
        options = (tokenizer_options or {}).get(lang, {})
        tok = tokenizer_class(lang)(**options)
        tok.tokenize_batch(texts[:100])  # load dictionaries / models outside the timing
        start = time.perf_counter()
        tokens = tok.tokenize_batch(texts)
        record(lang, "tokenize", time.perf_counter() - start)

        examples = [MREExample(t, y, lang=lang) for t, y in zip(texts, labels, strict=True)]
        for method in text_methods:
            fresh = tokenizer_class(lang)(**options)  # cold word caches, as a user's first call
            fresh.tokenize_batch(texts[-100:])
            start = time.perf_counter()
            mine_label_words(examples, method, 100, source="text", tokenizer=fresh)
            record(lang, f"text/{method}", time.perf_counter() - start)

        content = ("NOUN", "PROPN", "ADJ")
        labelled = [
            MREExample(
                t, y, TaskWord.SENTIMENT_ADJ_AND_N,
                word_labels=tuple((k.upos, k.surface) for k in toks if k.upos in content),
                lang=lang,
            )
            for t, y, toks in zip(texts, labels, tokens, strict=True)
        ]
        for method in METHODS:
            start = time.perf_counter()
            mine_label_words(labelled, method, 100)
            record(lang, f"labels/{method}", time.perf_counter() - start)
    return rows


@pytest.mark.benchmark
def test_mining_speed_100k() -> None:
    if not (SHARED / "datasets").is_dir():
        pytest.skip("../shared/datasets is missing")
    rows = run(("en", "ja", "zh"), 100_000, ("frequency",))
    slow = [(lang, what, s) for lang, what, s in rows if what.startswith("labels/") and s > GOAL_S]
    assert not slow, f"mining from word labels over {GOAL_S} s: {slow}"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--langs", nargs="+", default=["en", "ja", "zh"])
    parser.add_argument("--text-methods", nargs="*", default=["frequency"], choices=METHODS)
    parser.add_argument("--zh-backend", default=None, help="jieba or rjieba")
    args = parser.parse_args(argv)
    options = {"zh": {"backend": args.zh_backend}} if args.zh_backend else None
    run(args.langs, args.n, args.text_methods, options)


if __name__ == "__main__":
    main()
