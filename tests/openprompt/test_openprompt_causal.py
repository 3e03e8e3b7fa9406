"""The GPT-2-style path: load_plm("gpt2", folder) -> LMTokenizerWrapper -> next-token scores."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from mrekv.errors import ConfigError
from mrekv.openprompt import PromptDataLoader, PromptForClassification
from mrekv.openprompt.data_utils import InputExample
from mrekv.openprompt.plms import LMTokenizerWrapper, load_plm
from mrekv.openprompt.prompts import ManualTemplate, ManualVerbalizer

TEXTS = ["a warm and funny film .", "the plot made no sense .", "it was fine ."]
TEMPLATE = '{"placeholder":"text_a"} It was {"mask"}'


def _check_next_token_scores(plm, tokenizer, wrapper) -> None:
    assert wrapper is LMTokenizerWrapper
    template = ManualTemplate(tokenizer, text=TEMPLATE)
    verbalizer = ManualVerbalizer(
        tokenizer,
        classes=["neg", "pos"],
        label_words=[["bad"], ["good"]],
        multi_token_handler="first",
    )
    model = PromptForClassification(plm=plm, template=template, verbalizer=verbalizer).eval()
    loader = PromptDataLoader(
        dataset=[InputExample(guid=i, text_a=t) for i, t in enumerate(TEXTS)],
        template=template,
        tokenizer=tokenizer,
        tokenizer_wrapper_class=wrapper,
        max_seq_length=64,
        batch_size=2,
    )
    rows, masks = [], []
    with torch.no_grad():
        for batch in loader:
            rows.append(model.forward_without_verbalize(batch))
            masks.append(batch)
            assert model(batch).shape == (batch["input_ids"].shape[0], 2)
    logits = torch.cat(rows)
    # the scores are read where the LM predicts the token after "It was": the last real token
    for i, text in enumerate(TEXTS):
        ids = tokenizer(text + " It was", add_special_tokens=True, return_tensors="pt")["input_ids"]
        with torch.no_grad():
            direct = plm(input_ids=ids).logits[0, -1]
        torch.testing.assert_close(logits[i], direct, atol=1e-4, rtol=1e-4)


def test_gpt2_path_on_a_tiny_gpt2(tmp_path: Path):
    from mrekv.tiny_causal import make_tiny_causal_lm

    folder = make_tiny_causal_lm(
        tmp_path / "gpt2", kind="gpt2", texts=TEXTS * 5 + ["good bad It was"]
    )
    plm, tokenizer, config, wrapper = load_plm("gpt2", folder)
    assert config.model_type == "gpt2"
    _check_next_token_scores(plm, tokenizer, wrapper)


def test_mask_first_cannot_be_predicted_by_a_causal_lm(tmp_path: Path):
    from mrekv.tiny_causal import make_tiny_causal_lm

    folder = make_tiny_causal_lm(tmp_path / "gpt2", kind="gpt2", texts=TEXTS)
    _, tokenizer, _, wrapper = load_plm("gpt2", folder)
    template = ManualTemplate(tokenizer, text='{"mask"} {"placeholder":"text_a"}')
    with pytest.raises(ConfigError, match="token before the mask"):
        wrapper(max_seq_length=32, tokenizer=tokenizer).tokenize_one_example(
            template.wrap_one_example(InputExample(text_a="hello"))
        )


def test_unknown_model_name_lists_the_choices():
    with pytest.raises(ConfigError, match="'auto'"):
        load_plm("t5-encoder", "nowhere")


def test_gpt2_path_on_a_real_causal_lm():
    from mrekv import eval_models

    try:
        path = eval_models.locate("smollm2-135m", check=False)
    except Exception as err:  # noqa: BLE001 - any reason the model is absent
        pytest.skip(f"the real causal model is not installed: {err}")
    plm, tokenizer, _, wrapper = load_plm("gpt2", path)
    _check_next_token_scores(plm, tokenizer, wrapper)


def test_pieces_after_the_mask_are_dropped_for_a_causal_lm(tmp_path: Path):
    from mrekv.tiny_causal import make_tiny_causal_lm

    folder = make_tiny_causal_lm(tmp_path / "gpt2", kind="gpt2", texts=TEXTS)
    _, tokenizer, _, wrapper = load_plm("gpt2", folder)
    example = InputExample(text_a="a warm film .")
    encoded = [
        wrapper(max_seq_length=32, tokenizer=tokenizer).tokenize_one_example(
            ManualTemplate(tokenizer, text=text).wrap_one_example(example)
        )
        for text in (TEMPLATE, TEMPLATE + " . Thanks !")
    ]
    assert encoded[0]["input_ids"] == encoded[1]["input_ids"]
    assert encoded[0]["loss_ids"] == encoded[1]["loss_ids"]
    assert encoded[0]["loss_ids"].count(1) == 1
