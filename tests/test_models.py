"""mrekv.models (loading, tiny MLMs, head location) and mrekv.metrics."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch

from mrekv.metrics import accuracy, classification_metrics, macro_f1
from mrekv.models import (
    load_masked_lm,
    load_tokenizer,
    locate_mlm_head,
    make_tiny_mlm,
    resolve_device,
)

CORPUS = [
    "The match ended in a draw.",
    "A delicious pizza with fresh basil.",
    "这家餐厅的菜很好吃。",
    "吉他的声音很好听。",
    "この料理はとても美味しい。",
] * 4


@pytest.fixture(autouse=True, scope="module")
def _single_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def test_make_tiny_mlm_trains_a_wordpiece_vocabulary_and_loads(tmp_path):
    folder = make_tiny_mlm(tmp_path / "tiny", CORPUS, vocab_size=200, hidden=16, layers=1, heads=2)
    model, tok = load_masked_lm(folder)
    assert model.config.hidden_size == 16 and model.config.num_hidden_layers == 1
    assert model.config.vocab_size == len(tok)
    assert not model.training
    # Chinese characters are split one by one (BertNormalizer handle_chinese_chars)
    assert tok.tokenize("好吃") == ["好", "吃"]
    # lowercased, special tokens around, [MASK] known
    ids = tok("The [MASK]")["input_ids"]
    assert ids[0] == tok.cls_token_id and ids[-1] == tok.sep_token_id
    assert tok.mask_token_id in ids
    assert tok.tokenize("THE") == ["the"]
    logits = model(**tok(["The match"], return_tensors="pt")).logits
    assert logits.shape[-1] == len(tok)


def test_make_tiny_mlm_is_seeded(tmp_path):
    a = load_masked_lm(make_tiny_mlm(tmp_path / "a", CORPUS, vocab_size=120, seed=1))[0]
    b = load_masked_lm(make_tiny_mlm(tmp_path / "b", CORPUS, vocab_size=120, seed=1))[0]
    c = load_masked_lm(make_tiny_mlm(tmp_path / "c", CORPUS, vocab_size=120, seed=2))[0]
    wa, wb, wc = (m.get_input_embeddings().weight for m in (a, b, c))
    assert torch.equal(wa, wb) and not torch.equal(wa, wc)


SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
_BUILD_IN_A_PROCESS = """
import sys
from mrekv.data.mmm import read_mmm
from mrekv.models import make_tiny_mlm
texts = [e.text for path in sys.argv[2:] for e in read_mmm(path)]
make_tiny_mlm(sys.argv[1], texts, vocab_size=2000, hidden=16, layers=1, heads=2, seed=3)
"""


def test_make_tiny_mlm_is_byte_identical_across_processes(tmp_path):
    """Same texts and seed, two processes with different hash seeds: the same bytes.

    The WordPiece trainer used to number its word-internal ``##`` pieces in hash-map
    order, so ties between merges went differently and the vocabulary changed per run.
    """
    samples = [str(SAMPLES / f"{lang}-scpos-adj-n.train.jsonl") for lang in ("en", "ja", "zh")]
    folders = [tmp_path / "a", tmp_path / "b"]
    for folder, hash_seed in zip(folders, ("1", "2"), strict=True):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run([sys.executable, "-c", _BUILD_IN_A_PROCESS, str(folder), *samples],
                              env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
    names = sorted(p.name for p in folders[0].iterdir())
    assert names == sorted(p.name for p in folders[1].iterdir())
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= set(names)
    for name in names:
        assert (folders[0] / name).read_bytes() == (folders[1] / name).read_bytes(), name
    # the pinned word-internal pieces are ordinary vocabulary, not special tokens
    tok = load_tokenizer(folders[0])
    assert sorted(tok.all_special_tokens) == ["[CLS]", "[MASK]", "[PAD]", "[SEP]", "[UNK]"]
    ids = tok("unbelievably tasty")["input_ids"]
    assert any(t.startswith("##") for t in tok.convert_ids_to_tokens(ids))
    assert tok.decode(ids, skip_special_tokens=True) == "unbelievably tasty"


def test_make_tiny_mlm_on_an_existing_tokenizer(tmp_path, shared_dir):
    source = shared_dir / "models" / "tokenizers" / "zh-bert-base-chinese"
    model, tok = load_masked_lm(make_tiny_mlm(tmp_path / "zh", tokenizer_from=source))
    assert len(tok) == 21128  # bert-base-chinese's vocabulary
    assert model.config.vocab_size == 21128


def test_make_tiny_mlm_needs_texts_or_a_tokenizer(tmp_path):
    with pytest.raises(ValueError, match="texts"):
        make_tiny_mlm(tmp_path / "x")
    with pytest.raises(ValueError, match="divisible"):
        make_tiny_mlm(tmp_path / "x", CORPUS, hidden=10, heads=4)


def test_japanese_tokenizer_falls_back_to_unidic_lite(shared_dir):
    folder = shared_dir / "models" / "tokenizers" / "ja-bert-base-japanese"
    try:
        import ipadic  # noqa: F401

        pytest.skip("ipadic is installed: no fallback happens")
    except ImportError:
        pass
    with pytest.warns(UserWarning, match="unidic_lite"):
        tok = load_tokenizer(folder)
    assert type(tok).__name__ == "BertJapaneseTokenizer"
    tokens = tok.tokenize("東京は日本の首都です。")
    assert "東京" in tokens and "首都" in tokens


def test_english_tokenizer_loads_without_warnings(shared_dir):
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        tok = load_tokenizer(shared_dir / "models" / "tokenizers" / "en-bert-base-uncased")
    assert tok.mask_token == "[MASK]"


def test_locate_mlm_head_verifies_the_split(hf_tokenizer):
    from mrekv_testing import build_tiny_mlm

    tok = hf_tokenizer("en")
    model = build_tiny_mlm(tok).train()
    encoder, head = locate_mlm_head(model, tok("a probe")["input_ids"])
    assert head is model.cls and encoder is model.bert
    assert model.training  # the check left the mode as it was
    # a model whose logits are more than head(encoder(x)) is refused, not split
    from transformers.modeling_outputs import MaskedLMOutput

    full_forward = model.forward
    model.forward = lambda **kw: MaskedLMOutput(logits=full_forward(**kw).logits * 2)
    assert locate_mlm_head(model, tok("a probe")["input_ids"]) is None


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device(None).type == expected


def test_metrics_against_hand_computed_values():
    y_true = ["a", "a", "a", "b", "b", "c"]
    y_pred = ["a", "a", "b", "b", "c", "c"]
    # per class: a P=2/2 R=2/3 F=0.8; b P=1/2 R=1/2 F=0.5; c P=1/2 R=1/1 F=2/3
    assert accuracy(y_true, y_pred) == pytest.approx(4 / 6)
    assert macro_f1(y_true, y_pred) == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    report = classification_metrics(y_true, y_pred)
    assert report["n"] == 6
    assert report["per_class"]["a"] == pytest.approx(
        {"precision": 1.0, "recall": 2 / 3, "f1": 0.8, "support": 3}
    )
    # a class never seen nor predicted counts as F1 0 when listed
    assert macro_f1(y_true, y_pred, labels=["a", "b", "c", "d"]) == pytest.approx(
        (0.8 + 0.5 + 2 / 3) / 4
    )


def test_metrics_reject_bad_input():
    with pytest.raises(ValueError, match="2 labels but y_pred has 1"):
        accuracy(["a", "b"], ["a"])
    with pytest.raises(ValueError, match="zero examples"):
        macro_f1([], [])
