"""make_tiny_causal_lm: the three architectures load, are deterministic, tokenize as promised."""

from __future__ import annotations

import subprocess
import sys

import pytest
from mrekv_testing import TOKENIZER_DIRS, TOKENIZERS, sample_texts

from mrekv.tiny_causal import KINDS, make_tiny_causal_lm

ARCHITECTURES = {
    "llama": "LlamaForCausalLM",
    "gemma3": "Gemma3ForCausalLM",
    "gpt2": "GPT2LMHeadModel",
}


@pytest.fixture(scope="module")
def corpus():
    return sample_texts("en-scnm.train", "en-scpos-adj-n.train", "ja-scnm.train")[0]


@pytest.fixture(scope="module")
def built(corpus, tmp_path_factory):
    """One folder per kind, built once for the module."""
    root = tmp_path_factory.mktemp("tiny-causal")
    return {kind: make_tiny_causal_lm(root / kind, kind=kind, texts=corpus) for kind in KINDS}


def folder_bytes(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("kind", KINDS)
def test_builds_a_tied_causal_lm_that_auto_classes_load(built, kind):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = built[kind]
    assert (folder / "model.safetensors").is_file()
    model = AutoModelForCausalLM.from_pretrained(folder).eval()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    assert type(model).__name__ == ARCHITECTURES[kind]
    assert model.config.tie_word_embeddings
    assert model.get_output_embeddings().weight is model.get_input_embeddings().weight
    assert model.config.vocab_size == len(tokenizer)
    assert model.config.pad_token_id == tokenizer.pad_token_id is not None
    batch = tokenizer(["the vote was held", "a short one"], padding=True, return_tensors="pt")
    with torch.inference_mode():
        logits = model(**batch).logits
    assert logits.shape == (2, batch["input_ids"].shape[1], len(tokenizer))
    assert torch.isfinite(logits).all()


@pytest.mark.parametrize("kind", KINDS)
def test_same_inputs_give_byte_identical_folders(built, corpus, kind, tmp_path):
    again = make_tiny_causal_lm(tmp_path / "again", kind=kind, texts=corpus)
    assert folder_bytes(again) == folder_bytes(built[kind])
    reseeded = folder_bytes(
        make_tiny_causal_lm(tmp_path / "seed1", kind=kind, texts=corpus, seed=1)
    )
    original = folder_bytes(built[kind])
    assert reseeded["model.safetensors"] != original["model.safetensors"]
    assert reseeded["tokenizer.json"] == original["tokenizer.json"]


@pytest.mark.parametrize("kind", KINDS)
def test_tokenizer_never_appends_eos(built, kind):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(built[kind])
    ids = tokenizer("Senator James Holt called for a vote")["input_ids"]
    assert ids[-1] != tokenizer.eos_token_id
    assert tokenizer.eos_token_id not in ids
    if kind == "gpt2":
        assert tokenizer.pad_token == tokenizer.eos_token == "<|endoftext|>"
        assert ids[0] != tokenizer.bos_token_id
    else:
        assert ids[0] == tokenizer.bos_token_id
        assert ids.count(tokenizer.bos_token_id) == 1
        special = tokenizer.convert_ids_to_tokens([0, 1, 2, 3])
        assert special == ["<pad>", "<eos>", "<bos>", "<unk>"]
        assert (tokenizer.pad_token, tokenizer.eos_token) == ("<pad>", "<eos>")


@pytest.mark.parametrize(("kind", "space"), [("gpt2", "Ġ"), ("llama", "▁"), ("gemma3", "▁")])
def test_words_after_a_space_carry_the_space_marker(built, kind, space):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(built[kind])
    tokens = tokenizer.tokenize("at the")
    assert tokens[-1] == f"{space}the"
    assert tokenizer.decode(tokenizer("the vote on the bill")["input_ids"],
                            skip_special_tokens=True) == "the vote on the bill"


def test_reuses_a_tokenizer_folder(tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = TOKENIZERS / TOKENIZER_DIRS["en"]
    if not source.is_dir():
        pytest.skip(f"{source} is missing")
    folder = make_tiny_causal_lm(tmp_path / "bert-vocab", kind="llama", tokenizer_from=source)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder)
    assert model.config.vocab_size == len(tokenizer) == 30522
    assert model.config.pad_token_id == tokenizer.pad_token_id == 0


def test_a_reused_tokenizer_without_pad_pads_with_eos(built, tmp_path):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(built["llama"])
    tokenizer.pad_token = None
    tokenizer.save_pretrained(tmp_path / "no-pad")
    folder = make_tiny_causal_lm(
        tmp_path / "model", kind="gpt2", tokenizer_from=tmp_path / "no-pad"
    )
    reloaded = AutoTokenizer.from_pretrained(folder)
    assert reloaded.pad_token == reloaded.eos_token == "<eos>"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "mistral", "texts": ["a"]}, r"unknown causal LM kind 'mistral'; valid choices: "
                                              r"'llama', 'gemma3', 'gpt2'"),
        ({"hidden": 30, "heads": 4, "texts": ["a"]}, r"hidden \(30\) must be divisible by heads"),
        ({"hidden": 6, "heads": 2, "texts": ["a"]}, r"hidden/heads \(3\) must be even"),
        ({}, "exactly one of texts= and tokenizer_from="),
        ({"texts": ["a"], "tokenizer_from": "x"}, "exactly one of texts= and tokenizer_from="),
        ({"texts": []}, "empty list of texts"),
    ],
)
def test_bad_arguments_are_errors(kwargs, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        make_tiny_causal_lm(tmp_path / "x", **kwargs)
    assert not (tmp_path / "x").exists()


def test_importing_the_module_is_light():
    code = (
        "import sys, mrekv.tiny_causal; "
        "print('torch' in sys.modules, 'transformers' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
