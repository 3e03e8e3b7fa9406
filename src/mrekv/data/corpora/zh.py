"""Readers for the Chinese corpora: online shopping, ChnSentiCorp, THUCNews, FewCLUE, Peng ABSA.

Corpora without an official split get a fixed seeded stratified 80/20 split after
dropping empty texts and repeats of an earlier text. FewCLUE corpora keep the
official few-shot files: ``train`` = ``train_few_all``, ``dev`` = ``dev_few_all``,
``test`` = ``test_public``, and ``train_0``..``train_4`` / ``dev_0``..``dev_4`` as the
official per-seed samples (indices into the same records).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

from mrekv.data.corpora._common import (
    first_occurrences,
    format_error,
    holdout_splits,
    majority_polarity,
    read_csv_rows,
    read_lines,
)
from mrekv.data.corpus import Corpus
from mrekv.data.example import Family

POLARITY = ("negative", "positive")
#: The online-shopping product categories, largest first (names as in the file).
SHOPPING = ("平板", "水果", "洗发水", "衣服", "酒店", "计算机", "书籍", "手机", "蒙牛", "热水器")
#: THUCNews headline topics, ids 0-9 (class.txt order).
THUCNEWS = ("finance", "realty", "stocks", "education", "science", "society", "politics",
            "sports", "game", "entertainment")
#: TNEWS label ids and class names (``label_desc`` without the ``news_`` prefix).
TNEWS = {
    100: "story", 101: "culture", 102: "entertainment", 103: "sports", 104: "finance",
    106: "house", 107: "car", 108: "edu", 109: "tech", 110: "military", 112: "travel",
    113: "world", 114: "stock", 115: "agriculture", 116: "game",
}
PENG_DOMAINS = ("camera", "car", "notebook", "phone")
_PENG_FILES = {"camera": "103.camera", "car": "104.car", "notebook": "106.notebook",
               "phone": "107.phone"}
WordLabels = tuple[tuple[str, str], ...]
#: ``parse(path, line number, record) -> (class name, word labels)`` of a FewCLUE task.
Parse = Callable[[Path, int, dict[str, object]], tuple[str, WordLabels]]
_FEWCLUE_FILES = (("train", "train_few_all"), ("dev", "dev_few_all"), ("test", "test_public"))


def _clean(text: str) -> str:
    return text.replace("\ufeff", "").strip()


def _heldout(name: str, source: Path, texts: list[str], labels: list[str], classes: tuple[str, ...],
             description: str) -> Corpus:
    keep = [i for i in first_occurrences(texts) if texts[i]]
    texts = [texts[i] for i in keep]
    labels = [labels[i] for i in keep]
    return Corpus(name, "zh", tuple(texts), tuple(labels), classes, splits=holdout_splits(labels),
                  source=str(source),
                  description=description + "; empty texts and repeats of an earlier text dropped; "
                  "stratified 80/20 split (seed 42)")


def _shopping_rows(folder: Path) -> Iterator[tuple[str, str, str]]:
    path = folder / "online_shopping_10_cats.csv"
    for n, (cat, label, review) in read_csv_rows(path, header=("cat", "label", "review")):
        if cat not in SHOPPING or label not in ("0", "1"):
            raise format_error(path, n, f"expected a category of {SHOPPING} and label 0/1, "
                               f"got {cat!r}, {label!r}")
        yield cat, POLARITY[int(label)], _clean(review)


def _shopping(folder: Path, name: str, by: str) -> Corpus:
    rows = list(_shopping_rows(folder))
    texts = [r for _, _, r in rows]
    # Stratify on category x polarity so both corpora share the very same split.
    keys = [f"{c}/{p}" for c, p, _ in rows]
    keep = [i for i in first_occurrences(texts) if texts[i]]
    splits = holdout_splits([keys[i] for i in keep])
    classes: tuple[str, ...] = SHOPPING if by == "category" else POLARITY
    labels = [rows[i][0] if by == "category" else rows[i][1] for i in keep]
    return Corpus(name, "zh", tuple(texts[i] for i in keep), tuple(labels), classes,
                  splits=splits, source=str(folder),
                  description=f"online_shopping_10_cats, class = {by}; empty reviews and repeats "
                  "of an earlier review dropped; 80/20 split stratified by category x polarity "
                  "(seed 42), shared by online-shopping-10cats and online-shopping-sentiment")


def load_online_shopping_10cats(folder: Path) -> Corpus:
    """online_shopping_10_cats with the 10 product categories (Chinese names) as class."""
    return _shopping(folder, "online-shopping-10cats", "category")


def load_online_shopping_sentiment(folder: Path) -> Corpus:
    """online_shopping_10_cats with polarity (0 negative, 1 positive) as class; same split."""
    return _shopping(folder, "online-shopping-sentiment", "polarity")


def load_chnsenticorp(folder: Path) -> Corpus:
    """ChnSentiCorp hotel reviews (label 0 negative / 1 positive); seeded 80/20 split."""
    path = folder / "ChnSentiCorp_htl_all.csv"
    texts: list[str] = []
    labels: list[str] = []
    for n, (label, review) in read_csv_rows(path, header=("label", "review")):
        if label not in ("0", "1"):
            raise format_error(path, n, f"expected label 0 or 1, got {label!r}")
        texts.append(_clean(review))
        labels.append(POLARITY[int(label)])
    return _heldout("chnsenticorp", path, texts, labels, POLARITY, "ChnSentiCorp_htl_all")


def load_thucnews_titles(folder: Path) -> Corpus:
    """THUCNews headlines (``'title<TAB>id'``): train = dev.txt, test = test.txt, 10,000 each."""
    texts: list[str] = []
    labels: list[str] = []
    splits: dict[str, tuple[int, ...]] = {}
    for split, file in (("train", "dev.txt"), ("test", "test.txt")):
        start = len(texts)
        path = folder / file
        for n, line in enumerate(read_lines(path), start=1):
            title, tab, label = line.rpartition("\t")
            if not tab or not label.isdigit() or int(label) >= len(THUCNEWS) or not title.strip():
                raise format_error(path, n, "expected '<title>\\t<label id 0-9>'")
            texts.append(title.strip())
            labels.append(THUCNEWS[int(label)])
        splits[split] = tuple(range(start, len(texts)))
    return Corpus("thucnews-titles", "zh", tuple(texts), tuple(labels), THUCNEWS, splits=splits,
                  source=str(folder),
                  description="THUCNews headlines; train = dev.txt (the train file is missing), "
                  "test = test.txt")


def _read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, object]]]:
    for n, line in enumerate(read_lines(path), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise format_error(path, n, f"invalid JSON ({err.msg})") from None
        if not isinstance(record, dict) or not isinstance(record.get("sentence"), str):
            raise format_error(path, n, "expected a JSON object with a 'sentence' string")
        yield n, record


def _fewclue(name: str, folder: Path, parse: Parse, classes: tuple[str, ...],
             description: str, family: Family | None = None) -> Corpus:
    """Read a FewCLUE task; ``parse(path, n, record)`` returns (label, word labels)."""
    texts: list[str] = []
    labels: list[str] = []
    words: list[tuple[tuple[str, str], ...]] = []
    splits: dict[str, tuple[int, ...]] = {}
    where: dict[str, dict[str, int]] = {}
    for split, file in _FEWCLUE_FILES:
        path = folder / f"{file}.json"
        positions: dict[str, int] = {}
        for n, record in _read_jsonl(path):
            text = _clean(str(record["sentence"]))
            label, wl = parse(path, n, record)
            if text in positions:  # EPRSTMT's few_all files repeat records: keep one
                continue
            positions[text] = len(texts)
            texts.append(text)
            labels.append(label)
            words.append(wl)
        splits[split] = tuple(positions.values())
        where[split] = positions
    for split in ("train", "dev"):
        for seed in range(5):
            path = folder / f"{split}_{seed}.json"
            if not path.is_file():
                continue
            idx = set()
            for n, record in _read_jsonl(path):
                text = _clean(str(record["sentence"]))
                if text not in where[split]:
                    raise format_error(path, n, f"record is not in {split}_few_all.json")
                idx.add(where[split][text])
            splits[f"{split}_{seed}"] = tuple(sorted(idx))
    return Corpus(name, "zh", tuple(texts), tuple(labels), classes,
                  word_labels=tuple(words) if family is not None else None, splits=splits,
                  family=family, source=str(folder),
                  description=description + "; train = train_few_all, dev = dev_few_all, "
                  "test = test_public, train_k/dev_k = official samples; repeated sentences "
                  "within a file kept once")


def load_tnews(folder: Path) -> Corpus:
    """FewCLUE TNEWS: 15 topics (ids 100-116 minus 105/111); keywords as word labels.

    Classes are the ``label_desc`` names without ``news_`` (``story``, ``culture`` ...).
    Word labels: one ``("keyword", keyword)`` pair per comma-separated keyword (often
    none); they are noun phrases, hence the ``SCPOS:N`` family hint.
    """
    def parse(path: Path, n: int, record: dict[str, object]) -> tuple[str, WordLabels]:
        try:
            label_id = int(str(record["label"]))
            name = TNEWS[label_id]
        except (KeyError, ValueError):
            raise format_error(path, n, f"expected a TNEWS label id of {sorted(TNEWS)}") from None
        if record.get("label_desc") != f"news_{name}":
            raise format_error(path, n, f"label {label_id} should have label_desc news_{name}")
        keywords = str(record.get("keywords") or "")
        return name, tuple(("keyword", k.strip()) for k in keywords.split(",") if k.strip())

    return _fewclue("tnews", folder / "tnews", parse, tuple(TNEWS.values()),
                    "FewCLUE TNEWS headlines (class = label_desc without news_)",
                    family=Family.SCPOS_N)


def load_eprstmt(folder: Path) -> Corpus:
    """FewCLUE EPRSTMT e-commerce reviews: Negative/Positive as ``negative``/``positive``."""
    def parse(path: Path, n: int, record: dict[str, object]) -> tuple[str, WordLabels]:
        label = str(record.get("label", "")).lower()
        if label not in POLARITY:
            raise format_error(path, n, f"expected label Positive or Negative, got {label!r}")
        return label, ()

    return _fewclue("eprstmt", folder / "eprstmt", parse, POLARITY, "FewCLUE EPRSTMT reviews")


def load_iflytek(folder: Path) -> Corpus:
    """FewCLUE IFLYTEK app descriptions: 119 app categories (ids 0-118, Chinese names).

    Classes are the ``label_des`` names in label-id order (test_public covers 98 of them).
    """
    names: dict[int, str] = {}
    sub = folder / "iflytek"
    for _, file in _FEWCLUE_FILES:
        for n, record in _read_jsonl(sub / f"{file}.json"):
            try:
                names.setdefault(int(str(record["label"])), str(record["label_des"]))
            except (KeyError, ValueError):
                raise format_error(sub / f"{file}.json", n, "expected label id and label_des") \
                    from None
    by_name = {v: k for k, v in names.items()}

    def parse(path: Path, n: int, record: dict[str, object]) -> tuple[str, WordLabels]:
        name = str(record["label_des"])
        if by_name.get(name) != int(str(record["label"])):
            raise format_error(path, n, f"label_des {name!r} disagrees with label id")
        return name, ()

    classes = tuple(names[i] for i in sorted(names))
    return _fewclue("iflytek", sub, parse, classes, "FewCLUE IFLYTEK app descriptions")


def _read_apc(path: Path) -> list[tuple[str, str, str]]:
    """Return ``(sentence, target, polarity)`` from a PyABSA APC file (3 lines an instance)."""
    lines = read_lines(path)
    if len(lines) % 3:
        raise format_error(path, len(lines), "expected 3 lines per instance")
    out = []
    for i in range(0, len(lines), 3):
        masked, target, polarity = lines[i], lines[i + 1], lines[i + 2].strip()
        if "$T$" not in masked or polarity not in ("Positive", "Negative") or not target.strip():
            raise format_error(path, i + 1, "expected a sentence with $T$, the target, and "
                               "Positive/Negative")
        target = target.replace(" ", "")
        out.append((masked.replace(" ", "").replace("$T$", target), target, polarity.lower()))
    return out


def _peng(name: str, folder: Path, by: str) -> Corpus:
    texts: list[str] = []
    labels: list[str] = []
    words: list[tuple[tuple[str, str], ...]] = []
    splits: dict[str, list[int]] = {"train": [], "test": []}
    for domain in PENG_DOMAINS:
        for split in ("train", "test"):
            path = folder / "apc_datasets" / "102.Chinese" / _PENG_FILES[domain] / \
                f"{domain}.{split}.txt"
            grouped: dict[str, list[tuple[str, str]]] = {}
            for sentence, target, polarity in _read_apc(path):
                pair = (polarity, target)
                if pair not in grouped.setdefault(sentence, []):
                    grouped[sentence].append(pair)
            for sentence, pairs in grouped.items():
                label = domain if by == "domain" else majority_polarity(p for p, _ in pairs)
                if label is None:
                    continue
                splits[split].append(len(texts))
                texts.append(sentence)
                labels.append(label)
                words.append(tuple(pairs))
    classes = PENG_DOMAINS if by == "domain" else POLARITY
    return Corpus(name, "zh", tuple(texts), tuple(labels), classes, word_labels=tuple(words),
                  splits={k: tuple(v) for k, v in splits.items()}, family=Family.SCPOS_RW,
                  source=str(folder),
                  description=f"Peng et al. 2018 (APC files), class = {by}; instances of one "
                  "sentence merged (spaces between characters removed, $T$ filled in); word "
                  "labels = (polarity, aspect term); official train/test per domain"
                  + ("; ties dropped" if by != "domain" else ""))


def load_peng_absa(folder: Path) -> Corpus:
    """Peng et al. 2018 sentences with the product domain (camera/car/notebook/phone) as class."""
    return _peng("peng-absa", folder, "domain")


def load_peng_absa_sentiment(folder: Path) -> Corpus:
    """Peng et al. 2018 sentences with the majority polarity of their aspect terms as class."""
    return _peng("peng-absa-sentiment", folder, "polarity")
