"""PromptClassifier: zero-shot, training, calibration, determinism, languages, batching."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _prompt_standins import (
    KEYWORDS,
    VERBALIZER_WORDS,
    StandInVerbalizer,
    one_thread,
    synthetic_task,
)
from mrekv_testing import build_tiny_mlm

from mrekv.errors import ConfigError
from mrekv.prompt.classifier import PromptClassifier
from mrekv.prompt.template import Template

CLASSES = list(KEYWORDS)
TEMPLATE = Template("{text} It was {mask}.")


@pytest.fixture(autouse=True, scope="module")
def _single_thread():
    yield from one_thread()


def make(tokenizer, *, seed=0, model_seed=0, **kwargs):
    options = {
        "template": TEMPLATE,
        "verbalizer": StandInVerbalizer(CLASSES, VERBALIZER_WORDS),
        "learning_rate": 3e-3,
        "verbalizer_learning_rate": 1e-2,
        "epochs": 15,
        "progress": False,
        "seed": seed,
        "device": "cpu",
    }
    options.update(kwargs)
    model = build_tiny_mlm(tokenizer, seed=model_seed)
    return PromptClassifier(model, tokenizer=tokenizer, **options)


@pytest.fixture(scope="module")
def en(hf_tokenizer):
    return hf_tokenizer("en")


@pytest.fixture(scope="module")
def task():
    return synthetic_task(20, seed=0), synthetic_task(10, seed=1)


def test_zero_shot_probabilities_have_one_row_per_text_summing_to_one(en):
    clf = make(en)
    proba = clf.predict_proba(["a film", "the pizza was cold and late", "guitar"])
    assert proba.shape == (3, 3)
    assert np.allclose(proba.sum(axis=1), 1.0, atol=1e-12)
    assert (proba > 0).all()
    assert clf.classes_ == tuple(CLASSES)
    assert set(clf.predict(["a film"])) <= set(CLASSES)


def test_predictions_do_not_depend_on_batch_composition_or_order(en):
    clf = make(en, eval_batch_size=2)
    texts = ["short", "a much longer sentence with many words in it", "mid size text", "x y"]
    together = clf.predict_proba(texts)
    reversed_ = clf.predict_proba(texts[::-1])[::-1]
    one_by_one = np.vstack([clf.predict_proba([t]) for t in texts])
    np.testing.assert_allclose(together, reversed_, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(together, one_by_one, rtol=1e-5, atol=1e-7)


def test_mask_only_head_gives_the_full_forward_scores(en):
    clf = make(en)
    assert clf.module_.head_name == "cls"  # BERT's head was located and verified
    enc = clf._encode(["the guitar was loud", "pizza"])
    split = clf._scores(enc)
    clf.module_.head_name = None  # force the full forward + gather fallback
    full = clf._scores(enc)
    torch.testing.assert_close(split, full, rtol=1e-4, atol=1e-5)


def test_fit_learns_a_keyword_task(en, task):
    (train_x, train_y), (test_x, test_y) = task
    clf = make(en).fit(train_x, train_y)
    assert clf.score(test_x, test_y) >= 0.95
    assert len(clf.history_) == 16  # the untrained point plus 15 epochs
    assert clf.history_[-1]["train_loss"] < clf.history_[1]["train_loss"]


def test_best_dev_checkpoint_is_restored(en, task):
    (train_x, train_y), _ = task
    # Dev = the training texts with shifted labels: the better training fits,
    # the worse dev gets, so the best dev state is an early one, not the last.
    shift = {c: CLASSES[(i + 1) % 3] for i, c in enumerate(CLASSES)}
    dev_y = [shift[y] for y in train_y]
    clf = make(en, epochs=8).fit(train_x, train_y, train_x, dev_y)
    scores = [h["dev_score"] for h in clf.history_]
    assert scores[-1] < max(scores)
    assert clf.score(train_x, dev_y) == pytest.approx(max(scores))


def test_same_seed_same_predictions_other_seed_differs(en, task):
    (train_x, train_y), (test_x, _) = task
    a = make(en, seed=7, max_steps=6).fit(train_x, train_y).predict_proba(test_x)
    b = make(en, seed=7, max_steps=6).fit(train_x, train_y).predict_proba(test_x)
    c = make(en, seed=8, max_steps=6).fit(train_x, train_y).predict_proba(test_x)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_calibrate_sets_the_prior_and_training_still_backpropagates(en, task):
    (train_x, train_y), (test_x, _) = task
    clf = make(en, max_steps=3)
    before = clf.predict_proba(test_x)
    clf.calibrate(test_x)
    prior = clf.verbalizer_.prior.clone()
    assert not torch.equal(prior, torch.ones(3))
    assert prior.sum().item() == pytest.approx(1.0)
    # calibrated scores = uncalibrated log-probs - log(prior): check by hand on one row
    expected = np.log(before) - np.log(prior.numpy())[None, :]
    expected = np.exp(expected) / np.exp(expected).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(clf.predict_proba(test_x), expected, rtol=1e-5)
    word_embeddings = clf.model_.get_input_embeddings().weight.detach().clone()
    bias = clf.verbalizer_.bias.detach().clone()
    clf.fit(train_x, train_y)
    assert not torch.equal(clf.verbalizer_.bias.detach(), bias)
    assert not torch.equal(clf.model_.get_input_embeddings().weight.detach(), word_embeddings)
    assert torch.equal(clf.verbalizer_.prior, prior)  # training leaves the prior alone


def test_unknown_labels_are_named_with_the_classes(en):
    clf = make(en)
    with pytest.raises(ValueError, match=r"\['cars', 'trees'\].*'sports'"):
        clf.fit(["a", "b", "c"], ["sports", "cars", "trees"])


def test_multi_label_and_missing_labels_are_refused_not_merged_into_classes(en):
    clf = make(en)
    with pytest.raises(ValueError, match=r"labels\[1\] is a list.*multi-label"):
        clf.fit(["a", "b"], ["food", ["food", "sports"]])
    with pytest.raises(ValueError, match=r"dev_labels\[0\] is None"):
        clf.fit(["a"], ["food"], dev_texts=["b"], dev_labels=[None])
    assert clf.classes_ == make(en).classes_  # nothing was set from the refused labels


def test_lengths_and_dev_arguments_are_checked(en):
    clf = make(en)
    with pytest.raises(ValueError, match="2 texts but 1 labels"):
        clf.fit(["a", "b"], ["food"])
    with pytest.raises(ValueError, match="both dev_texts and dev_labels"):
        clf.fit(["a"], ["food"], dev_texts=["b"])
    with pytest.raises(TypeError, match="single string"):
        clf.predict_proba("a text")


def test_classes_must_agree_with_the_verbalizer(en):
    with pytest.raises(ConfigError, match="disagree"):
        make(en, classes=["food", "sports", "music"])


def test_a_loaded_model_needs_its_tokenizer(en):
    with pytest.raises(ConfigError, match="tokenizer="):
        PromptClassifier(build_tiny_mlm(en), template=TEMPLATE, device="cpu")


def test_long_texts_are_truncated_to_max_length(en):
    clf = make(en, max_length=16)
    enc = clf._encode(["word " * 200])
    assert len(enc[0].input_ids) <= 16
    assert clf.predict_proba(["word " * 200]).shape == (1, 3)


@pytest.mark.parametrize("lang", ["ja", "zh"])
def test_japanese_and_chinese_models_train_and_predict(lang, tiny_mlm_dir):
    words = {"ja": ["良い", "悪い", "音"], "zh": ["好", "坏", "音"]}[lang]
    texts = {"ja": ["この料理はとても美味しい。", "試合は面白かった。", "ギターの音がいい。"],
             "zh": ["这家餐厅很好吃。", "比赛很精彩。", "吉他的声音很好听。"]}[lang]
    clf = PromptClassifier(
        str(tiny_mlm_dir(lang)),
        template=Template("{text}{mask}。"),
        verbalizer=StandInVerbalizer(CLASSES, {c: [words[i]] for i, c in enumerate(CLASSES)}),
        max_steps=2,
        batch_size=2,
        progress=False,
        device="cpu",
    )
    first = clf.predict_proba(texts)
    clf.fit(texts, ["food", "sports", "music"])
    after = clf.predict_proba(texts)
    assert first.shape == after.shape == (3, 3)
    assert not np.array_equal(first, after)


# -- with the library's verbalizers ----------------------------------------------------


def test_word_lists_and_mappings_become_manual_verbalizers(en):
    from mrekv.verbalizer.manual import ManualVerbalizer

    model = build_tiny_mlm(en)
    common = {"tokenizer": en, "template": TEMPLATE, "progress": False, "device": "cpu"}
    by_map = PromptClassifier(model, verbalizer={"neg": ["bad"], "pos": ["good"]}, **common)
    by_list = PromptClassifier(
        model, verbalizer=[["bad"], ["good"]], classes=["neg", "pos"], **common
    )
    assert isinstance(by_map.verbalizer_, ManualVerbalizer)
    assert by_map.classes_ == by_list.classes_ == ("neg", "pos")
    texts = ["a fine film", "dull"]
    np.testing.assert_array_equal(by_map.predict_proba(texts), by_list.predict_proba(texts))
    with pytest.raises(ConfigError, match="needs classes="):
        PromptClassifier(model, verbalizer=[["bad"], ["good"]], **common)
    with pytest.raises(ConfigError, match="unsupported verbalizer int"):
        PromptClassifier(model, verbalizer=3, **common)


def test_label_words_become_a_knowledgeable_verbalizer_that_calibrates_and_trains(en, task):
    from mrekv.verbalizer.knowledgeable import KnowledgeableVerbalizer
    from mrekv.verbalizer.label_words import LabelWords

    (train_x, train_y), (test_x, test_y) = task
    words = LabelWords.from_lists(CLASSES, [["good", "ball"], ["bad", "food"], ["great", "song"]])
    clf = make(en, verbalizer=words, max_steps=None, epochs=15)
    assert isinstance(clf.verbalizer_, KnowledgeableVerbalizer)
    clf.calibrate(test_x)
    assert clf.verbalizer_.prior is not None
    weights = clf.verbalizer_.word_logits.detach().clone()
    clf.fit(train_x, train_y)
    assert not torch.equal(clf.verbalizer_.word_logits.detach(), weights)
    assert clf.score(test_x, test_y) >= 0.95


def test_multi_mask_verbalizer_gets_as_many_masks_as_its_longest_word(en, task):
    from mrekv.verbalizer.manual import ManualVerbalizer

    (train_x, train_y), _ = task
    # "pizzeria" and "cheeseburger" are three word pieces in bert-base-uncased
    words = {"sports": ["football"], "food": ["pizzeria", "cheeseburger"], "music": ["guitar"]}
    verbalizer = ManualVerbalizer(CLASSES, words, aggregate="multi-mask")
    clf = make(en, verbalizer=verbalizer, max_steps=2)
    masks = clf.verbalizer_.num_masks
    assert masks == 3
    encoded = clf._encode(["a test"])[0]
    assert len(encoded.mask_positions) == masks
    assert [encoded.input_ids[p] for p in encoded.mask_positions] == [en.mask_token_id] * masks
    before = clf.predict_proba(train_x[:5])
    after = clf.fit(train_x, train_y).predict_proba(train_x[:5])
    assert before.shape == (5, 3) and not np.array_equal(before, after)


def test_without_words_a_soft_verbalizer_is_built_from_the_training_labels(en, task):
    from mrekv.verbalizer.soft import SoftVerbalizer

    (train_x, train_y), (test_x, test_y) = task
    clf = make(en, verbalizer=None, epochs=20)
    with pytest.raises(ConfigError, match="no verbalizer yet"):
        clf.predict(["x"])
    clf.fit(train_x, train_y)
    assert isinstance(clf.verbalizer_, SoftVerbalizer)
    assert clf.classes_ == ("food", "music", "sports")
    assert clf.score(test_x, test_y) >= 0.95
    # the hidden-state path: encoder + pick equals the full forward's last hidden state
    assert clf.module_.head_name == "cls"
    hidden = clf.mask_inputs(test_x[:4])
    assert hidden.shape == (4, 1, 32)
    clf.module_.head_name = None
    torch.testing.assert_close(clf.mask_inputs(test_x[:4]), hidden, rtol=1e-4, atol=1e-5)
    with pytest.raises(NotImplementedError, match="does not calibrate"):
        clf.calibrate(test_x)


def test_mask_inputs_are_the_vocabulary_logits_at_the_mask_in_input_order(en):
    clf = make(en, eval_batch_size=2)
    texts = ["a long sentence about football and more", "pizza", "guitar song"]
    logits = clf.mask_inputs(texts)
    assert logits.shape == (3, 1, len(en))
    enc = clf._encode(texts[1:2])[0]
    with torch.no_grad():
        full = clf.model_(input_ids=torch.tensor([enc.input_ids])).logits[0, enc.mask_positions]
    torch.testing.assert_close(logits[1], full, rtol=1e-4, atol=1e-5)
