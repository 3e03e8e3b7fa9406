"""Test helpers shared by every test folder (import as ``from mrekv_testing import ...``).

They live here rather than in ``conftest.py`` because several test folders have a
``conftest.py`` of their own, so ``from conftest import ...`` is ambiguous.
"""

from __future__ import annotations

from pathlib import Path

import pytest

TOKENIZERS = Path(__file__).resolve().parents[1].parent / "shared" / "models" / "tokenizers"

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




SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"


def sample_texts(*names: str) -> tuple[list[str], list[str]]:
    """Texts and sentence labels of data/samples files, e.g. ``sample_texts("en-scnm.train")``."""
    from mrekv import read_mmm

    texts: list[str] = []
    labels: list[str] = []
    for name in names:
        for example in read_mmm(SAMPLES / f"{name}.jsonl"):
            texts.append(example.text)
            labels.append(example.text_label)
    return texts, labels


def run_cli(capsys, *argv: object) -> tuple[int, str, str]:
    """Run ``mrekv`` in-process with ``argv``; return (exit code, stdout, stderr)."""
    from mrekv.cli import main

    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def cli_error_line(err: str, command: str) -> str:
    """The one ``mrekv <command>: error: ...`` line of ``err`` (and no traceback)."""
    lines = [line for line in err.splitlines() if line.startswith(f"mrekv {command}: error: ")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]
