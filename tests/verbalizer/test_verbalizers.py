"""Manual / knowledgeable / soft verbalizers: hand-computed scores, config round trips."""

from __future__ import annotations

import json
import math

import pytest
import torch
from _verbalizer_fakes import FakeTokenizer, logits_from_probs
from mrekv_testing import build_tiny_mlm

from mrekv.errors import ConfigError
from mrekv.verbalizer.knowledgeable import KnowledgeableVerbalizer, class_word_weights
from mrekv.verbalizer.label_words import LabelWord, LabelWords
from mrekv.verbalizer.manual import ManualVerbalizer
from mrekv.verbalizer.registry import verbalizer_from_config
from mrekv.verbalizer.soft import SoftVerbalizer


@pytest.fixture
def fake_tokenizer() -> FakeTokenizer:
    return FakeTokenizer()


# vocabulary probabilities at the mask: [UNK], good, great, bad, awful, [MASK]
P = [0.1, 0.3, 0.2, 0.25, 0.05, 0.1]


def _lw(neg=("bad", "awful"), pos=("good", "great"), neg_scores=None, pos_scores=None):
    neg_scores = neg_scores or [1.0] * len(neg)
    pos_scores = pos_scores or [1.0] * len(pos)
    return LabelWords(
        ("neg", "pos"),
        {
            "neg": tuple(LabelWord(w, s) for w, s in zip(neg, neg_scores, strict=True)),
            "pos": tuple(LabelWord(w, s) for w, s in zip(pos, pos_scores, strict=True)),
        },
    )


# ---------------------------------------------------------------- manual


def test_manual_scores_are_log_mean_word_probability(fake_tokenizer):
    v = ManualVerbalizer(["neg", "pos"], {"neg": ["bad", "awful"], "pos": ["good", "great"]})
    v.prepare(fake_tokenizer)
    scores = v(logits_from_probs(P))
    expected = [math.log((0.25 + 0.05) / 2), math.log((0.3 + 0.2) / 2)]
    assert scores.shape == (1, 2)
    assert scores[0].tolist() == pytest.approx(expected, abs=1e-6)
    # class probabilities 0.15 / 0.40 and 0.25 / 0.40
    assert scores.softmax(-1)[0].tolist() == pytest.approx([0.375, 0.625], abs=1e-6)


def test_manual_list_words_and_single_word_string(fake_tokenizer):
    v = ManualVerbalizer(["neg", "pos"], ["bad", ["good", "great"]]).prepare(fake_tokenizer)
    scores = v(logits_from_probs(P))[0].tolist()
    assert scores == pytest.approx([math.log(0.25), math.log(0.25)], abs=1e-6)


def test_manual_drops_unknown_words_and_reports(fake_tokenizer):
    v = ManualVerbalizer(["neg", "pos"], [["bad", "dreadful"], ["good", ""]])
    v.prepare(fake_tokenizer)
    assert v.words_kept() == {"neg": 1, "pos": 1}
    report = v.word_report()
    assert report["neg"] == {"given": 2, "kept": 1, "dropped_tokenization": ["dreadful"]}
    assert report["pos"]["dropped_tokenization"] == [""]
    # the mean is over the surviving words only
    assert v(logits_from_probs(P))[0].tolist() == pytest.approx(
        [math.log(0.25), math.log(0.3)], abs=1e-6
    )
    with pytest.raises(ConfigError, match="'neg'.*survives"):
        ManualVerbalizer(["neg", "pos"], [["dreadful"], ["good"]]).prepare(fake_tokenizer)


def test_manual_calibration(fake_tokenizer):
    v = ManualVerbalizer(["neg", "pos"], [["bad"], ["good"]]).prepare(fake_tokenizer)
    # unlabeled texts: class distributions (0.2, 0.8) and (0.6, 0.4) -> prior (0.4, 0.6)
    unlabeled = logits_from_probs([0.1, 0.4, 0.2, 0.1, 0.1, 0.1], [0.1, 0.2, 0.1, 0.3, 0.2, 0.1])
    v.calibrate(unlabeled)
    assert v.prior.tolist() == pytest.approx([0.4, 0.6], abs=1e-6)
    # test text: p(bad)=0.25, p(good)=0.3 -> (0.25/0.4, 0.3/0.6) = (0.625, 0.5), renormalised
    probs = v(logits_from_probs(P)).exp()[0].tolist()
    assert probs == pytest.approx([0.625 / 1.125, 0.5 / 1.125], abs=1e-6)


