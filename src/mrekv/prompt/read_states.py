"""First-token label-word log-probabilities from cached read states (no second LM pass).

A read state (:meth:`mrekv.prompt.classifier.PromptClassifier.read_states`) is the
input ``h`` ``(H,)`` of the LM's vocabulary layer at the read position plus the
log-normaliser ``lse`` of its logits. For a word whose first sub-token is ``t``:

    log p(t | prompt) = h . E[t] + bias[t] - lse

with ``E`` ``(V, H)`` and ``bias`` ``(V,)`` the vocabulary layer's weight and bias.
So one cached pass per text serves every verbalizer, including label words mined
after the pass (from a budget's N texts), and the same ``h`` feeds a learned head.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def output_layer(model: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """The vocabulary layer's ``(V, H)`` weight and ``(V,)`` bias (or None) as float32."""
    layer = model.get_output_embeddings()
    weight = layer.weight.detach().float().cpu().numpy()
    bias = getattr(layer, "bias", None)
    return weight, None if bias is None else bias.detach().float().cpu().numpy()


def word_scores(states: np.ndarray, weight: np.ndarray, bias: np.ndarray | None,
                verbalizer: Any) -> np.ndarray:
    """``(n, W)`` first-token log-probabilities of a prepared verbalizer's words.

    Args:
        states: ``(n, H + 1)`` read states (last column: logsumexp).
        weight, bias: from :func:`output_layer`.
        verbalizer: a prepared label-word verbalizer (``word_token_ids`` set); a word
            dropped by tokenization scores ``-inf``.
    """
    ids = verbalizer.word_token_ids
    if ids is None:
        raise RuntimeError("prepare the verbalizer with the model's tokenizer first")
    first = np.array([t[0] if t else 0 for t in ids], dtype=np.int64)
    h, lse = states[:, :-1].astype(np.float32), states[:, -1:].astype(np.float32)
    scores = h @ weight[first].T - lse
    if bias is not None:
        scores = scores + bias[first]
    scores[:, [not t for t in ids]] = -np.inf
    return scores  # type: ignore[no-any-return]
