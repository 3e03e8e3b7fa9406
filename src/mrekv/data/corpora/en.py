"""Readers for the English corpora (harvardnlp sentence suite, AG News, Amazon, SemEval-2014).

Each ``load_*`` takes the corpus folder under the datasets root and returns a
:class:`~mrekv.data.corpus.Corpus`. Choices made here (documented per reader):

- harvardnlp files: ``'<label> <text>'`` per line, texts kept as tokenised lowercase;
  MR/CR/SUBJ/MPQA (no official split) drop empty texts and repeats of an earlier text
  (the first occurrence keeps its label) so no text is on both sides of the split;
  MR/SUBJ/TREC-train are Windows-1252 (the Latin-1 superset: byte 0x85 is ``…``,
  not the NEL line break), split on ``\\n`` only. SUBJ label 0 = subjective.
- AG News: train/dev = the 10K subset's train/valid parts, test = the official
  ``test.csv``; the 10K test part (= the first 2,000 rows of test.csv) is never read.
  Texts are ``title + " " + description`` cleaned the same way in both formats.
- SemEval-2014: sentence polarity voted from its aspect terms (see
  :func:`~mrekv.data.corpora._common.majority_polarity`); other sentences dropped.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from xml.etree import ElementTree

from mrekv.data.corpora._common import (
    first_occurrences,
    format_error,
    holdout_splits,
    majority_polarity,
    read_csv_rows,
    read_dat,
    read_label_first,
    require_file,
)
from mrekv.data.corpus import Corpus
from mrekv.data.example import Family

POLARITY = ("negative", "positive")
SST5 = ("very negative", "negative", "neutral", "positive", "very positive")
SUBJ = ("subjective", "objective")
TREC = ("description", "entity", "abbreviation", "human", "location", "number")
AGNEWS = ("World", "Sports", "Business", "Sci/Tech")
_LATIN = "cp1252"


def _official(
    name: str, folder: Path, files: dict[str, str], classes: tuple[str, ...], description: str,
    encodings: dict[str, str] | None = None,
) -> Corpus:
    texts: list[str] = []
    labels: list[str] = []
    splits: dict[str, tuple[int, ...]] = {}
    for split, file in files.items():
        start = len(texts)
        enc = (encodings or {}).get(file, "utf-8")
        for _, label, text in read_label_first(folder / file, classes, enc):
            texts.append(text)
            labels.append(label)
        splits[split] = tuple(range(start, len(texts)))
    return Corpus(name, "en", tuple(texts), tuple(labels), classes, splits=splits,
                  source=str(folder), description=description)


def _heldout(
    name: str, folder: Path, file: str, classes: tuple[str, ...], description: str,
    encoding: str = "utf-8",
) -> Corpus:
    texts: list[str] = []
    labels: list[str] = []
    for _, label, text in read_label_first(folder / file, classes, encoding, skip_empty=True):
        texts.append(text)
        labels.append(label)
    keep = first_occurrences(texts)
    texts = [texts[i] for i in keep]
    labels = [labels[i] for i in keep]
    return Corpus(name, "en", tuple(texts), tuple(labels), classes,
                  splits=holdout_splits(labels), source=str(folder / file),
                  description=description + "; empty texts and repeats of an earlier text "
                  "dropped; fixed stratified 80/20 train/test split (seed 42)")


def load_sst2(folder: Path) -> Corpus:
    """SST-2 sentences (stsa.binary.*): 0 negative, 1 positive; 6,920 / 872 / 1,821."""
    files = {"train": "stsa.binary.train", "dev": "stsa.binary.dev", "test": "stsa.binary.test"}
    return _official("sst2", folder, files, POLARITY, "SST-2 (stsa.binary), tokenised lowercase")


def load_sst5(folder: Path) -> Corpus:
    """SST-5 sentences (stsa.fine.*): 0 very negative ... 4 very positive; 8,544 / 1,101 / 2,210."""
    files = {"train": "stsa.fine.train", "dev": "stsa.fine.dev", "test": "stsa.fine.test"}
    return _official("sst5", folder, files, SST5, "SST-5 (stsa.fine), tokenised lowercase")


def load_trec(folder: Path) -> Corpus:
    """TREC-6 questions: 0 DESC, 1 ENTY, 2 ABBR, 3 HUM, 4 LOC, 5 NUM; train 5,452 / test 500."""
    files = {"train": "TREC.train.all", "test": "TREC.test.all"}
    return _official("trec", folder, files, TREC,
                     "TREC coarse classes named description/entity/abbreviation/human/"
                     "location/number", encodings={"TREC.train.all": _LATIN})


def load_mr(folder: Path) -> Corpus:
    """MR (rt-polarity.all, Windows-1252): 5,331 negative + 5,331 positive snippets."""
    return _heldout("mr", folder, "rt-polarity.all", POLARITY, "MR movie-review snippets",
                    encoding=_LATIN)


def load_cr(folder: Path) -> Corpus:
    """CR (custrev.all): 1,368 negative + 2,407 positive lines; 4 empty and 6 repeats dropped."""
    return _heldout("cr", folder, "custrev.all", POLARITY, "CR customer-review sentences")


def load_subj(folder: Path) -> Corpus:
    """SUBJ (subj.all, Windows-1252): label 0 = subjective, 1 = objective; 5,000 each."""
    return _heldout("subj", folder, "subj.all", SUBJ, "SUBJ sentences (0 = subjective)",
                    encoding=_LATIN)


def load_mpqa(folder: Path) -> Corpus:
    """MPQA (mpqa.all): 7,294 negative + 3,312 positive lines; empty ones and repeats dropped."""
    return _heldout("mpqa", folder, "mpqa.all", POLARITY, "MPQA opinion phrases")


_ENTITY = re.compile(r"&?#(\d+);")
_SPACE = re.compile(r"\s+")


def clean_agnews(text: str) -> str:
    """Undo AG News escapes: ``\\`` (lost newlines) to spaces, ``#36;``-style entities to
    characters (their ``&`` was lost), HTML entities unescaped, whitespace collapsed.

    Example:
        >>> clean_agnews("a second\\\\team won  #36;10 million")
        'a second team won $10 million'
    """
    text = text.replace("\\", " ")
    text = _ENTITY.sub(lambda m: f"&#{m.group(1)};", text)
    return _SPACE.sub(" ", html.unescape(text)).strip()


def load_agnews(folder: Path) -> Corpus:
    """AG News: train 7,000 / dev 1,000 (the 10K subset), test 7,600 (test.csv, 1,900 a class).

    The 10K subset's test part repeats the first 2,000 rows of test.csv and is not read.
    The 10K ``.dat`` files kept the CSV quote escaping (``""``), which is undone.
    """
    texts: list[str] = []
    labels: list[str] = []
    splits: dict[str, tuple[int, ...]] = {}
    sub = folder / "pyabsa_AGNews10K"
    for split, file in (("train", "AGNews10K.train.dat"), ("dev", "AGNews10K.valid.dat")):
        start = len(texts)
        for _, label, text in read_dat(sub / file, AGNEWS):
            texts.append(clean_agnews(text.replace('""', '"')))
            labels.append(label)
        splits[split] = tuple(range(start, len(texts)))
    start = len(texts)
    path = folder / "test.csv"
    for n, row in read_csv_rows(path, header=None):
        if len(row) != 3 or row[0] not in ("1", "2", "3", "4"):
            raise format_error(path, n, "expected '\"<class 1-4>\",\"<title>\",\"<description>\"'")
        texts.append(clean_agnews(f"{row[1]} {row[2]}"))
        labels.append(AGNEWS[int(row[0]) - 1])
    splits["test"] = tuple(range(start, len(texts)))
    return Corpus("agnews", "en", tuple(texts), tuple(labels), AGNEWS, splits=splits,
                  source=str(folder),
                  description="AG News: train/dev = AGNews10K train/valid, test = test.csv; "
                  "text = title + ' ' + description, escapes undone")


def load_amazon(folder: Path) -> Corpus:
    """Amazon review polarity 10K: ``'title. review$LABEL$k'``; train 8,000 / test 2,000."""
    texts: list[str] = []
    labels: list[str] = []
    splits: dict[str, tuple[int, ...]] = {}
    for split, file in (("train", "amazon.train.dat"), ("test", "amazon.test.dat")):
        start = len(texts)
        for _, label, text in read_dat(folder / file, POLARITY):
            texts.append(text.strip())
            labels.append(label)
        splits[split] = tuple(range(start, len(texts)))
    return Corpus("amazon", "en", tuple(texts), tuple(labels), POLARITY, splits=splits,
                  source=str(folder), description="Amazon review polarity 10K subset")


def _semeval(name: str, folder: Path, train: str, test: str) -> Corpus:
    texts: list[str] = []
    labels: list[str] = []
    words: list[tuple[tuple[str, str], ...]] = []
    splits: dict[str, tuple[int, ...]] = {}
    for split, file in (("train", train), ("test", test)):
        start = len(texts)
        for text, terms in _read_semeval(require_file(folder / file)):
            label = majority_polarity(p for p, _ in terms)
            if label is None:
                continue
            texts.append(text)
            labels.append(label)
            words.append(terms)
        splits[split] = tuple(range(start, len(texts)))
    return Corpus(name, "en", tuple(texts), tuple(labels), POLARITY, word_labels=tuple(words),
                  splits=splits, family=Family.SCPOS_RW, source=str(folder),
                  description="SemEval-2014 sentences; label = strict majority of positive vs "
                  "negative aspect terms (neutral/conflict terms do not vote); sentences with "
                  "no positive/negative term or a tie are dropped; word labels = every aspect "
                  "term as (polarity, term)")


def _read_semeval(path: Path) -> list[tuple[str, tuple[tuple[str, str], ...]]]:
    try:
        root = ElementTree.parse(path).getroot()
    except ElementTree.ParseError as err:
        raise format_error(path, err.position[0], f"malformed XML ({err})") from None
    out = []
    for sentence in root.iter("sentence"):
        sid = sentence.get("id")
        node = sentence.find("text")
        if node is None or node.text is None:
            raise format_error(path, None, f"sentence id={sid!r} has no <text>")
        text = node.text
        terms = []
        for term in sentence.iterfind("aspectTerms/aspectTerm"):
            word, pol = term.get("term"), term.get("polarity")
            try:
                start, end = int(term.get("from", "")), int(term.get("to", ""))
            except ValueError:
                msg = f"sentence id={sid!r}: bad from/to offsets"
                raise format_error(path, None, msg) from None
            if word is None or pol is None or text[start:end] != word:
                raise format_error(
                    path, None, f"sentence id={sid!r}: aspect term {word!r} does not match "
                    f"text[{start}:{end}] = {text[start:end]!r} or lacks a polarity")
            terms.append((pol, word))
        out.append((text.strip(), tuple(terms)))
    return out


def load_semeval14_restaurants(folder: Path) -> Corpus:
    """SemEval-2014 restaurants (train v2 / gold test), polarity voted from aspect terms."""
    return _semeval("semeval14-restaurants", folder, "Restaurants_Train_v2.xml",
                    "Restaurants_Test_Gold.xml")


def load_semeval14_laptops(folder: Path) -> Corpus:
    """SemEval-2014 laptops (train v2 / gold test), polarity voted from aspect terms."""
    return _semeval("semeval14-laptops", folder, "Laptops_Train_v2.xml", "Laptops_Test_Gold.xml")
