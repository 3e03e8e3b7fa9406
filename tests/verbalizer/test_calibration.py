"""Contextualized calibration and refinement of the knowledgeable verbalizer.

Includes regression tests for two known OpenPrompt bugs: calibration /
refinement resetting learned word weights, and breaking backward.
"""

from __future__ import annotations

import math

import pytest
import torch
from _verbalizer_fakes import FakeTokenizer, logits_from_probs

from mrekv.errors import ConfigError
from mrekv.verbalizer.knowledgeable import (
    KnowledgeableVerbalizer,
    label_word_log_probs,
    relevance_scores,
)
from mrekv.verbalizer.label_words import LabelWords

# label words in flat order: bad (id 3), awful (4) | good (1), great (2)
LW = LabelWords.from_lists(["neg", "pos"], [["bad", "awful"], ["good", "great"]])


def _vocab_probs(bad: float, awful: float, good: float, great: float) -> list[float]:
    """Vocabulary probabilities ([UNK], good, great, bad, awful, [MASK]) with the label
    words' share 0.8, so the label-word distribution is (bad, awful, good, great)."""
    return [0.1, 0.8 * good, 0.8 * great, 0.8 * bad, 0.8 * awful, 0.1]


def _verbalizer() -> KnowledgeableVerbalizer:
    return KnowledgeableVerbalizer(LW).prepare(FakeTokenizer())


def test_prior_is_mean_label_word_distribution():
    v = _verbalizer()
    unlabeled = logits_from_probs(
        _vocab_probs(0.4, 0.1, 0.2, 0.3), _vocab_probs(0.2, 0.3, 0.2, 0.3)
    )
    v.calibrate(unlabeled)
    assert v.prior.tolist() == pytest.approx([0.3, 0.2, 0.2, 0.3], abs=1e-6)


def test_calibrated_scores_divide_by_prior_and_renormalise():
    v = _verbalizer()
    v.calibrate(
        logits_from_probs(_vocab_probs(0.4, 0.1, 0.2, 0.3), _vocab_probs(0.2, 0.3, 0.2, 0.3))
    )
    # test text: label-word distribution (0.3125, 0.0625, 0.375, 0.25)
    ratios = [0.3125 / 0.3, 0.0625 / 0.2, 0.375 / 0.2, 0.25 / 0.3]
    total = sum(ratios)
    calibrated = [r / total for r in ratios]
    scores = v(logits_from_probs(_vocab_probs(0.3125, 0.0625, 0.375, 0.25)))[0].tolist()
    neg = 0.5 * (math.log(calibrated[0]) + math.log(calibrated[1]))
    pos = 0.5 * (math.log(calibrated[2]) + math.log(calibrated[3]))
    assert scores == pytest.approx([neg, pos], abs=1e-5)
    probs = v.label_word_probs(logits_from_probs(_vocab_probs(0.3125, 0.0625, 0.375, 0.25)))
    assert probs[0].tolist() == pytest.approx(calibrated, abs=1e-6)


def test_label_word_log_probs_with_given_prior():
    scores = torch.log(torch.tensor([[0.5, 0.25, 0.25, 0.0001]]))
    active = torch.tensor([True, True, True, False])
    prior = torch.tensor([0.5, 0.125, 0.375, 0.0])
    out = label_word_log_probs(scores, active, prior)
    # (0.5/0.5, 0.25/0.125, 0.25/0.375) = (1, 2, 2/3) -> / (11/3)
    assert out.exp()[0, :3].tolist() == pytest.approx([3 / 11, 6 / 11, 2 / 11], abs=1e-6)
    assert out[0, 3].item() == 0.0


def test_frequency_refinement_drops_rare_words():
    v = _verbalizer()
    # prior (0.4, 0.05, 0.25, 0.3): neg mean 0.225 -> threshold 0.1125 drops awful;
    # pos mean 0.275 -> threshold 0.1375 keeps both
    v.calibrate(logits_from_probs(_vocab_probs(0.4, 0.05, 0.25, 0.3)))
    v.refine_frequency(ratio=0.5)
    assert v.words_kept() == {"neg": 1, "pos": 2}
    assert v.word_report()["neg"]["dropped_refinement"] == ["awful"]
    # a large ratio keeps each class's most frequent word
    v.refine_frequency(ratio=10.0)
    assert v.words_kept() == {"neg": 1, "pos": 1}
    assert v.word_report()["pos"]["dropped_refinement"] == ["good"]