def test_manual_config_round_trip(fake_tokenizer):
    v = ManualVerbalizer(["neg", "pos"], [["bad", "awful"], ["good"]], aggregate="mean")
    v.prepare(fake_tokenizer).calibrate(logits_from_probs(P, [0.2, 0.1, 0.3, 0.1, 0.2, 0.1]))
    cfg = json.loads(json.dumps(v.to_config()))
    v2 = verbalizer_from_config(cfg).prepare(fake_tokenizer)
    assert isinstance(v2, ManualVerbalizer) and v2.aggregate == "mean"
    x = torch.randn(3, 1, 6)
    assert torch.equal(v2(x), v(x))
    with pytest.raises(ConfigError, match="valid keys"):
        ManualVerbalizer.from_config({**cfg, "agregate": "max"})


def test_unknown_choices_are_listed():
    with pytest.raises(ConfigError, match="'first', 'mean', 'max', 'multi-mask'"):
        ManualVerbalizer(["a"], [["x"]], aggregate="sum")
    with pytest.raises(ConfigError, match="'uniform', 'score'"):
        KnowledgeableVerbalizer(_lw(), init_weights="random")
    with pytest.raises(ValueError, match="known types"):
        verbalizer_from_config({"type": "magic"})


# ---------------------------------------------------------------- knowledgeable


def test_knowledgeable_uniform_scores(fake_tokenizer):
    v = KnowledgeableVerbalizer(_lw()).prepare(fake_tokenizer)
    scores = v(logits_from_probs(P))[0].tolist()
    # label-word distribution over (bad, awful, good, great) = (0.25, 0.05, 0.3, 0.2) / 0.8
    neg = 0.5 * (math.log(0.3125) + math.log(0.0625))
    pos = 0.5 * (math.log(0.375) + math.log(0.25))
    assert scores == pytest.approx([neg, pos], abs=1e-6)


def test_knowledgeable_score_init_weights(fake_tokenizer):
    v = KnowledgeableVerbalizer(_lw(neg_scores=[3.0, 1.0]), init_weights="score")
    v.prepare(fake_tokenizer)
    assert v.class_weights() == {
        "neg": pytest.approx({"bad": 0.75, "awful": 0.25}),
        "pos": pytest.approx({"good": 0.5, "great": 0.5}),
    }
    scores = v(logits_from_probs(P))[0].tolist()
    neg = 0.75 * math.log(0.3125) + 0.25 * math.log(0.0625)
    assert scores[0] == pytest.approx(neg, abs=1e-6)
    with pytest.raises(ConfigError, match="positive scores"):
        KnowledgeableVerbalizer(_lw(neg_scores=[1.0, -2.0]), init_weights="score")


def test_class_word_weights_softmax_within_class():
    logits = torch.tensor([math.log(2.0), 0.0, 5.0, math.log(3.0), 0.0])
    membership = torch.tensor([[1, 1, 1, 0, 0], [0, 0, 0, 1, 1]], dtype=torch.bool)
    active = torch.tensor([True, True, False, True, True])
    w = class_word_weights(logits, membership, active)
    # class 0 over active words {0, 1}: (2, 1) / 3; class 1: (3, 1) / 4
    assert w[0].tolist() == pytest.approx([2 / 3, 1 / 3, 0, 0, 0])
    assert w[1].tolist() == pytest.approx([0, 0, 0, 0.75, 0.25])


def test_knowledgeable_from_label_words_top_k(fake_tokenizer):
    lw = _lw(neg=("bad", "awful", "dreadful"), pos=("good", "great", "nice"))
    v = KnowledgeableVerbalizer.from_label_words(lw, fake_tokenizer, top_k=2, aggregate="max")
    assert v.flat_words == ("bad", "awful", "good", "great")
    assert v.aggregate == "max" and v.words_kept() == {"neg": 2, "pos": 2}
    v = KnowledgeableVerbalizer.from_label_words(lw, fake_tokenizer)
    assert v.words_kept() == {"neg": 2, "pos": 2}
    assert v.word_report()["pos"]["dropped_tokenization"] == ["nice"]


