"""Chinese tokenizer: jieba.posseg and the rjieba backend give the same words."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest

pytest.importorskip("jieba")
pytest.importorskip("rjieba")

from mrekv.errors import ConfigError, MissingDependencyError  # noqa: E402
from mrekv.tokenizers import UPOS_TAGS, get_tokenizer  # noqa: E402
from mrekv.tokenizers.zh import ChineseTokenizer  # noqa: E402


@pytest.fixture(scope="module")
def zh():
    return get_tokenizer("zh")


@pytest.mark.parametrize("backend", ["jieba", "rjieba"])
def test_hotel_sentence(backend):
    tok = get_tokenizer("zh", backend=backend)
    assert [(t.surface, t.upos, t.tag) for t in tok.tokenize("这家酒店的服务很好")] == [
        ("这家", "PRON", "r"),
        ("酒店", "NOUN", "n"),
        ("的", "PART", "uj"),
        ("服务", "NOUN", "vn"),
        ("很", "ADV", "d"),
        ("好", "ADJ", "a"),
    ]


@pytest.mark.parametrize("backend", ["jieba", "rjieba"])
@pytest.mark.parametrize("hmm", [True, False])
def test_digits_punctuation_and_spaces(backend, hmm):
    tok = get_tokenizer("zh", backend=backend, hmm=hmm)
    tokens = tok.tokenize("价格200元， OK!")
    assert [(t.surface, t.upos) for t in tokens] == [
        ("价格", "NOUN"), ("200", "NUM"), ("元", "NUM"),
        ("，", "PUNCT"), ("OK", "X"), ("!", "PUNCT"),
    ]
    assert all(t.lemma == t.surface for t in tokens)


def test_place_name_is_propn(zh):
    tokens = zh.tokenize("我们住在北京")
    assert ("北京", "PROPN") in [(t.surface, t.upos) for t in tokens]


def test_empty_text(zh):
    assert zh.tokenize("") == []


@pytest.mark.parametrize("hmm", [True, False])
def test_rjieba_words_equal_jieba_words_on_real_reviews(zh_sentences, hmm):
    jieba_tok = get_tokenizer("zh", backend="jieba", hmm=hmm)
    rjieba_tok = get_tokenizer("zh", backend="rjieba", hmm=hmm)
    assert len(zh_sentences) == 600
    a = jieba_tok.tokenize_batch(zh_sentences)
    b = rjieba_tok.tokenize_batch(zh_sentences)
    for text, x, y in zip(zh_sentences, a, b, strict=True):
        assert [t.surface for t in x] == [t.surface for t in y], text
    # the HMM really matters on these reviews: words differ between the two hmm settings
    if hmm:
        plain = get_tokenizer("zh", backend="rjieba", hmm=False).tokenize_batch(zh_sentences)
        assert sum(
            [t.surface for t in x] != [t.surface for t in y] for x, y in zip(b, plain, strict=True)
        ) > 100


def test_real_reviews_valid_and_batch_equals_single(zh, zh_sentences):
    texts = zh_sentences[:200]
    batch = zh.tokenize_batch(texts)
    for text, tokens in zip(texts, batch, strict=True):
        assert tokens == zh.tokenize(text)
        assert all(t.upos in UPOS_TAGS for t in tokens)
        assert "".join(t.surface for t in tokens) == "".join(text.split())


def test_bad_backend():
    with pytest.raises(ConfigError, match="'jieba', 'rjieba'"):
        ChineseTokenizer(backend="pkuseg")  # type: ignore[arg-type]


def test_missing_jieba(monkeypatch):
    monkeypatch.setitem(sys.modules, "jieba", None)
    with pytest.raises(MissingDependencyError, match=r'pip install "mrekv\[zh\]"'):
        ChineseTokenizer()


def test_jieba_is_quiet_and_root_logger_untouched():
    code = (
        "import logging; from mrekv.tokenizers import get_tokenizer; "
        "get_tokenizer('zh').tokenize('服务很好'); "
        "print(logging.getLogger().level, logging.getLogger('jieba').level)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stderr == ""
    assert out.stdout.split() == [str(logging.WARNING), str(logging.WARNING)]


def test_clear_cache_gives_the_same_tokens(zh_sentences):
    tok = ChineseTokenizer(backend="rjieba")
    before = tok.tokenize_batch(zh_sentences[:50])
    assert tok._run_cache and tok._cache
    tok.clear_cache()
    assert not tok._run_cache and not tok._cache
    assert tok.tokenize_batch(zh_sentences[:50]) == before
