"""Throughput of mrekv's word tokenizers against calling the wrapped libraries directly.

Run: ``python benchmarks/bench_tokenizers.py [--n 10000] [--rounds 3] [--langs en ja zh]``
(with ``NLTK_DATA`` pointing at the NLTK data, and the corpora in
``$MREKV_DATASETS`` or ``../shared/datasets``).

Every contender tokenizes the same N real sentences per language. Each round
runs every contender once, in an order rotated from round to round; the table
shows the best round (the least disturbed by other processes) and the ratio
wrapper / direct call, where the direct call does what the wrapper does minus
the mrekv layer. The wrappers' caches (tokens, and the zh rjieba backend's HMM
cuts) are emptied before every timed run, so repeating the same texts does not
flatter them; they refill during the run as they would on any corpus.

* ja: ``fugashi.Tagger`` over the texts, reading surface, pos1, pos2, lemma.
* zh: ``jieba.posseg.cut`` reading word and flag; ``rjieba.tag`` for the pure rjieba rows.
* en: ``TreebankWordTokenizer.tokenize`` then ``PerceptronTagger.tag`` (plus Punkt
  sentence splitting in the rows that split sentences).

The sentences are read from ../shared/datasets and never written anywhere.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
if (SHARED / "nltk_data").is_dir():
    os.environ.setdefault("NLTK_DATA", str(SHARED / "nltk_data"))
DATASETS = Path(os.environ.get("MREKV_DATASETS", SHARED / "datasets"))


# ----------------------------------------------------------------------------- sentences

def en_sentences(n: int) -> list[str]:
    """MR (rt-polarity) sentences, then SST-2 train sentences."""
    folder = DATASETS / "en-sentence-cls-harvardnlp"
    out = []
    for name in ("rt-polarity.all", "stsa.binary.train"):
        for line in (folder / name).read_text(encoding="latin-1").splitlines():
            text = line.split(" ", 1)[1].strip() if " " in line else ""
            if text:
                out.append(text)
    return out[:n]


def ja_sentences(n: int) -> list[str]:
    """livedoor news titles and body lines, file by file."""
    out: list[str] = []
    for path in sorted((DATASETS / "ja-livedoor-news" / "text").glob("*/*-*.txt")):
        lines = path.read_text(encoding="utf-8").splitlines()[2:]
        out += [line.strip() for line in lines if line.strip()]
        if len(out) >= n:
            break
    return out[:n]


def zh_sentences(n: int) -> list[str]:
    """ChnSentiCorp hotel reviews, then online-shopping reviews."""
    out: list[str] = []
    with (DATASETS / "zh-chnsenticorp-htl" / "ChnSentiCorp_htl_all.csv").open(
        encoding="utf-8", newline=""
    ) as f:
        out += [row["review"] for row in csv.DictReader(f) if row["review"]]
    with (DATASETS / "zh-online-shopping-10cats" / "online_shopping_10_cats.csv").open(
        encoding="utf-8-sig", newline=""
    ) as f:
        out += [row["review"] for row in csv.DictReader(f) if row["review"]][::3]
    return out[:n]


# ----------------------------------------------------------------------------- contenders

Contender = tuple[str, Callable[[Sequence[str]], object], str | None]  # name, run, baseline


def cold(tok: object) -> Callable[[Sequence[str]], object]:
    """``tok.tokenize_batch`` starting from empty caches."""

    def run(texts: Sequence[str]) -> object:
        tok.clear_cache()  # type: ignore[attr-defined]
        return tok.tokenize_batch(texts)  # type: ignore[attr-defined]

    return run


def ja_contenders() -> list[Contender]:
    import fugashi
    import unidic_lite

    from mrekv.tokenizers import get_tokenizer

    dicdir = unidic_lite.DICDIR
    tagger = fugashi.Tagger(f'-d "{dicdir}" -r "{dicdir}/mecabrc"')

    def direct(texts: Sequence[str]) -> object:
        out = []
        for text in texts:
            words = []
            for w in tagger(text):
                f = w.feature
                words.append((w.surface, f.pos1, f.pos2, f.lemma))
            out.append(words)
        return out

    tok = get_tokenizer("ja")
    return [
        ("fugashi direct", direct, None),
        ("mrekv ja", cold(tok), "fugashi direct"),
    ]


def zh_contenders() -> list[Contender]:
    import jieba.posseg
    import rjieba

    from mrekv.tokenizers import get_tokenizer

    out: list[Contender] = []
    for hmm in (True, False):
        h = f"hmm={hmm}"

        def posseg(texts: Sequence[str], hmm: bool = hmm) -> object:
            return [[(p.word, p.flag) for p in jieba.posseg.cut(t, HMM=hmm)] for t in texts]

        def rtag(texts: Sequence[str], hmm: bool = hmm) -> object:
            return [rjieba.tag(t, hmm) for t in texts]

        out += [
            (f"jieba.posseg {h}", posseg, None),
            (f"mrekv zh jieba {h}", cold(get_tokenizer("zh", hmm=hmm)), f"jieba.posseg {h}"),
            (f"mrekv zh rjieba {h}", cold(get_tokenizer("zh", backend="rjieba", hmm=hmm)),
             f"jieba.posseg {h}"),
            (f"rjieba.tag {h} (own HMM, other words)" if hmm else f"rjieba.tag {h}", rtag,
             f"jieba.posseg {h}"),
        ]
    return out


def en_contenders() -> list[Contender]:
    from nltk.tag import PerceptronTagger
    from nltk.tokenize import PunktTokenizer, TreebankWordTokenizer

    from mrekv.tokenizers import get_tokenizer

    split = TreebankWordTokenizer().tokenize
    sentences = PunktTokenizer("english").tokenize
    tagger = PerceptronTagger(lang="eng")

    def direct(texts: Sequence[str]) -> object:
        return [tagger.tag(split(t)) for t in texts]

    def direct_punkt(texts: Sequence[str]) -> object:
        return [tagger.tag_sents([split(s) for s in sentences(t)]) for t in texts]

    return [
        ("nltk direct", direct, None),
        ("mrekv en", cold(get_tokenizer("en", sentence_split=False)), "nltk direct"),
        ("nltk direct +punkt", direct_punkt, None),
        ("mrekv en +punkt", cold(get_tokenizer("en", sentence_split=True)), "nltk direct +punkt"),
    ]


LANGS = {
    "en": (en_sentences, en_contenders),
    "ja": (ja_sentences, ja_contenders),
    "zh": (zh_sentences, zh_contenders),
}


# ----------------------------------------------------------------------------- timing

def bench(texts: Sequence[str], contenders: list[Contender], rounds: int) -> dict[str, list[float]]:
    """Seconds per round for each contender (rotated order, after a warm-up pass)."""
    warm = texts[: max(1, len(texts) // 10)]
    for _, run, _ in contenders:
        run(warm)
    times: dict[str, list[float]] = {name: [] for name, _, _ in contenders}
    for r in range(rounds):
        shift = r % len(contenders)
        for name, run, _ in contenders[shift:] + contenders[:shift]:
            start = time.perf_counter()
            run(texts)
            times[name].append(time.perf_counter() - start)
    return times


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="sentences per language")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--langs", nargs="+", default=list(LANGS), choices=list(LANGS))
    args = parser.parse_args(argv)
    header = f"{'lang':4} {'contender':40} {'best sent/s':>12} {'median':>10} {'ratio':>7}"
    print(header)
    print("-" * len(header))
    for lang in args.langs:
        load, make = LANGS[lang]
        texts = load(args.n)
        contenders = make()
        times = bench(texts, contenders, args.rounds)
        best = {name: len(texts) / min(t) for name, t in times.items()}
        for name, _, baseline in contenders:
            ratio = f"{best[name] / best[baseline]:.2f}" if baseline else "1.00"
            median = len(texts) / statistics.median(times[name])
            print(f"{lang:4} {name:40} {best[name]:12.0f} {median:10.0f} {ratio:>7}")
        print(f"{lang:4} ({len(texts)} sentences, {args.rounds} rounds; ratio = best / best of "
              "its direct call)")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