def test_knowledgeable_config_round_trip_after_training(fake_tokenizer):
    v = KnowledgeableVerbalizer(_lw(neg=("bad", "awful", "great+bad"))).prepare(fake_tokenizer)
    torch.manual_seed(0)
    x, y = torch.randn(8, 1, 6), torch.tensor([0, 1] * 4)
    opt = torch.optim.SGD(v.parameters(), lr=1.0)
    for _ in range(3):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(v(x), y).backward()
        opt.step()
    v.calibrate(torch.randn(5, 1, 6)).refine_frequency(ratio=0.8)
    cfg = json.loads(json.dumps(v.to_config()))
    v2 = verbalizer_from_config(cfg).prepare(fake_tokenizer)
    v2.load_state_dict(v.state_dict())
    assert torch.equal(v2.word_logits, v.word_logits)
    assert torch.equal(v2.refined_out, v.refined_out)
    assert torch.equal(v2.prior, v.prior)
    assert torch.equal(v2(x), v(x))
    assert v2.words_kept() == v.words_kept()


# ---------------------------------------------------------------- soft


@pytest.fixture(scope="module")
def en_mlm(hf_tokenizer):
    tok = hf_tokenizer("en")
    return tok, build_tiny_mlm(tok)


def test_soft_head_initialised_from_output_embeddings(en_mlm):
    tok, model = en_mlm
    v = SoftVerbalizer(["neg", "pos"], [["bad", "awful"], ["good", "unbelievably"]])
    v.prepare(tok, model)
    emb = model.get_output_embeddings().weight.detach()
    bias = model.get_output_embeddings().bias.detach()
    ids = {w: tok(" " + w, add_special_tokens=False)["input_ids"] for w in ("bad", "awful", "good")}
    ids["unbelievably"] = tok(" unbelievably", add_special_tokens=False)["input_ids"]
    assert len(ids["unbelievably"]) == 5
    neg = (emb[ids["bad"][0]] + emb[ids["awful"][0]]) / 2
    pos = (emb[ids["good"][0]] + emb[ids["unbelievably"]].mean(dim=0)) / 2
    assert torch.allclose(v.head.weight[0], neg, atol=1e-6)
    assert torch.allclose(v.head.weight[1], pos, atol=1e-6)
    assert torch.allclose(v.head.bias[0], (bias[ids["bad"][0]] + bias[ids["awful"][0]]) / 2)
    # the transform is a copy of BERT's MLM transform, not the module itself
    src = model.cls.predictions.transform
    assert v.transform is not src
    assert torch.equal(v.transform.dense.weight, src.dense.weight)
    assert v.words_kept() == {"neg": 2, "pos": 2}


def test_soft_forward_train_and_round_trip(en_mlm):
    tok, model = en_mlm
    mlm_before = {k: t.clone() for k, t in model.state_dict().items()}
    v = SoftVerbalizer(["neg", "pos"], _lw()).prepare(tok, model)
    torch.manual_seed(0)
    hidden = torch.randn(4, 1, model.config.hidden_size)
    out = v(hidden)
    assert out.shape == (4, 2)
    assert torch.allclose(out.exp().sum(-1), torch.ones(4))
    opt = torch.optim.SGD(v.parameters(), lr=0.5)
    for _ in range(2):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(v(hidden), torch.tensor([0, 1, 0, 1])).backward()
        opt.step()
    # training the head leaves the MLM untouched
    assert all(torch.equal(model.state_dict()[k], t) for k, t in mlm_before.items())
    cfg = json.loads(json.dumps(v.to_config()))
    v2 = verbalizer_from_config(cfg).prepare(tok, model)
    assert not torch.equal(v2(hidden), v(hidden))  # fresh from the embeddings, untrained
    v2.load_state_dict(v.state_dict())
    assert torch.equal(v2(hidden), v(hidden))
    # prepare is idempotent: it does not reset a trained head
    assert torch.equal(v.prepare(tok, model)(hidden), v2(hidden))


def test_soft_without_label_words_uses_class_names(en_mlm):
    tok, model = en_mlm
    v = SoftVerbalizer(["sports", "qwxz"]).prepare(tok, model)
    emb = model.get_output_embeddings().weight.detach()
    sports = tok(" sports", add_special_tokens=False)["input_ids"]
    assert torch.allclose(v.head.weight[0], emb[sports].mean(dim=0), atol=1e-6)
    with pytest.raises(NotImplementedError, match="calibrate"):
        v.calibrate(torch.zeros(1, 1, 32))
    with pytest.raises(ConfigError, match="model"):
        SoftVerbalizer(["a", "b"]).prepare(tok)
