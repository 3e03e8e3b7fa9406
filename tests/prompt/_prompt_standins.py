"""A small independent test verbalizer and a synthetic keyword task for the classifier tests.

:class:`StandInVerbalizer` is deliberately simple (one word per class, a
learnable class bias, a calibration prior) so the classifier's own behaviour
(training, calibration, saving) is tested apart from the library's verbalizers.
"""

from __future__ import annotations

import random

import torch

from mrekv.verbalizer.base import Verbalizer

FILLER = (
    "the a of and to in is it that was for on with as by at from this be have not are "
    "but they you one all there we can more what when so up out if about who them"
).split()
KEYWORDS = {"sports": "football", "food": "pizza", "music": "guitar"}
VERBALIZER_WORDS = {"sports": ["good"], "food": ["bad"], "music": ["great"]}


def synthetic_task(n_per_class: int, seed: int) -> tuple[list[str], list[str]]:
    """Sentences of random filler words with one class keyword inserted."""
    rng = random.Random(seed)
    texts, labels = [], []
    for _ in range(n_per_class):
        for label, keyword in KEYWORDS.items():
            words = [rng.choice(FILLER) for _ in range(rng.randint(4, 12))]
            words.insert(rng.randint(0, len(words)), keyword)
            texts.append(" ".join(words))
            labels.append(label)
    order = list(range(len(texts)))
    rng.shuffle(order)
    return [texts[i] for i in order], [labels[i] for i in order]


class StandInVerbalizer(Verbalizer):
    """One word per class, first sub-token, log-softmax over the vocabulary,
    a learnable class bias and an optional calibration prior."""

    config_type = "test_standin"

    def __init__(self, classes, words, bias=None, prior=None):
        super().__init__(classes)
        self.words = {c: list(words[c]) for c in classes}
        self.bias = torch.nn.Parameter(torch.tensor(bias or [0.0] * len(classes)))
        self.register_buffer("prior", torch.tensor(prior) if prior else torch.ones(len(classes)))
        ids = torch.zeros(len(classes), dtype=torch.long)
        self.register_buffer("word_ids", ids, persistent=False)

    def prepare(self, tokenizer, model=None):
        ids = [tokenizer(self.words[c][0], add_special_tokens=False)["input_ids"][0]
               for c in self.classes]
        self.word_ids = torch.tensor(ids, device=self.bias.device)
        return self

    def forward(self, mask_inputs):
        logp = torch.log_softmax(mask_inputs[:, 0, :], dim=-1)
        return logp[:, self.word_ids] + self.bias - torch.log(self.prior)

    def calibrate(self, mask_inputs):
        probs = torch.softmax(mask_inputs[:, 0, :], dim=-1)[:, self.word_ids].mean(0)
        self.prior = probs / probs.sum()
        return self

    def to_config(self):
        return {"type": self.config_type, "classes": list(self.classes), "words": self.words,
                "bias": self.bias.detach().tolist(), "prior": self.prior.tolist()}

    @classmethod
    def from_config(cls, config):
        return cls(config["classes"], config["words"], config["bias"], config["prior"])


def one_thread():
    """Generator for an autouse fixture: torch on one thread while a test module runs.

    The tiny models gain nothing from threads, and on a busy 2-core machine
    OpenMP threads spinning against other processes slow training 10-50x.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
