"""Helpers of the verbalizer tests: a hand-made 6-token vocabulary and tokenizer."""

from __future__ import annotations

import math

# id: 0 [UNK], 1 good, 2 great, 3 bad, 4 awful, 5 [MASK]
VOCAB = {"[UNK]": 0, "good": 1, "great": 2, "bad": 3, "awful": 4, "[MASK]": 5}


class FakeTokenizer:
    """Whitespace tokenizer over VOCAB; ``a+b`` is one word of two sub-tokens."""

    mask_token = "[MASK]"
    mask_token_id = 5
    unk_token_id = 0

    def __len__(self) -> int:
        return len(VOCAB)

    def _ids(self, text: str) -> list[int]:
        ids: list[int] = []
        for word in text.replace("[MASK]", " [MASK] ").split():
            ids.extend(VOCAB.get(piece, 0) for piece in word.split("+"))
        return ids

    def __call__(self, text, add_special_tokens: bool = True):
        if isinstance(text, str):
            return {"input_ids": self._ids(text)}
        return {"input_ids": [self._ids(t) for t in text]}


def logits_from_probs(*rows: list[float]):
    """``(batch, 1, 6)`` logits whose vocabulary softmax is exactly the given rows (log p)."""
    import torch

    return torch.tensor([[[math.log(p) for p in row]] for row in rows], dtype=torch.float64).float()
