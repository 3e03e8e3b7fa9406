"""The n-gram expert pooled with the prior head, and the prior head as the frozen default."""

from __future__ import annotations

import json

import numpy as np
import pytest
from _prompt_standins import VERBALIZER_WORDS, synthetic_task

from mrekv.prompt.ngram_expert import NgramExpert, choose_beta, log_softmax, vectorizer_params
from mrekv.prompt.prior_head import cv_folds

TEXTS = ["good film", "great film", "good plot", "great cast", "fine good",
         "bad film", "awful film", "bad plot", "awful cast", "dull bad"]
Y = np.array([1, 1, 1, 1, 1, 0, 0, 0, 0, 0])


def test_choose_beta_takes_the_expert_only_when_it_lowers_the_pooled_loss():
    y = np.array([0, 1, 0, 1])
    uninformed = np.zeros((4, 2))
    right = np.log(np.array([[0.9, 0.1], [0.1, 0.9], [0.9, 0.1], [0.1, 0.9]]))
    # the head knows nothing, the expert is right: the largest weight wins
    assert choose_beta(uninformed, right, y, (0.0, 1.0, 2.0))[0] == 2.0
    # the expert is wrong everywhere: the head alone (weight 0)
    assert choose_beta(uninformed, right[:, ::-1], y, (0.0, 1.0, 2.0))[0] == 0.0
    # hand-computed loss at weight 1: -log(0.9)
    assert choose_beta(uninformed, right, y, (1.0,))[1] == pytest.approx(-np.log(0.9))


def test_a_gain_within_one_standard_error_keeps_the_head_alone():
    y = np.array([0, 1, 0, 1, 0, 1])
    head = np.zeros((6, 2))
    # right (0.9) on 4 texts, wrong (0.25 on the right class) on 2: a lower mean pooled
    # loss, but a gain smaller than one standard error of the per-text gains
    right, wrong = np.log([0.9, 0.1]), np.log([0.25, 0.75])
    expert = np.array([right, right[::-1], right, right[::-1], wrong, wrong[::-1]])
    losses = {b: float(-(b * expert - np.log(np.exp(b * expert).sum(1, keepdims=True)))[
        np.arange(6), y].mean()) for b in (0.0, 1.0)}
    assert losses[1.0] < losses[0.0]  # the plain minimum would pool it
    assert choose_beta(head, expert, y, (0.0, 1.0))[0] == 0.0


@pytest.mark.parametrize("n_classes", [2, 3])
def test_the_expert_predicts_like_scikit_learn_and_round_trips(n_classes):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    texts, y = list(TEXTS), Y.copy()
    if n_classes == 3:
        texts += ["plain film", "plain cast", "plain plot", "so so plain"]
        y = np.r_[y, [2, 2, 2, 2]]
    folds = cv_folds(y, seed=0)
    expert = NgramExpert(lang="en").fit(texts, y, n_classes, folds)
    reference = make_pipeline(TfidfVectorizer(**vectorizer_params("en")),
                              LogisticRegression(C=expert.C_, max_iter=2000)).fit(texts, y)
    new = ["a good cast", "an awful plot", "plain"]
    assert np.allclose(np.exp(expert.log_proba(new)), reference.predict_proba(new), atol=1e-6)
    assert expert.oof_log_proba_.shape == (len(y), n_classes)
    state = json.loads(json.dumps(expert.to_state()))
    again = NgramExpert.from_state(state, "x.json")
    assert np.allclose(again.log_proba(new), expert.log_proba(new))


def test_a_class_missing_from_the_texts_gets_the_floor_and_one_class_is_refused():
    expert = NgramExpert(lang="en").fit(TEXTS, Y, 3, [])
    logp = expert.log_proba(["good"])
    assert logp.shape == (1, 3) and np.exp(logp[0, 2]) < 1e-5
    assert np.allclose(np.exp(logp).sum(1), 1)
    with pytest.raises(ValueError, match="two classes"):
        NgramExpert().fit(TEXTS[:5], Y[:5], 2, [])


def test_a_malformed_saved_expert_is_named():
    state = NgramExpert(lang="en").fit(TEXTS, Y, 2, []).to_state()
    state["idf"] = state["idf"][:-1]
    with pytest.raises(ValueError, match="bad.json.*vocabulary"):
        NgramExpert.from_state(state, "bad.json")
    with pytest.raises(ValueError, match="bad.json"):
        NgramExpert.from_state({"lang": "en"}, "bad.json")


def test_log_softmax_rows_normalise():
    x = np.array([[1.0, 2.0, 3.0], [1000.0, 0.0, -1000.0]])
    assert np.allclose(np.exp(log_softmax(x)).sum(1), 1)


# -- in the classifier ------------------------------------------------------------------

def _keyword_texts():
    """The label is a surface word the tiny random LM barely encodes: n-grams see it."""
    rng = np.random.default_rng(0)
    filler = ["the", "a", "one", "this", "that", "some", "old", "new"]
    texts, labels = [], []
    for i in range(24):
        label = ["negative", "positive"][i % 2]
        cue = "zzq" if label == "positive" else "xxv"
        words = list(rng.choice(filler, size=4))
        words.insert(int(rng.integers(0, 4)), cue)
        texts.append(" ".join(words))
        labels.append(label)
    return texts, labels