def test_frequency_refinement_from_mask_inputs_and_errors():
    v = _verbalizer()
    with pytest.raises(RuntimeError, match="calibrat"):
        v.refine_frequency()
    v.refine_frequency(logits_from_probs(_vocab_probs(0.4, 0.05, 0.25, 0.3)), ratio=0.5)
    assert v.prior is None  # refinement alone does not calibrate
    assert v.words_kept() == {"neg": 1, "pos": 2}
    with pytest.raises(ConfigError):
        v.refine_frequency(ratio=-1)


def test_relevance_scores_by_hand():
    probs = torch.tensor([[0.5, 0.1, 0.1, 0.3], [0.1, 0.4, 0.3, 0.2]])
    labels = torch.tensor([0, 1])
    word_class = torch.tensor([0, 0, 1, 1])
    rel = relevance_scores(probs, labels, word_class, 2)
    # one support text per class: cos(q_w, 1_y) = probs[y, w] / |q_w|, so
    # r(w) = probs[own, w] / probs[other, w]
    assert rel.tolist() == pytest.approx([5.0, 0.25, 3.0, 2 / 3], abs=1e-5)


def test_relevance_refinement():
    v = _verbalizer()
    support = logits_from_probs(_vocab_probs(0.5, 0.1, 0.1, 0.3), _vocab_probs(0.1, 0.4, 0.3, 0.2))
    v.refine_relevance(support, [0, 1])
    assert v.words_kept() == {"neg": 1, "pos": 1}
    assert v.word_report()["neg"]["dropped_refinement"] == ["awful"]
    assert v.word_report()["pos"]["dropped_refinement"] == ["great"]
    with pytest.raises(ValueError, match="labels"):
        v.refine_relevance(support, [0])


def test_relevance_skips_class_without_support():
    v = _verbalizer()
    support = logits_from_probs(_vocab_probs(0.5, 0.1, 0.1, 0.3))
    v.refine_relevance(support, [0])
    # neg: r = cos(own) / cos(pos) where pos has no text -> cos 0 -> inf: kept
    assert v.words_kept() == {"neg": 2, "pos": 2}


def _train(v: KnowledgeableVerbalizer, steps: int = 5) -> None:
    torch.manual_seed(1)
    x, y = torch.randn(16, 1, 6), torch.tensor([0, 1] * 8)
    opt = torch.optim.Adam(v.parameters(), lr=0.1)
    for _ in range(steps):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(v(x), y).backward()
        opt.step()


@pytest.mark.parametrize("step", ["calibrate", "frequency", "relevance", "all"])
def test_calibration_and_refinement_keep_trained_weights_and_backward(step):
    lw = LabelWords.from_lists(
        ["neg", "pos"], [["bad", "awful", "great+bad"], ["good", "great", "good+great"]]
    )
    v = KnowledgeableVerbalizer(lw, aggregate="mean").prepare(FakeTokenizer())
    _train(v)
    trained = v.word_logits.detach().clone()
    assert not torch.equal(trained, torch.zeros_like(trained))
    torch.manual_seed(2)
    unlabeled = torch.randn(10, 1, 6) * 3
    if step in ("calibrate", "all"):
        v.calibrate(unlabeled)
    if step in ("frequency", "all"):
        v.refine_frequency(unlabeled, ratio=0.9)
    if step in ("relevance", "all"):
        v.refine_relevance(unlabeled, [0, 1] * 5, threshold=0.9)
    if step != "calibrate":
        assert sum(v.words_kept().values()) < 6  # something was refined away
    # the parameter itself is untouched: the surviving weights are bit-identical
    assert torch.equal(v.word_logits.detach(), trained)
    assert v.word_logits.requires_grad
    kept = v.active()
    weights = v.class_weights()
    for c, name in enumerate(v.classes):
        idx = [w for w in range(6) if v.word_class[w] == c and kept[w]]
        expected = torch.softmax(trained[idx], dim=0).tolist()
        assert list(weights[name].values()) == pytest.approx(expected, abs=1e-6)
    # forward + backward still work, with finite, non-zero gradients
    v.zero_grad()
    x = torch.randn(4, 1, 6, requires_grad=True)
    loss = torch.nn.functional.cross_entropy(v(x), torch.tensor([0, 1, 0, 1]))
    loss.backward()
    assert torch.isfinite(loss)
    grad = v.word_logits.grad
    assert grad is not None and torch.isfinite(grad).all()
    for c in range(v.num_classes):
        members = v.membership[c] & kept
        if members.sum() > 1:  # a lone word has weight 1 whatever its logit
            assert grad[members].abs().sum() > 0
    assert max(v.words_kept().values()) > 1
    assert torch.equal(grad[~kept], torch.zeros_like(grad[~kept]))
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    # training continues from the trained values
    _train(v, steps=2)
    assert torch.isfinite(v.word_logits).all()
