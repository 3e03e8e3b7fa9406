"""Multi-token label words: first / mean / max aggregation, multi-mask scoring, ja/zh words."""

from __future__ import annotations

import math

import pytest
import torch
from _verbalizer_fakes import logits_from_probs
from mrekv_testing import build_tiny_mlm

from mrekv.prompt.template import default_template
from mrekv.verbalizer.knowledgeable import KnowledgeableVerbalizer
from mrekv.verbalizer.label_words import LabelWords
from mrekv.verbalizer.manual import ManualVerbalizer
from mrekv.verbalizer.tokens import pad_token_ids, tokenize_word, word_log_probs

P0 = [0.05, 0.1, 0.2, 0.4, 0.15, 0.1]
P1 = [0.1, 0.3, 0.1, 0.2, 0.2, 0.1]
WORDS = [[1, 3], [2], [4, 1]]


def _scores(aggregate: str, *rows: list[float]) -> list[float]:
    logits = logits_from_probs(*rows).transpose(0, 1)  # (1, masks, 6)
    ids, mask = pad_token_ids(WORDS)
    return word_log_probs(logits, ids, mask, aggregate)[0].tolist()


def test_pad_token_ids():
    ids, mask = pad_token_ids([[7, 8, 9], [], [5]])
    assert ids.tolist() == [[7, 8, 9], [0, 0, 0], [5, 0, 0]]
    assert mask.tolist() == [[True] * 3, [False] * 3, [True, False, False]]


def test_first_mean_max_aggregation():
    assert _scores("first", P0) == pytest.approx(
        [math.log(0.1), math.log(0.2), math.log(0.15)], abs=1e-6
    )
    assert _scores("mean", P0) == pytest.approx(
        [(math.log(0.1) + math.log(0.4)) / 2, math.log(0.2), (math.log(0.15) + math.log(0.1)) / 2],
        abs=1e-6,
    )
    assert _scores("max", P0) == pytest.approx(
        [math.log(0.4), math.log(0.2), math.log(0.15)], abs=1e-6
    )


def test_multi_mask_scoring():
    # word i-th sub-token read at mask i; the one-token word uses mask 0 only
    assert _scores("multi-mask", P0, P1) == pytest.approx(
        [(math.log(0.1) + math.log(0.2)) / 2, math.log(0.2), (math.log(0.15) + math.log(0.3)) / 2],
        abs=1e-6,
    )
    with pytest.raises(ValueError, match="needs 2 masks"):
        _scores("multi-mask", P0)


def test_dropped_word_scores_minus_inf():
    ids, mask = pad_token_ids([[1], []])
    out = word_log_probs(logits_from_probs(P0), ids, mask, "mean")
    assert out[0, 1].item() == float("-inf")


@pytest.mark.parametrize(
    ("lang", "words", "lengths"),
    [
        ("ja", ["つまらない", "最悪", "😀", "良い", "素晴らしい"], [3, 1, 0, 1, 1]),
        ("zh", ["好极了", "糟糕", "☃", "好", "不错"], [3, 2, 0, 1, 2]),
    ],
)
def test_real_tokenizers_split_and_drop(hf_tokenizer, lang, words, lengths):
    tok = hf_tokenizer(lang)
    lw = LabelWords.from_lists(["neg", "pos"], [words[:3], words[3:]])
    v = KnowledgeableVerbalizer(lw, aggregate="multi-mask").prepare(tok)
    assert [len(ids) for ids in v.word_token_ids] == lengths
    for word, ids in zip(words, v.word_token_ids, strict=True):
        if ids:
            assert list(ids) == tok(" " + word, add_special_tokens=False)["input_ids"]
    assert v.words_kept() == {"neg": 2, "pos": 2}
    assert v.word_report()["neg"]["dropped_tokenization"] == [words[2]]
    assert v.num_masks == 3
    capped = KnowledgeableVerbalizer(lw, aggregate="multi-mask", max_word_tokens=2).prepare(tok)
    assert capped.num_masks == 2
    assert list(capped.word_token_ids[0]) == list(v.word_token_ids[0][:2])
    assert KnowledgeableVerbalizer(lw, aggregate="mean").prepare(tok).num_masks == 1


def test_leading_space_false_uses_glued_form(hf_tokenizer):
    tok = hf_tokenizer("zh")
    assert tokenize_word(tok, "好极了", leading_space=False) == tokenize_word(tok, "好极了")
    assert tokenize_word(tok, "   ") == []


@pytest.mark.parametrize("lang", ["ja", "zh"])
def test_multi_mask_end_to_end_with_tiny_mlm(hf_tokenizer, lang):
    tok = hf_tokenizer(lang)
    model = build_tiny_mlm(tok)
    words = {"ja": [["つまらない"], ["良い"]], "zh": [["好极了"], ["糟糕"]]}[lang]
    text = {"ja": "映画を見た。", "zh": "我看了电影。"}[lang]
    v = ManualVerbalizer(["a", "b"], words, aggregate="multi-mask").prepare(tok)
    enc = default_template(lang, "sentiment").encode(tok, text, num_masks=v.num_masks)
    assert len(enc.mask_positions) == v.num_masks == 3
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([enc.input_ids])).logits
    mask_logits = logits[:, enc.mask_positions, :]
    log_probs = torch.log_softmax(mask_logits[0], dim=-1)
    ids = [tok(" " + w[0], add_special_tokens=False)["input_ids"] for w in words]
    expected = [
        sum(log_probs[i, t].item() for i, t in enumerate(word_ids)) / len(word_ids)
        for word_ids in ids
    ]
    # one word per class: class score = the word's score
    assert v(mask_logits)[0].tolist() == pytest.approx(expected, abs=1e-5)
