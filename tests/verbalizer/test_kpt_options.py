"""KPT's rules as native options of KnowledgeableVerbalizer (mrekv.verbalizer.kpt)."""

from __future__ import annotations

import math

import pytest
import torch
from _verbalizer_fakes import FakeTokenizer, logits_from_probs

from mrekv.errors import ConfigError
from mrekv.verbalizer.knowledgeable import KnowledgeableVerbalizer
from mrekv.verbalizer.kpt import drop_shared_words, project_logits, tfidf_keep, vocab_rank_cut
from mrekv.verbalizer.label_words import LabelWords


def test_drop_shared_words_removes_one_later_copy_per_class():
    lists = [["bad", "fine", "awful", "awful"], ["good", "fine"], ["fine", "ok"]]
    out = drop_shared_words(lists)
    # "fine" is first in class 2 (never removed there) and later elsewhere (removed);
    # "awful" repeated in one class loses one copy
    assert out == [["bad", "awful"], ["good"], ["fine", "ok"]]
    assert lists[0] == ["bad", "fine", "awful", "awful"]  # the caller's lists are untouched


def test_drop_shared_words_compares_raw_strings():
    assert drop_shared_words([["bad", " awful"], ["good", "awful"]]) == [
        ["bad", " awful"],
        ["good", "awful"],
    ]


def test_shared_words_default_keeps_everything():
    lw = LabelWords.from_lists(["neg", "pos"], [["bad", "awful", "good"], ["good", "great"]])
    keep = KnowledgeableVerbalizer(lw).prepare(FakeTokenizer())
    drop = KnowledgeableVerbalizer(lw, shared_words="drop").prepare(FakeTokenizer())
    assert keep.words_kept() == {"neg": 3, "pos": 2}
    assert drop.words_kept() == {"neg": 2, "pos": 2}
    assert drop.label_words == lw  # the given words are kept, so the config round-trips
    again = KnowledgeableVerbalizer.from_config(drop.to_config()).prepare(FakeTokenizer())
    assert again.words_kept() == {"neg": 2, "pos": 2}


def test_unknown_options_list_the_choices():
    lw = LabelWords.from_lists(["neg", "pos"], [["bad"], ["good"]])
    with pytest.raises(ConfigError, match="'keep', 'drop'"):
        KnowledgeableVerbalizer(lw, shared_words="remove")
    with pytest.raises(ConfigError, match="'mean-prob', 'mean-logits'"):
        KnowledgeableVerbalizer(lw, prior="softmax")
    v = KnowledgeableVerbalizer(lw).prepare(FakeTokenizer())
    with pytest.raises(ConfigError, match="'mrekv', 'kpt'"):
        v.refine_frequency(logits_from_probs([0.1, 0.2, 0.2, 0.2, 0.2, 0.1]), refine="openprompt")


def test_mean_logits_prior_is_the_distribution_of_the_mean_logits():
    lw = LabelWords.from_lists(["neg", "pos"], [["bad"], ["good"]])  # ids 3 | 1
    texts = logits_from_probs([0.1, 0.6, 0.1, 0.1, 0.05, 0.05], [0.1, 0.2, 0.1, 0.5, 0.05, 0.05])
    mean_logits = texts.mean(dim=0)[0]
    z_bad, z_good = float(mean_logits[3]), float(mean_logits[1])
    expected_bad = math.exp(z_bad) / (math.exp(z_bad) + math.exp(z_good))
    v = KnowledgeableVerbalizer(lw, prior="mean-logits").prepare(FakeTokenizer()).calibrate(texts)
    assert v.prior is not None
    assert float(v.prior[0]) == pytest.approx(expected_bad, rel=1e-5)
    # mrekv's default, the mean of the per-text distributions: (0.1/0.7 + 0.5/0.7) / 2
    d = KnowledgeableVerbalizer(lw).prepare(FakeTokenizer()).calibrate(texts)
    assert d.prior is not None
    assert float(d.prior[0]) == pytest.approx((0.1 / 0.7 + 0.5 / 0.7) / 2, rel=1e-5)
    assert float(v.prior[0]) != pytest.approx(float(d.prior[0]), rel=1e-3)


def test_vocab_rank_cut_drops_words_with_any_low_ranked_token():
    mean = torch.tensor([5.0, 0.0, 3.0, -1.0, 4.0, 2.0])  # ranks: id 3 lowest, then 1, then 5
    ids = torch.tensor([[2, 0], [3, 0], [4, 1]])
    mask = torch.tensor([[True, False], [True, False], [True, True]])
    assert vocab_rank_cut(mean, ids, mask, 0.34).tolist() == [
        False,
        True,
        True,
    ]  # int(2.04) = 2 ids cut
    assert vocab_rank_cut(mean, ids, mask, 0.0).tolist() == [False, False, False]
    with pytest.raises(ConfigError):
        vocab_rank_cut(mean, ids, mask, 1.5)


