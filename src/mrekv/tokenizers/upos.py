"""Tables mapping each tagger's own POS tags to Universal POS (UPOS) tags.

Three tag sets come in: UniDic POS (Japanese, fugashi), the ICTCLAS-style flags
of jieba (Chinese) and the Penn Treebank tags of NLTK's perceptron tagger
(English). Each table is a plain ``dict`` so the tokenizers map a tag with one
lookup; characters-class rules (punctuation, digits) are applied only to the
catch-all tags that need them.

The choices follow the Universal Dependencies conversions of the three
languages where they agree (https://universaldependencies.org/u/pos/):
classifiers and locatives are nouns / adpositions as in UD Chinese, Japanese
particles split into ADP / SCONJ / PART as in UD Japanese, and English ``MD``
is AUX, ``RP`` ADP, ``TO`` PART.
"""

from __future__ import annotations

import unicodedata

from mrekv.tokenizers.base import UPOS_TAGS

# --------------------------------------------------------------------------- Japanese (UniDic)

#: UniDic ``pos1`` -> UPOS, for the classes whose UPOS does not depend on ``pos2``.
UNIDIC_POS1: dict[str, str] = {
    "代名詞": "PRON",
    "形容詞": "ADJ",
    "形状詞": "ADJ",
    "連体詞": "DET",
    "動詞": "VERB",
    "副詞": "ADV",
    "接続詞": "CCONJ",
    "感動詞": "INTJ",
    "助動詞": "AUX",
    "接頭辞": "NOUN",
    "補助記号": "PUNCT",
    "記号": "SYM",
    "空白": "X",
}

#: ``(pos1, pos2)`` -> UPOS, overriding :data:`UNIDIC_POS1` (and covering 名詞, 助詞, 接尾辞).
UNIDIC_POS12: dict[tuple[str, str], str] = {
    ("名詞", "普通名詞"): "NOUN",
    ("名詞", "固有名詞"): "PROPN",
    ("名詞", "数詞"): "NUM",
    ("名詞", "助動詞語幹"): "AUX",
    ("形状詞", "助動詞語幹"): "AUX",
    ("助詞", "格助詞"): "ADP",
    ("助詞", "係助詞"): "ADP",
    ("助詞", "副助詞"): "ADP",
    ("助詞", "接続助詞"): "SCONJ",
    ("助詞", "準体助詞"): "SCONJ",
    ("助詞", "終助詞"): "PART",
    ("接尾辞", "名詞的"): "NOUN",
    ("接尾辞", "形容詞的"): "ADJ",
    ("接尾辞", "動詞的"): "VERB",
    ("接尾辞", "形状詞的"): "PART",
    ("補助記号", "ＡＡ"): "SYM",
}


def unidic_upos(pos1: str, pos2: str) -> str:
    """Return the UPOS tag of a UniDic ``pos1`` / ``pos2`` pair (``X`` when unknown).

    Example:
        >>> unidic_upos("名詞", "固有名詞")
        'PROPN'
    """
    upos = UNIDIC_POS12.get((pos1, pos2))
    if upos is None:
        upos = UNIDIC_POS1.get(pos1, "X")
    return upos


# --------------------------------------------------------------------------- Chinese (jieba)

#: jieba / ICTCLAS flag -> UPOS. ``x``, ``eng`` and ``m`` are refined by :func:`jieba_upos`.
JIEBA_FLAGS: dict[str, str] = {
    # adjectives: a / ad (adverbial use) / an (nominal use) / ag (morpheme), b (non-predicate),
    # z (state words such as 较为简单)
    "a": "ADJ", "ad": "ADJ", "an": "ADJ", "ag": "ADJ", "b": "ADJ", "bg": "ADJ", "z": "ADJ",
    "c": "CCONJ",
    "d": "ADV", "df": "ADV", "dg": "ADV",
    "e": "INTJ", "o": "INTJ",
    "f": "ADP",  # localizers (上 / 里 / 中), postpositions in UD Chinese
    "g": "X", "zg": "X",  # bound morphemes; jieba's dictionary uses zg for rare single characters
    "h": "X", "k": "PART",
    "i": "X", "l": "X",  # idioms and fixed expressions: no single word class
    "j": "NOUN", "jn": "NOUN",
    "m": "NUM", "mg": "NUM", "mq": "NUM",
    "n": "NOUN", "ng": "NOUN", "nl": "NOUN", "ln": "NOUN", "in": "NOUN",
    "nr": "PROPN", "nrfg": "PROPN", "nrt": "PROPN", "ns": "PROPN", "nt": "PROPN", "nz": "PROPN",
    "p": "ADP",
    "q": "NOUN", "qe": "NOUN", "qg": "NOUN",  # classifiers are NOUN in UD Chinese
    "r": "PRON", "rg": "PRON", "rr": "PRON", "rz": "PRON",
    "s": "NOUN", "t": "NOUN", "tg": "NOUN",
    "u": "PART", "ud": "PART", "ug": "PART", "uj": "PART", "ul": "PART", "uv": "PART", "uz": "PART",
    "v": "VERB", "vd": "VERB", "vg": "VERB", "vi": "VERB", "vq": "VERB",
    "vn": "NOUN",  # verbal nouns (服务, 管理)
    "w": "PUNCT", "x": "X", "eng": "X",
    "y": "PART", "yg": "PART",
    "un": "X",
}

