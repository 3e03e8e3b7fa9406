"""fit_on_features: training only the verbalizer on precomputed word scores or hidden states."""

from __future__ import annotations

import pytest
import torch
from _prompt_standins import one_thread

from mrekv.prompt.frozen import fit_on_features, scores_from_features, uses_word_scores
from mrekv.prompt.training import TrainingArgs
from mrekv.verbalizer.knowledgeable import KnowledgeableVerbalizer
from mrekv.verbalizer.label_words import LabelWords
from mrekv.verbalizer.manual import ManualVerbalizer
from mrekv.verbalizer.soft import SoftVerbalizer

CLASSES = ["neg", "pos"]
#: Two words per class; per class one word carries the label, the other is noise.
WORDS = [["bad", "meh"], ["good", "fine"]]
ARGS = TrainingArgs(head_learning_rate=0.1, epochs=30, batch_size=4, seed=0)


@pytest.fixture(autouse=True, scope="module")
def _single_thread():
    yield from one_thread()


def prepared_kpt():
    """A KPT verbalizer whose (toy) tokenization is done by hand: one id per word."""
    v = KnowledgeableVerbalizer(LabelWords.from_lists(CLASSES, WORDS))

    class Tok:
        mask_token = None
        unk_token_id = None
        eos_token = bos_token = pad_token = unk_token = None
        ids = {" bad": [1], " meh": [2], " good": [3], " fine": [4]}

        def __call__(self, text, add_special_tokens=False):
            return {"input_ids": self.ids[text]}

    return v.prepare(Tok())


def word_features(n=24, seed=0):
    """(n, 4) word log-scores: 'bad' / 'good' follow the label, 'meh' / 'fine' are noise."""
    gen = torch.Generator().manual_seed(seed)
    labels = [i % 2 for i in range(n)]
    scores = torch.randn(n, 4, generator=gen)
    for i, y in enumerate(labels):
        scores[i, 0] += 3.0 if y == 0 else -3.0
        scores[i, 2] += 3.0 if y == 1 else -3.0
        scores[i, 1] += 4.0 if y == 1 else 0.0  # 'meh' (a neg word) fires on positives
        scores[i, 3] += 4.0 if y == 0 else 0.0  # 'fine' (a pos word) fires on negatives
    return torch.log_softmax(scores, dim=-1), labels


def accuracy(verbalizer, features, labels):
    with torch.no_grad():
        predicted = scores_from_features(verbalizer, features).argmax(-1)
    return float((predicted == torch.tensor(labels)).float().mean())


def test_kpt_word_weights_learn_which_words_to_trust():
    v = prepared_kpt()
    features, labels = word_features()
    start = accuracy(v, features, labels)
    history = fit_on_features(v, features, labels, ARGS)
    assert accuracy(v, features, labels) == 1.0 > start
    weights = v.class_weights()
    assert weights["neg"]["bad"] > weights["neg"]["meh"]
    assert weights["pos"]["good"] > weights["pos"]["fine"]
    losses = [h["train_loss"] for h in history if h.get("train_loss") is not None]
    assert len(losses) == 30 and losses[-1] < losses[0]


def test_the_features_are_not_modified():
    v = prepared_kpt()
    features, labels = word_features()
    copy = features.clone()
    fit_on_features(v, features, labels, ARGS)
    assert torch.equal(features, copy)


def test_dev_features_keep_the_best_state():
    v = prepared_kpt()
    features, labels = word_features()
    dev_features, dev_labels = word_features(8, seed=1)
    flipped = [1 - y for y in dev_labels]  # training makes dev worse: the start state is best
    history = fit_on_features(v, features, labels, ARGS, dev_features=dev_features,
                              dev_labels=flipped)
    scores = [h["dev_score"] for h in history if h.get("dev_score") is not None]
    assert scores[-1] < max(scores)
    assert accuracy(v, dev_features, flipped) == pytest.approx(max(scores))


def test_a_manual_verbalizer_has_nothing_to_train():
    v = ManualVerbalizer(CLASSES, WORDS)
    history = fit_on_features(v, torch.zeros(2, 4), [0, 1], ARGS)
    assert history == [{"epoch": 0, "step": 0, "train_loss": None,
                        "note": "the verbalizer has no trainable parameters"}]


def test_rows_and_labels_must_agree():
    with pytest.raises(ValueError, match="3 feature rows but 2 labels"):
        fit_on_features(prepared_kpt(), torch.zeros(3, 4), [0, 1], ARGS)


def test_hidden_state_features_train_a_soft_verbalizer():
    from torch import nn

    class LM(nn.Module):  # just enough of an LM for SoftVerbalizer.prepare
        config = type("Config", (), {"hidden_size": 8})()

        def __init__(self):
            super().__init__()
            self.out = nn.Linear(8, 5, bias=False)

        def get_output_embeddings(self):
            return self.out

    v = SoftVerbalizer(CLASSES, use_mlm_transform=False)

    class Tok(dict):
        mask_token = None
        unk_token_id = None
        eos_token = bos_token = pad_token = unk_token = None

        def __call__(self, text, add_special_tokens=False):
            return {"input_ids": [len(text) % 5]}

    torch.manual_seed(0)
    v.prepare(Tok(), LM())
    assert not uses_word_scores(v) and uses_word_scores(prepared_kpt())
    gen = torch.Generator().manual_seed(0)
    labels = [i % 2 for i in range(16)]
    features = torch.randn(16, 1, 8, generator=gen)
    features[:, 0, 0] += torch.tensor([4.0 if y else -4.0 for y in labels])
    fit_on_features(v, features, labels, ARGS)
    assert accuracy(v, features, labels) == 1.0
