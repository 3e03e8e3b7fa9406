"""Readers for the Japanese corpora: livedoor news, chABSA, Stockmark Wikipedia NER.

None of them has an official split: each gets a fixed seeded 80/20 split
(stratified by class; chABSA by whole document).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

from mrekv.data.corpora._common import (
    first_occurrences,
    format_error,
    holdout_splits,
    majority_polarity,
    read_lines,
    require_file,
)
from mrekv.data.corpus import Corpus
from mrekv.data.example import Family

#: The nine livedoor topics (folder names), in sorted order.
LIVEDOOR = (
    "dokujo-tsushin", "it-life-hack", "kaden-channel", "livedoor-homme", "movie-enter",
    "peachy", "smax", "sports-watch", "topic-news",
)
#: Longest livedoor text kept (title + body), in characters.
LIVEDOOR_MAX_CHARS = 256
POLARITY = ("negative", "positive")
#: The eight entity types of the Wikipedia NER data, by descending frequency.
NER_TYPES = (
    "人名", "法人名", "地名", "製品名", "政治的組織名", "施設名", "その他の組織名", "イベント名",
)
_ARTICLE = re.compile(r"^[a-z-]+-\d+\.txt$")


def livedoor_text(lines: list[str], max_chars: int = LIVEDOOR_MAX_CHARS) -> str:
    """Return ``title + " " + body`` of a livedoor article, cut to ``max_chars`` characters.

    ``lines`` are the file's lines (URL, date, title, body...); body lines are stripped,
    empty ones dropped, and joined without separator (Japanese needs none).

    Example:
        >>> livedoor_text(["http://x", "2012-01-01", "題名", "本文。", "", "続き。"])
        '題名 本文。続き。'
    """
    body = "".join(ln.strip() for ln in lines[3:] if ln.strip())
    text = f"{lines[2].strip()} {body}".strip()
    return text[:max_chars].rstrip()


def load_livedoor(folder: Path) -> Corpus:
    """livedoor news (7,367 articles, 9 topics = folder names); text = title + start of body.

    Titles are kept verbatim, including bracketed series tags such as
    ``【Sports Watch】`` that give the topic away. Articles whose text repeats an earlier
    one are dropped; split: stratified 80/20, seed 42.
    """
    texts: list[str] = []
    labels: list[str] = []
    for topic in LIVEDOOR:
        sub = folder / "text" / topic
        if not sub.is_dir():
            raise format_error(sub, None, "livedoor topic folder not found")
        for path in sorted(p for p in sub.iterdir() if _ARTICLE.match(p.name)):
            lines = read_lines(path)
            if len(lines) < 3 or not lines[0].startswith("http"):
                raise format_error(path, 1, "expected URL, date and title on lines 1-3")
            texts.append(livedoor_text(lines))
            labels.append(topic)
    keep = first_occurrences(texts)
    texts = [texts[i] for i in keep]
    labels = [labels[i] for i in keep]
    return Corpus("livedoor", "ja", tuple(texts), tuple(labels), LIVEDOOR,
                  splits=holdout_splits(labels), source=str(folder),
                  description=f"livedoor news; text = title + ' ' + body lines joined, first "
                  f"{LIVEDOOR_MAX_CHARS} characters; repeated texts dropped; stratified 80/20 "
                  "split (seed 42)")


def _load_json(path: Path) -> object:
    try:
        with require_file(path).open(encoding="utf-8") as handle:
            return json.load(handle)
    except json.JSONDecodeError as err:
        raise format_error(path, err.lineno, f"invalid JSON ({err.msg})") from None


def load_chabsa(folder: Path) -> Corpus:
    """chABSA sentences with a positive/negative vote of their opinions; split by document.

    Sentence label: strict majority of positive vs negative opinions (neutral ones do
    not vote); sentences with no opinion, only neutral ones, or a tie are dropped.
    Word labels: every opinion as ``(polarity, target)``. The 230 documents are split
    80/20 into train/test by document (seed 42), so no document straddles the split.
    """
    texts: list[str] = []
    labels: list[str] = []
    words: list[tuple[tuple[str, str], ...]] = []
    docs: list[str] = []
    files = sorted((folder / "chABSA").glob("e*_ann.json"))
    if not files:
        raise format_error(folder / "chABSA", None, "no e*_ann.json files")
    for path in files:
        data = _load_json(path)
        try:
            doc_id = data["header"]["document_id"]  # type: ignore[index]
            sentences = data["sentences"]  # type: ignore[index]
        except (KeyError, TypeError):
            msg = "expected {header: {document_id}, sentences: [...]}"
            raise format_error(path, None, msg) from None
        for n, sent in enumerate(sentences):
            try:
                text = sent["sentence"]
                opinions = [
                    (o["polarity"], o["target"], o["from"], o["to"]) for o in sent["opinions"]
                ]
            except (KeyError, TypeError):
                raise format_error(
                    path, None, f"sentence {n}: expected sentence and opinions "
                    "[{target, polarity, from, to}]") from None
            for _, target, start, end in opinions:
                if text[start:end] != target:
                    raise format_error(path, None, f"sentence {n}: target {target!r} is not "
                                       f"text[{start}:{end}]")
            label = majority_polarity(p for p, *_ in opinions)
            if label is None:
                continue
            texts.append(text)
            labels.append(label)
            words.append(tuple((p, t) for p, t, *_ in opinions))
            docs.append(str(doc_id))
    return Corpus("chabsa", "ja", tuple(texts), tuple(labels), POLARITY, word_labels=tuple(words),
                  splits=holdout_splits(labels, groups=docs), family=Family.SCPOS_RW,
                  source=str(folder),
                  description="chABSA; label = strict majority of positive vs negative opinions "
                  "(neutral does not vote; ties and sentences without a vote dropped); word "
                  "labels = (polarity, target); 80/20 split by document (seed 42)")


def entity_class(entities: list[tuple[str, str, int]]) -> str:
    """Return the sentence class of an entity set: its most frequent entity type.

    Ties go to the type whose first entity starts earliest in the sentence.

    Args:
        entities: ``(type, name, start offset)`` triples (at least one).

    Example:
        >>> entity_class([("地名", "東京", 9), ("人名", "山田", 0), ("地名", "京都", 3)])
        '地名'
        >>> entity_class([("地名", "東京", 9), ("人名", "山田", 0)])
        '人名'
    """
    counts = Counter(t for t, _, _ in entities)
    top = max(counts.values())
    first: dict[str, int] = {}
    for etype, _, start in entities:
        first[etype] = min(start, first.get(etype, start))
    return min((t for t in counts if counts[t] == top), key=lambda t: first[t])


def load_ner_wikipedia(folder: Path) -> Corpus:
    """Stockmark Wikipedia NER sentences with an SCNM-style class from their entities.

    Class: the most frequent entity type of the sentence (ties: the type seen first);
    the 484 sentences with no entity are dropped. Word labels: every entity as
    ``(type, name)`` in offset order. Split: stratified 80/20, seed 42.
    """
    path = folder / "ner.json"
    data = _load_json(path)
    if not isinstance(data, list):
        raise format_error(path, 1, "expected a JSON array of {curid, text, entities}")
    texts: list[str] = []
    labels: list[str] = []
    words: list[tuple[tuple[str, str], ...]] = []
    for n, item in enumerate(data):
        try:
            text = item["text"]
            ents = [(e["type"], e["name"], int(e["span"][0]), int(e["span"][1]))
                    for e in item["entities"]]
        except (KeyError, TypeError, IndexError, ValueError):
            raise format_error(path, None, f"record {n}: expected text and entities "
                               "[{name, span: [start, end], type}]") from None
        for etype, name, start, end in ents:
            if text[start:end] != name:
                raise format_error(path, None, f"record {n}: entity {name!r} is not "
                                   f"text[{start}:{end}]")
            if etype not in NER_TYPES:
                raise format_error(path, None, f"record {n}: unknown entity type {etype!r}")
        if not ents:
            continue
        ents.sort(key=lambda e: (e[2], e[3]))
        texts.append(text)
        labels.append(entity_class([(t, name, s) for t, name, s, _ in ents]))
        words.append(tuple((t, name) for t, name, _, _ in ents))
    return Corpus("ner-wikipedia", "ja", tuple(texts), tuple(labels), NER_TYPES,
                  word_labels=tuple(words), splits=holdout_splits(labels), family=Family.SCNM,
                  source=str(path),
                  description="Wikipedia NER (Stockmark); class = most frequent entity type "
                  "(tie: earliest); sentences without entities dropped; word labels = "
                  "(type, name); stratified 80/20 split (seed 42)")
