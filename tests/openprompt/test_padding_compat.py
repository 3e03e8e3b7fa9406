"""PromptDataLoader pads to max_seq_length as OpenPrompt's does; padding="longest" is the option."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from _golden import Runner, load_cases

from mrekv.errors import ConfigError
from mrekv.openprompt import PromptDataLoader, PromptForClassification
from mrekv.openprompt.data_utils import InputExample
from mrekv.openprompt.plms import MLMTokenizerWrapper, load_plm
from mrekv.openprompt.prompts import ManualTemplate, ManualVerbalizer

CASES = {c["id"]: c for c in load_cases()}


def _case(kind: str) -> dict:
    found = [c for c in CASES.values() if c["kind"] == kind and c["expect"] == "output"]
    if not found:
        pytest.skip("the OpenPrompt golden fixtures are missing")
    return found[0]


def test_model_forward_batch_is_openprompts_padded_batch(runner: Runner):
    case = _case("model_forward")
    inputs, exp = case["inputs"], case["expected"]
    batch = next(iter(runner.loader(inputs, inputs["examples"], batch_size=inputs["batch_size"])))
    length = inputs["wrapper"]["max_seq_length"]
    assert batch["input_ids"].shape == (len(exp["input_ids"]), length)
    assert batch["input_ids"].tolist() == exp["input_ids"]
    assert batch["attention_mask"].tolist() == exp["attention_mask"]
    assert batch["loss_ids"].shape == batch["input_ids"].shape
    assert [row.index(1) for row in batch["loss_ids"].tolist()] == exp["mask_positions"]


def test_loader_rows_are_the_wrappers_padded_encodings(runner: Runner):
    cases = [
        c for c in CASES.values() if c["kind"] == "template_encoding" and c["expect"] == "output"
    ][:40]
    if not cases:
        pytest.skip("the OpenPrompt golden fixtures are missing")
    for case in cases:
        inputs = case["inputs"]
        rows = [inputs["example"]]
        batch = next(iter(runner.loader(inputs, rows, batch_size=1)))
        assert batch["input_ids"][0].tolist() == case["expected"]["input_ids"], case["id"]
        assert batch["attention_mask"][0].tolist() == case["expected"]["attention_mask"]
        assert batch["loss_ids"][0].tolist() == case["expected"]["loss_ids"]


def test_training_batches_match_openprompts_padding(runner: Runner):
    case = _case("training")
    inputs = case["inputs"]
    loader = runner.loader(inputs, inputs["train_examples"], batch_size=2)
    for batch in loader:
        assert batch["input_ids"].shape[1] == inputs["wrapper"]["max_seq_length"]


@pytest.mark.parametrize("family", ["bert", "gpt2"])
def test_longest_padding_gives_the_same_scores(shared_dir: Path, tmp_path: Path, family: str):
    torch.set_num_threads(1)
    texts = ["a warm and funny film", "the plot made no sense at all , sadly", "fine"]
    if family == "gpt2":
        from mrekv.tiny_causal import make_tiny_causal_lm

        folder = make_tiny_causal_lm(tmp_path / "gpt2", kind="gpt2", texts=texts * 3)
        plm, tok, _, wrapper = load_plm("gpt2", folder)
    else:
        plm, tok, _, wrapper = load_plm("bert", shared_dir / "openprompt-golden" / "model")
    data = [InputExample(guid=i, text_a=t, label=i % 2) for i, t in enumerate(texts)]
    template = ManualTemplate(tok, text='{"placeholder":"text_a"} It was {"mask"}')
    verbalizer = ManualVerbalizer(tok, classes=["n", "p"], label_words=[["bad"], ["good"]])
    model = PromptForClassification(plm=plm, template=template, verbalizer=verbalizer).eval()
    scores, widths = {}, {}
    for padding in ("max_length", "longest"):
        loader = PromptDataLoader(
            dataset=data,
            template=template,
            tokenizer=tok,
            tokenizer_wrapper_class=wrapper,
            max_seq_length=48,
            batch_size=3,
            padding=padding,
        )
        batch = next(iter(loader))
        widths[padding] = batch["input_ids"].shape[1]
        with torch.no_grad():
            scores[padding] = model(batch)
    assert widths["max_length"] == 48
    assert widths["longest"] == int(batch["attention_mask"].sum(dim=1).max()) < 48
    torch.testing.assert_close(scores["longest"], scores["max_length"], atol=1e-4, rtol=1e-4)


def test_unknown_padding_lists_the_choices(shared_dir: Path):
    _, tok, _, _ = load_plm("bert", shared_dir / "openprompt-golden" / "model")
    template = ManualTemplate(tok, text='{"placeholder":"text_a"} {"mask"}')
    with pytest.raises(ConfigError, match="'max_length'"):
        PromptDataLoader(
            dataset=[InputExample(text_a="x")],
            template=template,
            tokenizer=tok,
            tokenizer_wrapper_class=MLMTokenizerWrapper,
            padding="dynamic",
        )
