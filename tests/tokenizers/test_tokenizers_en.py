"""English tokenizer (NLTK Treebank + perceptron tagger + WordNet) and get_tokenizer."""

from __future__ import annotations

import subprocess
import sys

import pytest

nltk = pytest.importorskip("nltk")

from mrekv.errors import ConfigError, MissingDependencyError  # noqa: E402
from mrekv.tokenizers import TOKENIZER_LANGS, UPOS_TAGS, get_tokenizer  # noqa: E402
from mrekv.tokenizers.en import EnglishTokenizer  # noqa: E402


def _have_tagger() -> bool:
    try:
        nltk.data.find("taggers/averaged_perceptron_tagger_eng/")
    except LookupError:
        return False
    return True


needs_tagger = pytest.mark.skipif(not _have_tagger(), reason="NLTK tagger data not installed")


@pytest.fixture(scope="module")
def en():
    if not _have_tagger():
        pytest.skip("NLTK tagger data not installed")
    return get_tokenizer("en")


def test_quick_dogs(en):
    tokens = en.tokenize("The quick dogs were running")
    assert [(t.surface, t.upos, t.lemma) for t in tokens] == [
        ("The", "DET", "the"),
        ("quick", "ADJ", "quick"),
        ("dogs", "NOUN", "dog"),
        ("were", "VERB", "be"),
        ("running", "VERB", "run"),
    ]
    assert [t.tag for t in tokens] == ["DT", "JJ", "NNS", "VBD", "VBG"]


def test_sentences_quotes_and_proper_nouns(en):
    tokens = en.tokenize('We loved "Luigi\'s" pasta. The staff wasn\'t friendly!')
    surfaces = [t.surface for t in tokens]
    # Punkt splits the sentences, so "pasta" is not glued to its period
    assert "pasta" in surfaces and surfaces.count(".") == 1
    # Treebank's `` and '' come back as the quote of the text
    assert surfaces.count('"') == 2 and "``" not in surfaces
    by_surface = {t.surface: t for t in tokens}
    assert by_surface["Luigi"].upos == "PROPN" and by_surface["Luigi"].lemma == "Luigi"
    assert by_surface["friendly"].upos == "ADJ"
    assert by_surface["loved"].lemma == "love"


def test_empty_text(en):
    assert en.tokenize("") == []


def test_real_reviews_batch_equals_single(en, en_sentences):
    batch = en.tokenize_batch(en_sentences)
    assert len(batch) == 200
    for text, tokens in zip(en_sentences, batch, strict=True):
        assert tokens == en.tokenize(text)
        assert all(t.upos in UPOS_TAGS for t in tokens)
        assert all(t.surface in text for t in tokens if t.upos in ("NOUN", "ADJ", "VERB"))


@needs_tagger
def test_without_wordnet_lemma_is_lower_cased(monkeypatch):
    import mrekv.tokenizers.en as en_module

    monkeypatch.setattr(en_module, "WORDNET_RESOURCE", "corpora/no-such-wordnet/")
    tok = EnglishTokenizer(sentence_split=False)
    assert tok.lemmatize is False
    assert [t.lemma for t in tok.tokenize("Dogs were running")] == ["dogs", "were", "running"]


def test_missing_tagger_names_resource_command_and_env(monkeypatch, tmp_path):
    monkeypatch.setattr(nltk.data, "path", [str(tmp_path)])
    with pytest.raises(MissingDependencyError) as info:
        EnglishTokenizer()
    message = str(info.value)
    assert "taggers/averaged_perceptron_tagger_eng" in message
    assert "python -m nltk.downloader averaged_perceptron_tagger_eng" in message
    assert "NLTK_DATA" in message


def test_missing_tagger_in_a_fresh_process(tmp_path):
    code = (
        "from mrekv.tokenizers import get_tokenizer\n"
        "try:\n    get_tokenizer('en')\n"
        "except ImportError as e:\n    print(type(e).__name__)\n"
    )
    env = {"NLTK_DATA": str(tmp_path), "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.stdout.strip() == "MissingDependencyError", out.stderr


def test_missing_nltk(monkeypatch):
    monkeypatch.setitem(sys.modules, "nltk", None)
    with pytest.raises(MissingDependencyError, match=r'pip install "mrekv\[en\]"'):
        EnglishTokenizer()


def test_get_tokenizer_caches_and_validates(en):
    assert get_tokenizer("en") is en
    assert get_tokenizer("en", lemmatize=True) is en  # defaults bound before caching
    assert TOKENIZER_LANGS == ("en", "ja", "zh")
    with pytest.raises(ConfigError, match="'en', 'ja', 'zh'"):
        get_tokenizer("fr")
    with pytest.raises(ConfigError, match="'sentence_split', 'lemmatize'"):
        get_tokenizer("en", lemmatise=True)


def test_importing_tokenizers_is_light():
    code = (
        "import sys, mrekv.tokenizers, mrekv.tokenizers.upos; "
        "print([m for m in ('fugashi', 'jieba', 'rjieba', 'nltk') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
