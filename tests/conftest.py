"""Shared fixtures: paths to the offline assets beside the checkout."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DATASETS = SHARED / "datasets"
TOKENIZERS = SHARED / "models" / "tokenizers"
KPT = SHARED / "kpt"
NLTK = SHARED / "nltk_data"

if NLTK.is_dir():
    os.environ.setdefault("NLTK_DATA", str(NLTK))
if DATASETS.is_dir():
    os.environ.setdefault("MREKV_DATASETS", str(DATASETS))

requires_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared is not beside the checkout")


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared is not beside the checkout")
    return SHARED


TOKENIZER_DIRS = {
    "en": "en-bert-base-uncased",
    "ja": "ja-bert-base-japanese",
    "zh": "zh-bert-base-chinese",
    "multi": "multi-bert-base-multilingual-cased",
}


def load_hf_tokenizer(name: str):
    """A real tokenizer from ../shared/models/tokenizers ("en", "ja", "zh" or "multi")."""
    from transformers import AutoTokenizer

    path = TOKENIZERS / TOKENIZER_DIRS[name]
    if not path.is_dir():
        pytest.skip(f"{path} is missing")
    kwargs = {"mecab_kwargs": {"mecab_dic": "unidic_lite"}} if name == "ja" else {}
    return AutoTokenizer.from_pretrained(str(path), **kwargs)


def build_tiny_mlm(tokenizer, *, layers: int = 2, hidden: int = 32, heads: int = 2, seed: int = 0):
    """A tiny randomly initialised BertForMaskedLM on ``tokenizer``'s vocabulary."""
    import torch
    from transformers import BertConfig, BertForMaskedLM

    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=hidden * 2,
        max_position_embeddings=256,
        pad_token_id=tokenizer.pad_token_id,
    )
    return BertForMaskedLM(config).eval()


_TOKENIZER_CACHE: dict = {}


@pytest.fixture(scope="session")
def hf_tokenizer():
    """Factory fixture: ``hf_tokenizer("en")`` returns a cached real tokenizer."""

    def get(name: str):
        if name not in _TOKENIZER_CACHE:
            _TOKENIZER_CACHE[name] = load_hf_tokenizer(name)
        return _TOKENIZER_CACHE[name]

    return get


@pytest.fixture(scope="session")
def tiny_mlm_dir(tmp_path_factory, hf_tokenizer):
    """Factory fixture: ``tiny_mlm_dir("en")`` saves a tiny random MLM + tokenizer once per session
    and returns the folder (loadable with AutoModelForMaskedLM / AutoTokenizer)."""
    made: dict = {}

    def get(name: str):
        if name not in made:
            tok = hf_tokenizer(name)
            folder = tmp_path_factory.mktemp(f"tiny-mlm-{name}")
            build_tiny_mlm(tok).save_pretrained(folder)
            tok.save_pretrained(folder)
            made[name] = folder
        return made[name]

    return get
