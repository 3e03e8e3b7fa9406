"""Shared fixtures: paths to the offline assets beside the checkout."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from mrekv_testing import build_tiny_mlm, load_hf_tokenizer

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DATASETS = SHARED / "datasets"
TOKENIZERS = SHARED / "models" / "tokenizers"
KPT = SHARED / "kpt"
NLTK = SHARED / "nltk_data"

# One torch thread: on a busy 2-core machine, two threads make tiny models ~10x slower.
os.environ.setdefault("OMP_NUM_THREADS", "1")
if NLTK.is_dir():
    os.environ.setdefault("NLTK_DATA", str(NLTK))
if DATASETS.is_dir():
    os.environ.setdefault("MREKV_DATASETS", str(DATASETS))

requires_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared is missing")


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared is not beside the checkout")
    return SHARED

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
