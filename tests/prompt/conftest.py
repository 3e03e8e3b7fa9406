"""Fixtures of the prompt tests: tiny random causal LMs of every kind, built once per session."""

from __future__ import annotations

import pytest
from _prompt_standins import synthetic_task
from mrekv_testing import sample_texts

#: Sentences that put the causal tests' label words into the tiny vocabularies.
LABEL_SENTENCES = [
    "It was great. It was good. It was bad. It was awful. It was fine.",
    "The food was great and the service was good, the room was bad.",
    "这句话很好。这家餐厅很好吃。不错，不好。",
    "この料理はとても美味しい。美味しいラーメン。",
]


@pytest.fixture(scope="session")
def causal_corpus() -> list[str]:
    """Training texts for the tiny vocabularies: keyword task, samples in en/ja/zh, label words."""
    texts = synthetic_task(10, seed=0)[0] + synthetic_task(5, seed=1)[0]
    texts += sample_texts("en-scnm.train", "ja-scnm.train", "zh-scnm.train")[0]
    return texts + LABEL_SENTENCES * 5


@pytest.fixture(scope="session")
def tiny_causal(tmp_path_factory, causal_corpus):
    """``{"llama" | "gemma3" | "gpt2": folder}`` of tiny random causal LMs (+ tokenizers)."""
    from mrekv.tiny_causal import KINDS, make_tiny_causal_lm

    root = tmp_path_factory.mktemp("tiny-causal-lms")
    return {
        kind: make_tiny_causal_lm(root / kind, kind=kind, texts=causal_corpus) for kind in KINDS
    }


@pytest.fixture(scope="session")
def causal_lm(tiny_causal):
    """Factory fixture: ``causal_lm("llama")`` -> ``(model, tokenizer)``, loaded once each."""
    from mrekv.models import load_lm

    loaded: dict = {}

    def get(kind: str):
        if kind not in loaded:
            model, tokenizer, backbone = load_lm(tiny_causal[kind])
            assert backbone == "causal"
            loaded[kind] = (model, tokenizer)
        return loaded[kind]

    return get