def test_refine_frequency_kpt_cuts_by_vocabulary_rank():
    lw = LabelWords.from_lists(["neg", "pos"], [["bad", "awful"], ["good", "great"]])
    v = KnowledgeableVerbalizer(lw).prepare(FakeTokenizer())
    # mean probabilities: [UNK] .3, good .25, great .05, bad .2, awful .1, [MASK] .1
    texts = logits_from_probs([0.3, 0.25, 0.05, 0.2, 0.1, 0.1])
    v.refine_frequency(
        texts, ratio=2 / 6, refine="kpt"
    )  # cuts the 2 lowest ids: great (2), then awful or [MASK]
    kept = v.words_kept()
    assert kept["pos"] == 1
    with pytest.raises(ConfigError, match="every label word of class"):
        KnowledgeableVerbalizer(lw).prepare(FakeTokenizer()).refine_frequency(
            texts, ratio=0.99, refine="kpt"
        )


def test_project_logits_handlers():
    z = torch.tensor([[0.0, 1.0, 2.0, 3.0]])
    ids = torch.tensor([[1, 3], [2, 0]])
    mask = torch.tensor([[1, 1], [1, 0]])
    assert project_logits(z, ids, mask, "first").tolist() == [[1.0, 2.0]]
    assert project_logits(z, ids, mask, "max").tolist() == [[3.0, 2.0]]
    assert project_logits(z, ids, mask, "mean")[0].tolist() == pytest.approx([2.0, 2.0])


def test_tfidf_keeps_the_words_specific_to_their_class():
    torch.manual_seed(0)
    a, b, c = torch.randn(3, 12)
    # class 0: name a, a word close to a, a word close to b; class 1: name b, two words near b;
    # class 2: name c, one word near c
    scores = torch.stack(
        [
            a,
            a + 0.1 * torch.randn(12),
            b + 0.1 * torch.randn(12),
            b,
            b + 0.1 * torch.randn(12),
            b + 0.2 * torch.randn(12),
            c,
            c + 0.1 * torch.randn(12),
        ],
        dim=1,
    )
    result = tfidf_keep(scores, [0, 0, 0, 1, 1, 1, 2, 2], [0, 3, 6])
    assert 2 not in result.kept[0]  # the word that follows class 1's name is dropped from class 0
    assert result.norm_ord == pytest.approx(10 / 1.01 + 1)
    with pytest.raises(ConfigError, match="more than one label word"):
        tfidf_keep(scores[:, [0, 3, 6]], [0, 1, 2], [0, 1, 2])


def test_refine_relevance_kpt_needs_no_labels_and_keeps_learned_weights():
    lw = LabelWords.from_lists(["neg", "pos"], [["bad", "awful", "good"], ["good", "great"]])
    v = KnowledgeableVerbalizer(lw).prepare(FakeTokenizer())
    with torch.no_grad():
        v.word_logits.copy_(torch.tensor([0.5, -0.5, 0.3, 0.2, 0.1]))
    texts = logits_from_probs(
        [0.1, 0.3, 0.2, 0.1, 0.1, 0.2],
        [0.1, 0.1, 0.1, 0.4, 0.2, 0.1],
        [0.1, 0.35, 0.25, 0.05, 0.05, 0.2],
    )
    before = v.word_logits.detach().clone()
    v.refine_relevance(texts, refine="kpt")
    assert v.words_kept()["neg"] < 3  # "good" follows the other class's name word
    assert torch.equal(v.word_logits.detach(), before)


def test_label_word_log_probs_eps_is_openprompts_smoothing():
    from mrekv.verbalizer.knowledgeable import label_word_log_probs

    scores = torch.tensor([[0.0, -40.0, 1.0]])
    active = torch.tensor([True, True, False])
    exact = label_word_log_probs(scores, active)
    smooth = label_word_log_probs(scores, active, eps=1e-15)
    p_small = math.exp(-40.0) / (1 + math.exp(-40.0))
    assert float(exact[0, 1]) == pytest.approx(math.log(p_small), rel=1e-6)
    assert float(smooth[0, 1]) == pytest.approx(math.log(p_small + 1e-15), rel=1e-5)
    assert float(smooth[0, 0]) == pytest.approx(float(exact[0, 0]), abs=1e-6)
    assert float(smooth[0, 2]) == 0.0  # inactive words add nothing
