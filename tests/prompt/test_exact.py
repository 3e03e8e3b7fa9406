"""aggregate="exact": prefix plans, teacher forcing against a brute-force full forward,
the classifier's exact word scores, and where exact / multi-mask are refused."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from _prompt_standins import one_thread, synthetic_task

from mrekv.errors import ConfigError
from mrekv.prompt.causal_template import encode_causal
from mrekv.prompt.classifier import PromptClassifier
from mrekv.prompt.exact import exact_word_log_probs, plan_prefixes
from mrekv.prompt.template import Template
from mrekv.tiny_causal import KINDS
from mrekv.verbalizer.manual import ManualVerbalizer
from mrekv.verbalizer.tokens import tokenize_word

TEMPLATE = Template("{text} It was {mask}")
#: A mix of single-token and multi-token words, some sharing prefixes, Latin and CJK.
WORDS = ["great", "good", "bad", "senatorial", "unbelievably", "很好", "不错", "不好", "美味しい"]
PROMPTS = ["the pizza was cold", "a guitar solo", "football on the radio tonight and then"]


@pytest.fixture(autouse=True, scope="module")
def _single_thread():
    yield from one_thread()


def brute_force(model, prompt_ids, word_ids):
    """log p(word | prompt) from one full forward of prompt + word."""
    ids = torch.tensor([list(prompt_ids) + list(word_ids)])
    with torch.no_grad():
        log_probs = torch.log_softmax(model(input_ids=ids).logits[0].double(), dim=-1)
    start = len(prompt_ids) - 1
    return sum(float(log_probs[start + i, t]) for i, t in enumerate(word_ids))


def word_ids(tok, words=WORDS):
    return [tuple(tokenize_word(tok, w, leading_space="auto")) for w in words]


def test_plan_prefixes_shares_prefixes_and_lists_the_reads():
    plan = plan_prefixes([(5, 6, 7), (5, 6, 8), (9,), (), (5,), (5, 9)])
    prefixes = {
        tuple(row[: int(n)].tolist())
        for row, n in zip(plan.prefixes, plan.prefix_mask.sum(dim=1), strict=True)
    }
    assert prefixes == {(5,), (5, 6)}  # (5,) is shared by three words, (5, 6) by two
    assert plan.prefixes.shape == (2, 2)
    assert plan.first_ids.tolist() == [5, 5, 9, 0, 5, 5]
    assert plan.empty.tolist() == [False, False, False, True, False, False]
    row = {tuple(r[: int(n)].tolist()): i for i, (r, n) in
           enumerate(zip(plan.prefixes, plan.prefix_mask.sum(dim=1), strict=True))}
    assert sorted(map(tuple, plan.reads.tolist())) == sorted([
        (0, row[(5,)], 6), (0, row[(5, 6)], 7),
        (1, row[(5,)], 6), (1, row[(5, 6)], 8),
        (5, row[(5,)], 9),
    ])
    assert plan.prefix_last.tolist() == [int(n) - 1 for n in plan.prefix_mask.sum(dim=1)]


def test_a_plan_of_single_token_words_has_no_prefix_rows():
    plan = plan_prefixes([(3,), (4,)])
    assert plan.prefixes.shape[0] == 0 and plan.reads.shape == (0, 3)


@pytest.mark.parametrize("kind", KINDS)
def test_exact_scores_equal_brute_force_teacher_forcing(causal_lm, kind):
    model, tok = causal_lm(kind)
    words = word_ids(tok)
    lengths = [len(w) for w in words]
    assert min(lengths) == 1 and max(lengths) >= 3  # the test needs both kinds of word
    plan = plan_prefixes(words)
    for enc in encode_causal(TEMPLATE, tok, PROMPTS):
        with torch.no_grad():
            exact = exact_word_log_probs(model, torch.tensor(enc.input_ids), plan)
        expected = [brute_force(model, enc.input_ids, w) for w in words]
        np.testing.assert_allclose(exact.numpy(), expected, atol=1e-4, rtol=0)
        # chunked continuation batches (a copied cache per chunk) give the same numbers
        with torch.no_grad():
            chunked = exact_word_log_probs(model, torch.tensor(enc.input_ids), plan, max_rows=2)
        torch.testing.assert_close(chunked, exact, atol=1e-5, rtol=0)


def test_empty_words_score_minus_infinity(causal_lm):
    model, tok = causal_lm("llama")
    plan = plan_prefixes([tuple(tokenize_word(tok, "great")), ()])
    ids = torch.tensor(encode_causal(TEMPLATE, tok, ["a"])[0].input_ids)
    with torch.no_grad():
        scores = exact_word_log_probs(model, ids, plan)
    assert math.isfinite(scores[0].item()) and scores[1].item() == float("-inf")


def make(folder, aggregate, words=WORDS, **kwargs):
    verbalizer = ManualVerbalizer(["a", "b", "c"], [words[:3], words[3:6], words[6:]],
                                  aggregate=aggregate)
    options = {"template": TEMPLATE, "progress": False, "device": "cpu", "eval_batch_size": 2}
    options.update(kwargs)
    return PromptClassifier(str(folder), verbalizer=verbalizer, **options)


@pytest.mark.parametrize("kind", KINDS)
def test_the_classifier_scores_words_exactly_in_padded_batches(tiny_causal, kind):
    clf = make(tiny_causal[kind], "exact")
    scores = clf.word_scores(PROMPTS)  # batches of 2 texts of different lengths: padding
    words = clf.verbalizer_.word_token_ids
    for i, enc in enumerate(clf._encode(PROMPTS)):
        expected = [brute_force(clf.model_, enc.input_ids, w) for w in words]
        np.testing.assert_allclose(scores[i].numpy(), expected, atol=1e-4, rtol=0)
    proba = clf.predict_proba(PROMPTS)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_exact_equals_first_for_single_token_words(tiny_causal, kind):
    exact = make(tiny_causal[kind], "exact")
    first = make(tiny_causal[kind], "first")
    single = [len(w) == 1 for w in exact.verbalizer_.word_token_ids]
    multi = [not s for s in single]
    assert any(single) and any(multi)
    a, b = exact.word_scores(PROMPTS), first.word_scores(PROMPTS)
    torch.testing.assert_close(a[:, single], b[:, single], atol=1e-5, rtol=0)
    assert (a[:, multi] < b[:, multi]).all()  # more tokens, more factors below 1


def test_exact_training_backpropagates_through_the_lm(tiny_causal):
    texts, labels = synthetic_task(2, seed=0)
    clf = make(tiny_causal["llama"], "exact", words=WORDS[:6] + ["fine"], max_steps=2,
               batch_size=3, learning_rate=1e-2)
    before = clf.model_.get_input_embeddings().weight.detach().clone()
    mapping = dict(zip(["sports", "food", "music"], ["a", "b", "c"], strict=True))
    clf.fit(texts, [mapping[y] for y in labels])
    assert not torch.equal(clf.model_.get_input_embeddings().weight.detach(), before)


def test_exact_is_refused_on_a_masked_lm(tiny_mlm_dir):
    with pytest.raises(ConfigError, match="'exact' needs a causal LM"):
        make(tiny_mlm_dir("en"), "exact", template="{text} It was {mask}.")


def test_multi_mask_is_refused_on_a_causal_lm(tiny_causal):
    with pytest.raises(ConfigError, match="'multi-mask' needs a masked LM"):
        make(tiny_causal["gpt2"], "multi-mask")


def test_exact_word_scores_cannot_come_from_logits(tiny_causal):
    clf = make(tiny_causal["gpt2"], "exact")
    with pytest.raises(ConfigError, match="teacher forcing"):
        clf.verbalizer_.word_scores(torch.zeros(1, 1, 10))


@pytest.mark.parametrize("kind", ["llama", "gpt2"])
def test_exact_mean_is_the_brute_force_score_per_sub_token(tiny_causal, kind):
    clf = make(tiny_causal[kind], "exact-mean")
    scores = clf.word_scores(PROMPTS)
    words = clf.verbalizer_.word_token_ids
    assert min(map(len, words)) == 1 and max(map(len, words)) >= 3
    for i, enc in enumerate(clf._encode(PROMPTS)):
        expected = [brute_force(clf.model_, enc.input_ids, w) / len(w) for w in words]
        np.testing.assert_allclose(scores[i].numpy(), expected, atol=1e-4, rtol=0)
    proba = clf.predict_proba(PROMPTS)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)


def test_exact_mean_is_refused_where_exact_is(tiny_mlm_dir, tiny_causal):
    with pytest.raises(ConfigError, match="'exact-mean' needs a causal LM"):
        make(tiny_mlm_dir("en"), "exact-mean", template="{text} It was {mask}.")
    clf = make(tiny_causal["gpt2"], "exact-mean")
    with pytest.raises(ConfigError, match="teacher forcing"):
        clf.verbalizer_.word_scores(torch.zeros(1, 1, 10))
