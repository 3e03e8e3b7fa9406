"""FineTuneClassifier on causal backbones (Llama, Gemma 3, GPT-2): pooling, learning, save/load."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from mrekv_testing import sample_texts

sys.path.insert(0, str(Path(__file__).resolve().parent / "prompt"))
from _prompt_standins import one_thread, synthetic_task  # noqa: E402

from mrekv.finetune import FineTuneClassifier  # noqa: E402
from mrekv.tiny_causal import KINDS, make_tiny_causal_lm  # noqa: E402

SEQUENCE_CLASSES = {
    "llama": "LlamaForSequenceClassification",
    "gemma3": "Gemma3TextForSequenceClassification",
    "gpt2": "GPT2ForSequenceClassification",
}


@pytest.fixture(autouse=True, scope="module")
def _single_thread():
    yield from one_thread()


@pytest.fixture(scope="module")
def task():
    return synthetic_task(8, seed=0)


@pytest.fixture(scope="module")
def samples():
    return sample_texts("en-scnm.train"), sample_texts("en-scnm.test")


@pytest.fixture(scope="module")
def causal_dirs(tmp_path_factory, task, samples):
    """A tiny causal LM of every kind, its vocabulary trained on the test texts."""
    corpus = task[0] + samples[0][0] + samples[1][0]
    root = tmp_path_factory.mktemp("causal")
    return {kind: make_tiny_causal_lm(root / kind, kind=kind, texts=corpus) for kind in KINDS}


def make(folder, **kwargs):
    options = {"learning_rate": 3e-3, "epochs": 12, "batch_size": 4, "progress": False,
               "seed": 0, "device": "cpu"}
    options.update(kwargs)
    return FineTuneClassifier(str(folder), **options)


@pytest.mark.parametrize("kind", KINDS)
def test_fit_reaches_perfect_training_accuracy(causal_dirs, task, kind):
    texts, labels = task
    clf = make(causal_dirs[kind]).fit(texts, labels)
    assert type(clf.model_).__name__ == SEQUENCE_CLASSES[kind]
    assert clf.classes_ == ("food", "music", "sports")
    assert clf.score(texts, labels) == 1.0
    assert clf.history_[-1]["train_loss"] < clf.history_[1]["train_loss"]


@pytest.mark.parametrize("kind", KINDS)
def test_right_padding_does_not_change_scores(causal_dirs, task, kind):
    texts = sorted(task[0], key=len)[:6] + [" ".join(task[0])]  # one text far longer than the rest
    clf = make(causal_dirs[kind], classes=["food", "music", "sports"])
    assert clf.model_.config.pad_token_id == clf.tokenizer_.pad_token_id is not None
    batched = clf.predict_proba(texts)  # the short texts padded to the long one
    alone = np.concatenate([clf.predict_proba([t]) for t in texts])
    np.testing.assert_allclose(batched, alone, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("kind", KINDS)
def test_save_load_round_trip_on_sample_data(causal_dirs, samples, kind, tmp_path):
    (train_x, train_y), (test_x, test_y) = samples
    clf = make(causal_dirs[kind], max_steps=3).fit(train_x, train_y, test_x, test_y)
    assert 0.0 <= clf.score(test_x, test_y) <= 1.0
    clf.save_pretrained(tmp_path / "ft")
    saved = json.loads((tmp_path / "ft" / "config.json").read_text())
    assert saved["pad_token_id"] == clf.tokenizer_.pad_token_id
    loaded = FineTuneClassifier.from_pretrained(tmp_path / "ft", progress=False, device="cpu")
    assert type(loaded.model_).__name__ == SEQUENCE_CLASSES[kind]
    assert loaded.classes_ == ("business", "politics", "sports")
    assert np.array_equal(loaded.predict_proba(test_x), clf.predict_proba(test_x))
    assert loaded.predict(test_x) == clf.predict(test_x)


# Real checkpoints disagree on padding: GPT-2 has no pad token at all, Llama 3's
# config.json has none while users give the tokenizer one, others name another token.
VARIANTS = {
    "gpt2-without-pad": ("gpt2", "none", "none"),
    "llama-config-without-pad": ("llama", "keep", "none"),
    "llama-config-pads-with-eos": ("llama", "keep", "eos"),
}


@pytest.fixture(scope="module", params=list(VARIANTS))
def variant_dir(request, causal_dirs, tmp_path_factory):
    """A copy of a tiny checkpoint with its tokenizer's and config's pad token changed."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    kind, tokenizer_pad, config_pad = VARIANTS[request.param]
    folder = tmp_path_factory.mktemp(request.param)
    tokenizer = AutoTokenizer.from_pretrained(causal_dirs[kind])
    model = AutoModelForCausalLM.from_pretrained(causal_dirs[kind])
    if tokenizer_pad == "none":
        tokenizer.pad_token = None
    model.config.pad_token_id = None if config_pad == "none" else tokenizer.eos_token_id
    tokenizer.save_pretrained(folder)
    model.save_pretrained(folder)
    return folder


