"""train_mode="prior": fit, predict, calibrate in either order, save and load."""

from __future__ import annotations

import numpy as np
import pytest
from _prompt_standins import KEYWORDS, VERBALIZER_WORDS, synthetic_task


def _data():
    return synthetic_task(12, seed=3)


@pytest.fixture(scope="module")
def fitted(causal_lm):
    import mrekv

    model, tokenizer = causal_lm("llama")
    texts, labels = _data()
    clf = mrekv.PromptClassifier(model, tokenizer=tokenizer, template="{text} It was {mask}",
                                 verbalizer=VERBALIZER_WORDS, train_mode="prior",
                                 progress=False)
    clf.calibrate(texts[:6]).fit(texts, labels)
    return clf, texts, labels


def test_prior_mode_fits_a_head_and_records_its_choice(fitted):
    clf, texts, labels = fitted
    assert clf.prior_head_ is not None and clf.prior_head_.choice_.folds >= 2
    assert clf.history_[0]["head"]["prior"] in ("verbalizer", "none")
    proba = clf.predict_proba(texts)
    assert proba.shape == (len(texts), len(clf.classes_))
    assert np.allclose(proba.sum(1), 1)
    # the keyword task is linearly separable in the state: the head learns it
    assert clf.score(texts, labels) > 0.9


def test_prior_mode_round_trips_through_save_pretrained(fitted, tmp_path):
    import mrekv

    clf, texts, _ = fitted
    clf.save_pretrained(tmp_path / "m")
    again = mrekv.PromptClassifier.from_pretrained(tmp_path / "m", progress=False)
    assert again.prior_head_.choice_ == clf.prior_head_.choice_
    assert np.allclose(again.predict_proba(texts), clf.predict_proba(texts), atol=1e-5)


def test_a_kept_prior_predicts_like_the_verbalizer(causal_lm):
    import mrekv
    from mrekv.prompt import prior_mode

    model, tokenizer = causal_lm("llama")
    texts, labels = _data()
    clf = mrekv.PromptClassifier(model, tokenizer=tokenizer, template="{text} It was {mask}",
                                 verbalizer={c: [KEYWORDS[c]] for c in KEYWORDS},
                                 train_mode="prior", progress=False)
    zero_shot = clf.predict(texts)
    history = prior_mode.fit_prior_head(clf, texts[:3], [0, 1, 0], None)  # too few: no CV
    assert history[0]["head"]["kept_prior"] and history[0]["head"]["folds"] == 0
    assert clf.predict(texts) == zero_shot


def test_calibrating_after_fit_equals_calibrating_first(causal_lm):
    import mrekv

    model, tokenizer = causal_lm("llama")
    texts, labels = _data()

    def make():
        return mrekv.PromptClassifier(model, tokenizer=tokenizer,
                                      template="{text} It was {mask}",
                                      verbalizer=VERBALIZER_WORDS, train_mode="prior",
                                      progress=False)

    first = make().calibrate(texts[:6]).fit(texts, labels)
    after = make().fit(texts, labels).calibrate(texts[:6])
    assert after.prior_head_.choice_ == first.prior_head_.choice_
    assert np.allclose(after.predict_proba(texts), first.predict_proba(texts), atol=1e-6)
