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