def test_pad_token_of_tokenizer_and_config_are_made_to_agree(variant_dir, task, tmp_path):
    texts, labels = task
    clf = make(variant_dir, max_steps=2).fit(texts, labels)
    pad = clf.tokenizer_.pad_token_id
    assert pad == (clf.tokenizer_.eos_token_id if "gpt2" in variant_dir.name else 0)
    assert clf.model_.config.pad_token_id == pad
    long_text = " ".join(texts)
    batched = clf.predict_proba(texts[:4] + [long_text])[:4]
    alone = np.concatenate([clf.predict_proba([t]) for t in texts[:4]])
    np.testing.assert_allclose(batched, alone, rtol=1e-4, atol=1e-6)
    clf.save_pretrained(tmp_path / "ft")
    loaded = FineTuneClassifier.from_pretrained(tmp_path / "ft", progress=False, device="cpu")
    assert loaded.tokenizer_.pad_token_id == loaded.model_.config.pad_token_id == pad
    assert np.array_equal(loaded.predict_proba(texts), clf.predict_proba(texts))


def test_a_gguf_file_is_fine_tuned_from_its_converted_folder(causal_dirs, task, tmp_path,
                                                             monkeypatch):
    """FineTuneClassifier("model.gguf") reads the folder convert_gguf caches (as load_lm does)."""
    import mrekv.gguf

    calls = []

    def fake(path, *, cache_dir=None):
        calls.append(path)
        return causal_dirs["llama"]

    monkeypatch.setattr(mrekv.gguf, "convert_gguf", fake)
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF\x03\x00\x00\x00")
    texts, labels = task
    clf = make(gguf, max_steps=1).fit(texts, labels)
    assert calls == [str(gguf)]
    assert type(clf.model_).__name__ == SEQUENCE_CLASSES["llama"]
    assert clf.predict_proba(texts[:2]).shape == (2, len(set(labels)))


def test_tied_embeddings_stored_as_lm_head_are_loaded(tmp_path):
    """A tied checkpoint keeping only ``lm_head.weight`` (GGUF conversions do) still gives
    the fine-tuning model its pretrained input embeddings."""
    import sys
    import warnings

    import torch
    from safetensors.torch import load_file, save_file
    from transformers import AutoModelForCausalLM

    import mrekv
    from mrekv.tiny_causal import make_tiny_causal_lm

    sys.path.insert(0, str(Path(__file__).parent / "prompt"))
    from _prompt_standins import synthetic_task

    texts, labels = synthetic_task(4, 0)
    folder = make_tiny_causal_lm(tmp_path / "lm", kind="llama", texts=texts)
    weights = folder / "model.safetensors"
    state = load_file(weights)
    state["lm_head.weight"] = state.pop("model.embed_tokens.weight")
    save_file(state, weights, metadata={"format": "pt"})
    reference = AutoModelForCausalLM.from_pretrained(folder).get_input_embeddings().weight
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing else may be missing
        clf = mrekv.FineTuneClassifier(str(folder), classes=sorted(set(labels)), progress=False)
    assert torch.equal(clf.model_.get_input_embeddings().weight, reference)