def test_the_frozen_default_is_the_prior_head_pooled_with_ngrams(causal_lm, tmp_path):
    import mrekv

    model, tokenizer = causal_lm("llama")
    texts, labels = _keyword_texts()
    clf = mrekv.PromptClassifier(model, tokenizer=tokenizer, template="{text} It was {mask}",
                                 verbalizer={"negative": ["bad"], "positive": ["good"]},
                                 train_mode="frozen", progress=False, seed=0)
    clf.fit(texts[:16], labels[:16])
    assert clf.uses_prior_head and clf.prior_head_ is not None
    assert clf.ngram_weight_ > 0 and clf.ngram_expert_ is not None
    assert clf.history_[0]["ngram_expert"]["beta"] == clf.ngram_weight_
    assert clf.score(texts[16:], labels[16:]) == 1.0
    clf.save_pretrained(tmp_path / "m")
    again = mrekv.PromptClassifier.from_pretrained(tmp_path / "m", progress=False)
    assert again.ngram_weight_ == clf.ngram_weight_
    assert np.allclose(again.predict_proba(texts), clf.predict_proba(texts), atol=1e-6)
    # a saved weight without its expert file is refused, naming the file
    (tmp_path / "m" / "ngram_expert.json").unlink()
    with pytest.raises(mrekv.SaveFormatError, match="ngram_expert.json"):
        mrekv.PromptClassifier.from_pretrained(tmp_path / "m", progress=False)


def test_without_the_expert_the_head_is_alone(causal_lm):
    import mrekv

    model, tokenizer = causal_lm("llama")
    texts, labels = synthetic_task(12, seed=3)
    clf = mrekv.PromptClassifier(model, tokenizer=tokenizer, template="{text} It was {mask}",
                                 verbalizer=VERBALIZER_WORDS, train_mode="frozen",
                                 ngram_expert=False, progress=False).fit(texts, labels)
    assert clf.ngram_expert_ is None and clf.ngram_weight_ == 0.0
    assert clf.history_[0]["ngram_expert"] == {"beta": 0.0,
                                               "temperature": clf.prior_head_.temperature_}


def test_the_head_temperature_is_fitted_out_of_fold_saved_and_changes_no_prediction(
        causal_lm, tmp_path):
    import mrekv
    from mrekv.metrics import fit_temperature
    from mrekv.prompt.ngram_expert import TEMPERATURE_PRIOR_SD

    model, tokenizer = causal_lm("llama")
    texts, labels = synthetic_task(20, seed=4)
    clf = mrekv.PromptClassifier(model, tokenizer=tokenizer, template="{text} It was {mask}",
                                 verbalizer=VERBALIZER_WORDS, train_mode="frozen",
                                 ngram_expert=False, progress=False).fit(texts, labels)
    head = clf.prior_head_
    y = np.array([list(clf.classes_).index(label) for label in labels])
    assert head.temperature_ == pytest.approx(
        fit_temperature(head.oof_logits_, y, prior_sd=TEMPERATURE_PRIOR_SD), abs=1e-4)
    assert head.temperature_ != 1.0
    proba = clf.predict_proba(texts)
    head.temperature_ = 1.0
    untempered = clf.predict_proba(texts)
    assert (proba.argmax(1) == untempered.argmax(1)).all()
    assert not np.allclose(proba, untempered)
    head.temperature_ = float(clf.history_[0]["ngram_expert"]["temperature"])
    clf.save_pretrained(tmp_path / "m")
    again = mrekv.PromptClassifier.from_pretrained(tmp_path / "m", progress=False)
    assert np.allclose(again.predict_proba(texts), proba, atol=1e-6)
    # a folder saved before temperatures existed loads untempered; a bad one is named
    path = tmp_path / "m" / "mrekv_config.json"
    config = json.loads(path.read_text("utf-8"))
    config["prior_head"].pop("temperature")
    config.pop("checksums")  # old folders have none
    path.write_text(json.dumps(config), "utf-8")
    old = mrekv.PromptClassifier.from_pretrained(tmp_path / "m", progress=False)
    assert np.allclose(old.predict_proba(texts), untempered, atol=1e-6)
    config["prior_head"]["temperature"] = -1
    path.write_text(json.dumps(config), "utf-8")
    with pytest.raises(mrekv.SaveFormatError, match="temperature"):
        mrekv.PromptClassifier.from_pretrained(tmp_path / "m", progress=False)


def test_folders_saved_before_the_prior_default_load_as_word_weights(causal_lm, tmp_path):
    import mrekv

    model, tokenizer = causal_lm("llama")
    clf = mrekv.PromptClassifier(model, tokenizer=tokenizer, template="{text} It was {mask}",
                                 verbalizer=VERBALIZER_WORDS, train_mode="frozen",
                                 frozen_head="word-weights", progress=False)
    clf.save_pretrained(tmp_path / "old")
    path = tmp_path / "old" / "mrekv_config.json"
    config = json.loads(path.read_text("utf-8"))
    for key in ("frozen_head", "ngram_expert", "prior_head", "checksums"):
        config.pop(key)
    path.write_text(json.dumps(config), "utf-8")
    again = mrekv.PromptClassifier.from_pretrained(tmp_path / "old", progress=False)
    assert again.frozen_head == "word-weights" and not again.uses_prior_head


def test_an_unknown_frozen_head_lists_the_choices(causal_lm):
    import mrekv

    model, tokenizer = causal_lm("llama")
    with pytest.raises(mrekv.ConfigError, match="'prior', 'word-weights'"):
        mrekv.PromptClassifier(model, tokenizer=tokenizer, verbalizer=VERBALIZER_WORDS,
                               train_mode="frozen", frozen_head="mlp", progress=False)