#: jieba's dictionary gives the catch-all flag ``zg`` to some very common function
#: characters; these get their usual class instead of X (checked on hotel reviews,
#: where 很 alone is 1 in 60 words).
JIEBA_ZG_WORDS: dict[str, str] = {
    "很": "ADV", "较": "ADV", "稍": "ADV", "挺": "ADV", "您": "PRON", "此": "PRON",
    "每": "DET", "啊": "PART", "哦": "PART", "且": "CCONJ", "虽": "SCONJ",
}

#: Flags whose UPOS depends on the characters of the word (see :func:`char_class_upos`).
CHAR_CLASS_FLAGS = frozenset({"x", "eng", "m", "w", "un"})


def char_class_upos(word: str, default: str) -> str:
    """UPOS of a word from its characters: digits NUM, punctuation PUNCT, symbols SYM.

    Used for the catch-all tags (jieba's ``x`` / ``eng``) whose meaning is "not a
    dictionary word", so that ``2`` is NUM and ``，`` PUNCT whichever backend tagged them.

    Example:
        >>> char_class_upos("，", "X"), char_class_upos("42", "X"), char_class_upos("OK", "X")
        ('PUNCT', 'NUM', 'X')
    """
    if word.isdecimal() or (word.replace(".", "", 1).isdecimal() and not word.startswith(".")):
        return "NUM"
    cats = {unicodedata.category(ch)[0] for ch in word}
    if cats == {"P"}:
        return "PUNCT"
    if cats <= {"S", "P"}:
        return "SYM"
    return default


def jieba_upos(word: str, flag: str) -> str:
    """Return the UPOS tag of a jieba ``(word, flag)`` pair (``X`` for an unknown flag).

    Example:
        >>> jieba_upos("服务", "vn"), jieba_upos("好", "a"), jieba_upos("。", "x")
        ('NOUN', 'ADJ', 'PUNCT')
    """
    upos = JIEBA_FLAGS.get(flag, "X")
    if flag == "zg":
        upos = JIEBA_ZG_WORDS.get(word, upos)
    elif flag in CHAR_CLASS_FLAGS:
        upos = char_class_upos(word, upos)
    return upos


# ------------------------------------------------------------------ English (Penn Treebank)

#: Penn Treebank tag -> UPOS.
PTB_TAGS: dict[str, str] = {
    "CC": "CCONJ", "CD": "NUM", "DT": "DET", "EX": "PRON", "FW": "X", "IN": "ADP",
    "JJ": "ADJ", "JJR": "ADJ", "JJS": "ADJ", "LS": "X", "MD": "AUX",
    "NN": "NOUN", "NNS": "NOUN", "NNP": "PROPN", "NNPS": "PROPN",
    "PDT": "DET", "POS": "PART", "PRP": "PRON", "PRP$": "PRON",
    "RB": "ADV", "RBR": "ADV", "RBS": "ADV", "RP": "ADP", "SYM": "SYM", "TO": "PART",
    "UH": "INTJ", "VB": "VERB", "VBD": "VERB", "VBG": "VERB", "VBN": "VERB", "VBP": "VERB",
    "VBZ": "VERB", "WDT": "DET", "WP": "PRON", "WP$": "PRON", "WRB": "ADV",
    ".": "PUNCT", ",": "PUNCT", ":": "PUNCT", "``": "PUNCT", "''": "PUNCT", '"': "PUNCT",
    "(": "PUNCT", ")": "PUNCT", "-LRB-": "PUNCT", "-RRB-": "PUNCT", "HYPH": "PUNCT",
    "NFP": "PUNCT", "$": "SYM", "#": "SYM", "ADD": "X", "AFX": "ADJ", "GW": "X", "XX": "X",
}


def ptb_upos(tag: str) -> str:
    """Return the UPOS tag of a Penn Treebank tag (``X`` when unknown).

    Example:
        >>> ptb_upos("NNS"), ptb_upos("MD")
        ('NOUN', 'AUX')
    """
    return PTB_TAGS.get(tag, "X")


def _check_tables() -> None:
    valid = set(UPOS_TAGS)
    for table in (UNIDIC_POS1, UNIDIC_POS12, JIEBA_FLAGS, JIEBA_ZG_WORDS, PTB_TAGS):
        bad = {v for v in table.values() if v not in valid}  # type: ignore[attr-defined]
        if bad:  # pragma: no cover - a typo in the tables above
            raise AssertionError(f"not UPOS tags: {sorted(bad)}")


_check_tables()
