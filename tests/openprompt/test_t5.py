"""T5 in mrekv.openprompt: load_plm("t5"), the T5 wrappers and reading the mask from the decoder."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from _tiny_t5 import make_tiny_t5

from mrekv.errors import ConfigError
from mrekv.openprompt import PromptDataLoader, PromptForClassification
from mrekv.openprompt.data_utils import InputExample
from mrekv.openprompt.plms import (
    ModelClass,
    T5LMTokenizerWrapper,
    T5TokenizerWrapper,
    get_model_class,
    load_plm,
)
from mrekv.openprompt.prompts import (
    ManualTemplate,
    ManualVerbalizer,
    MixedTemplate,
    PrefixTuningTemplate,
    SoftTemplate,
)

TEMPLATE = '{"placeholder":"text_a"} It was {"mask"} .'
EXAMPLES = [
    InputExample(guid=0, text_a="a warm and funny film .", label=1),
    InputExample(guid=1, text_a="a dull , boring and bad movie .", label=0),
    InputExample(guid=2, text_a="the story was good .", label=1),
]


@pytest.fixture(scope="module")
def t5(tmp_path_factory):
    torch.set_num_threads(1)
    folder = make_tiny_t5(tmp_path_factory.mktemp("tiny-t5"))
    return folder, load_plm("t5", folder)


def _wrap(tokenizer, wrapper, text=TEMPLATE, example=EXAMPLES[0]):
    return wrapper.tokenize_one_example(
        ManualTemplate(tokenizer, text=text).wrap_one_example(example), False
    )


def test_load_plm_t5_returns_a_seq2seq_model_and_the_t5_wrapper(t5):
    folder, (plm, tokenizer, config, wrapper) = t5
    assert type(plm).__name__ == "T5ForConditionalGeneration"
    assert config.is_encoder_decoder and wrapper is T5TokenizerWrapper
    assert load_plm("t5-lm", folder)[3] is T5LMTokenizerWrapper
    assert not plm.training


def test_model_classes_table_and_seq2seq_module_path():
    from mrekv.openprompt.plms import _MODEL_CLASSES
    from mrekv.openprompt.plms.seq2seq import T5LMTokenizerWrapper as LM
    from mrekv.openprompt.plms.seq2seq import T5TokenizerWrapper as Span

    assert Span is T5TokenizerWrapper and LM is T5LMTokenizerWrapper
    entry = _MODEL_CLASSES["t5"]
    assert isinstance(entry, ModelClass)
    assert entry.model.__name__ == "T5ForConditionalGeneration"
    assert entry.config.__name__ == "T5Config" and entry.wrapper is T5TokenizerWrapper
    assert _MODEL_CLASSES["t5-lm"].wrapper is T5LMTokenizerWrapper
    assert get_model_class("bert").model.__name__ == "BertForMaskedLM"
    assert set(_MODEL_CLASSES) >= {"bert", "roberta", "albert", "gpt", "gpt2", "t5", "t5-lm", "opt"}
    with pytest.raises(ConfigError, match="'t5-lm'"):
        get_model_class("t6")


def test_load_plm_t5_refuses_a_masked_lm(shared_dir: Path):
    with pytest.raises(ConfigError, match="encoder-decoder"):
        load_plm("t5", shared_dir / "openprompt-golden" / "model")


def test_t5_wrapper_puts_a_sentinel_at_the_mask_and_reads_the_decoder(t5):
    _, (_, tok, _, _) = t5
    x0, x1 = (tok.convert_tokens_to_ids(f"<extra_id_{i}>") for i in (0, 1))
    pad, eos = tok.pad_token_id, tok.eos_token_id
    out = _wrap(tok, T5TokenizerWrapper(max_seq_length=32, tokenizer=tok, decoder_max_length=3))
    text = tok(EXAMPLES[0].text_a, add_special_tokens=False)["input_ids"]
    it_was = tok("It was", add_special_tokens=False)["input_ids"]
    dot = tok(".", add_special_tokens=False)["input_ids"]
    n = len(text) + len(it_was) + 1 + len(dot) + 1
    assert out["input_ids"] == text + it_was + [x0] + dot + [eos] + [pad] * (32 - n)
    assert out["attention_mask"] == [1] * n + [0] * (32 - n)
    assert out["decoder_input_ids"] == [pad, x0, pad]
    assert out["loss_ids"] == [0, 1, 0]
    two = _wrap(
        tok,
        T5TokenizerWrapper(max_seq_length=40, tokenizer=tok, decoder_max_length=4),
        '{"placeholder":"text_a"} {"mask"} and {"mask"} .',
    )
    assert [i for i in two["input_ids"] if i in (x0, x1)] == [x0, x1]
    assert two["decoder_input_ids"] == [pad, x0, x1, pad] and two["loss_ids"] == [0, 1, 1, 0]
    eos_too = _wrap(
        tok,
        T5TokenizerWrapper(
            max_seq_length=32, tokenizer=tok, decoder_max_length=4, predict_eos_token=True
        ),
    )
    assert eos_too["decoder_input_ids"] == [pad, x0, eos, pad]
    assert eos_too["loss_ids"] == [0, 1, 1, 0]
    unpadded = _wrap(
        tok, T5TokenizerWrapper(max_seq_length=32, tokenizer=tok, decoder_max_length=-1)
    )
    assert unpadded["decoder_input_ids"] == [pad, x0] and unpadded["loss_ids"] == [0, 1]


def test_t5_lm_wrapper_stops_the_encoder_before_the_mask(t5):
    _, (_, tok, _, _) = t5
    x0, pad, eos = tok.convert_tokens_to_ids("<extra_id_0>"), tok.pad_token_id, tok.eos_token_id
    out = _wrap(tok, T5LMTokenizerWrapper(max_seq_length=32, tokenizer=tok, decoder_max_length=3))
    text = tok(EXAMPLES[0].text_a, add_special_tokens=False)["input_ids"]
    it_was = tok("It was", add_special_tokens=False)["input_ids"]
    real = text + it_was + [eos]
    assert out["input_ids"][: len(real)] == real and x0 not in out["input_ids"]
    assert out["decoder_input_ids"] == [pad, x0, eos] and out["loss_ids"] == [0, 1, 0]


def test_a_t5_wrapper_needs_sentinels_and_a_mask(t5, shared_dir: Path):
    _, (_, tok, _, _) = t5
    with pytest.raises(ConfigError, match="mask"):
        _wrap(
            tok, T5TokenizerWrapper(max_seq_length=32, tokenizer=tok), '{"placeholder":"text_a"} .'
        )
    _, bert_tok, _, _ = load_plm("bert", shared_dir / "openprompt-golden" / "model")
    with pytest.raises(ConfigError, match="sentinel"):
        _wrap(bert_tok, T5TokenizerWrapper(max_seq_length=32, tokenizer=bert_tok))


def _loader(tok, wrapper, template, **kwargs):
    return PromptDataLoader(
        dataset=EXAMPLES,
        template=template,
        tokenizer=tok,
        tokenizer_wrapper_class=wrapper,
        max_seq_length=32,
        decoder_max_length=3,
        batch_size=3,
        **kwargs,
    )


def test_classification_reads_the_first_decoder_token_after_the_sentinel(t5):
    _, (plm, tok, _, wrapper) = t5
    template = ManualTemplate(tok, text=TEMPLATE)
    verbalizer = ManualVerbalizer(tok, classes=["neg", "pos"], label_words=[["bad"], ["good"]])
    model = PromptForClassification(plm=plm, template=template, verbalizer=verbalizer).eval()
    batch = next(iter(_loader(tok, wrapper, template)))
    x0 = tok.convert_tokens_to_ids("<extra_id_0>")
    with torch.no_grad():
        mask_logits = model.forward_without_verbalize(batch)
        scores = model(batch)
        direct = plm(
            input_ids=batch["input_ids"],
            attention_mask=batch["attention_mask"],
            decoder_input_ids=torch.tensor([[tok.pad_token_id, x0]] * 3),
        ).logits[:, 1]
    torch.testing.assert_close(mask_logits, direct, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(scores, verbalizer.process_logits(direct), atol=1e-5, rtol=1e-5)
    assert scores.shape == (3, 2)


def test_t5_trains_with_the_shared_loop(t5):
    folder, _ = t5
    plm, tok, _, wrapper = load_plm("t5", folder)  # a fresh copy: this test changes weights
    template = ManualTemplate(tok, text=TEMPLATE)
    verbalizer = ManualVerbalizer(tok, classes=["neg", "pos"], label_words=[["bad"], ["good"]])
    model = PromptForClassification(plm=plm, template=template, verbalizer=verbalizer)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    batch = next(iter(_loader(tok, wrapper, template)))
    losses = []
    for _ in range(5):
        loss = torch.nn.functional.cross_entropy(model(batch), batch["label"])
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


@pytest.mark.parametrize("kind", ["mixed", "soft", "prefix"])
def test_soft_templates_run_on_t5(t5, kind):
    _, (plm, tok, _, wrapper) = t5
    if kind == "mixed":
        template = MixedTemplate(
            model=plm, tokenizer=tok, text='{"placeholder":"text_a"} {"soft": "It was"} {"mask"} .'
        )
    elif kind == "soft":
        template = SoftTemplate(model=plm, tokenizer=tok, num_tokens=3, text=TEMPLATE)
    else:
        template = PrefixTuningTemplate(
            model=plm,
            tokenizer=tok,
            text=TEMPLATE,
            num_token=3,
            mid_dim=16,
            using_encoder_past_key_values=False,
        )
    verbalizer = ManualVerbalizer(tok, classes=["neg", "pos"], label_words=[["bad"], ["good"]])
    model = PromptForClassification(
        plm=plm, template=template, verbalizer=verbalizer, freeze_plm=True
    )
    batch = next(iter(_loader(tok, wrapper, template)))
    model(batch).sum().backward()
    trained = [p for n, p in template.named_parameters() if "raw_embedding" not in n]
    assert trained and all(p.grad is not None and bool(p.grad.abs().sum() > 0) for p in trained)
    for p in plm.parameters():
        p.requires_grad_(True)
    model.zero_grad()


def test_an_encoder_side_prefix_of_t5_is_refused(t5):
    _, (plm, tok, _, _) = t5
    with pytest.raises(ConfigError, match="using_encoder_past_key_values=False"):
        PrefixTuningTemplate(model=plm, tokenizer=tok, text=TEMPLATE)
