"""Stopwords and noise filters for label-word mining (en / ja / zh).

The built-in lists are small and hand-written: function words, particles,
pronouns and auxiliaries that carry no class information. For English the
NLTK stopword list is added when NLTK and its ``stopwords`` corpus are
installed (``NLTK_DATA`` may point at a local copy); without them the built-in
list is used alone, so mining never needs a download.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from mrekv.data.example import LANGS
from mrekv.errors import unknown_choice

_EN = frozenset(
    """
    a an the and or but nor if then else so as than that this these those there here
    of to in on at by for with from into onto over under about above below after before
    between through during without within upon out off up down via per
    is am are was were be been being have has had having do does did doing done
    will would shall should can could may might must ought
    i me my mine myself we us our ours ourselves you your yours yourself yourselves
    he him his himself she her hers herself it its itself they them their theirs themselves
    what which who whom whose when where why how all any both each few more most other
    some such no not only own same too very just also again further once
    's 't n't 'm 're 've 'll 'd -lrb- -rrb- etc
    """.split()
)

# Particles, auxiliaries, formal nouns and demonstratives (UniDic surface / lemma forms).
_JA = frozenset(
    """
    は が を に で と の も へ や か な ね よ わ ぞ さ て た だ し り れ ず ぬ
    から まで より など なり ので のに けど けれど けれども ながら ばかり だけ ほど くらい
    です ます でし まし ませ ない なかっ だっ でしょ だろ たい ある あっ いる い おり おる
    する し さ せ れる られる せる させる なる なっ でき できる いう いっ 言う
    こと もの もん ところ ため よう ほう とき 時 等 方 事 物 的 中 上 下 内 後 前
    これ それ あれ どれ この その あの どの ここ そこ あそこ どこ こちら そちら
    私 僕 俺 あなた 彼 彼女 我々 皆 さん 様 氏 ちゃん くん 君
    """.split()
)

# Particles, aspect markers, pronouns, measure words and conjunctions.
_ZH = frozenset(
    """
    的 地 得 了 着 过 是 在 和 与 及 或 也 都 就 而 但 却 被 把 让 给 对 从 向 往 为 以 于
    之 其 等 吧 呢 啊 吗 呀 哦 嗯 啦 哈 嘛 么 个 这 那 哪 此 该 每 各 某
    我 你 您 他 她 它 我们 你们 他们 她们 它们 咱们 自己 大家
    这个 那个 这些 那些 这里 那里 这样 那样 什么 怎么 怎样 为什么 如何
    一个 一些 有 没有 没 不 很 太 还 又 再 才 已 已经 正在 将 会 能 可以 要 想 应该
    因为 所以 如果 虽然 但是 而且 并且 或者 然后 还是 就是 只是 可是 不过 以及 还有
    上 下 中 里 内 外 前 后 时 时候 年 月 日
    """.split()
)

_BUILTIN = {"en": _EN, "ja": _JA, "zh": _ZH}


@lru_cache(maxsize=1)
def nltk_english_stopwords() -> frozenset[str]:
    """NLTK's English stopword list, or an empty set when NLTK or its data is missing."""
    try:
        from nltk.corpus import stopwords
    except ImportError:
        return frozenset()
    try:
        return frozenset(w.lower() for w in stopwords.words("english"))
    except LookupError:
        return frozenset()


def builtin_stopwords(lang: str) -> frozenset[str]:
    """The hand-written stopword list of ``lang`` ("en", "ja" or "zh").

    Raises:
        ValueError: ``lang`` is not a supported language (the message lists them).
    """
    if lang not in _BUILTIN:
        raise ValueError(unknown_choice("language", lang, LANGS))
    return _BUILTIN[lang]


def get_stopwords(lang: str | None, *, use_nltk: bool = True) -> frozenset[str]:
    """The stopwords of ``lang``: the built-in list, plus NLTK's for English when available.

    Args:
        lang: "en", "ja", "zh", or None (no language: an empty set).
        use_nltk: add NLTK's English list when NLTK and its ``stopwords`` corpus load.

    Returns:
        Lower-case stopwords.

    Example:
        >>> "the" in get_stopwords("en") and "の" in get_stopwords("ja")
        True
    """
    if lang is None:
        return frozenset()
    words = builtin_stopwords(lang)
    if lang == "en" and use_nltk:
        words = words | nltk_english_stopwords()
    return words


def _is_kana(ch: str) -> bool:
    return "\u3040" <= ch <= "\u30ff" or "\uff66" <= ch <= "\uff9f"


def is_noise(word: str, lang: str | None) -> bool:
    """Whether ``word`` is unusable as a label word whatever its counts.

    Noise is: empty or blank; only punctuation, symbols and spaces; a number
    (digits with optional separators, signs, ``%``, full-width digits too); a single
    character in English (or with no language); a single kana in Japanese (particles
    and inflection fragments). Single hanzi / kanji are kept: many are whole words.

    Example:
        >>> [is_noise(w, "en") for w in ("good", ",", "3.5%", "x")]
        [False, True, True, True]
        >>> [is_noise(w, "zh") for w in ("好", "2019年")]
        [False, False]
    """
    stripped = word.strip()
    if not stripped:
        return True
    if all(ch.isdigit() or unicodedata.category(ch)[0] in "PSZ" for ch in stripped):
        return True  # punctuation, symbols, or a number such as "3.5%" or "２０１６"
    if len(stripped) == 1:
        if lang in (None, "en"):
            return True
        if lang == "ja" and _is_kana(stripped):
            return True
        if lang == "zh" and stripped.isascii():
            return True
    return False
