"""Real sentences from ../shared/datasets for the tokenizer tests (read, never copied)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

DATASETS = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is missing")
    return path


@pytest.fixture(scope="session")
def zh_sentences() -> list[str]:
    """300 hotel reviews + 300 shopping reviews (non-empty, first 300 rows of each)."""
    out: list[str] = []
    path = _need(DATASETS / "zh-chnsenticorp-htl" / "ChnSentiCorp_htl_all.csv")
    with path.open(encoding="utf-8", newline="") as f:
        out += [row["review"] for row in csv.DictReader(f) if row["review"]][:300]
    path = _need(DATASETS / "zh-online-shopping-10cats" / "online_shopping_10_cats.csv")
    with path.open(encoding="utf-8-sig", newline="") as f:
        out += [row["review"] for row in csv.DictReader(f) if row["review"]][::50][:300]
    return out


@pytest.fixture(scope="session")
def ja_sentences() -> list[str]:
    """Title and first body line of 150 livedoor news articles (sorted file names)."""
    root = _need(DATASETS / "ja-livedoor-news" / "text")
    out: list[str] = []
    for path in sorted(root.glob("*/*-*.txt"))[::25][:150]:
        lines = path.read_text(encoding="utf-8").splitlines()
        out += [line for line in lines[2:4] if line.strip()]
    return out


@pytest.fixture(scope="session")
def en_sentences() -> list[str]:
    """The first 200 Amazon reviews (title. body)."""
    path = _need(DATASETS / "en-amazon-polarity-10k" / "amazon.train.dat")
    lines = path.read_text(encoding="utf-8").splitlines()[:200]
    return [line.rsplit("$LABEL$", 1)[0] for line in lines]
