"""MixedTemplate, PtuningTemplate, SoftTemplate and PrefixTuningTemplate on tiny LMs."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from mrekv.errors import ConfigError
from mrekv.openprompt import PromptDataLoader, PromptForClassification
from mrekv.openprompt.data_utils import InputExample
from mrekv.openprompt.plms import LMTokenizerWrapper, MLMTokenizerWrapper, load_plm
from mrekv.openprompt.prompts import (
    ManualTemplate,
    ManualVerbalizer,
    MixedTemplate,
    PrefixTuningTemplate,
    PtuningTemplate,
    SoftTemplate,
)
from mrekv.openprompt.prompts.mixed_template import expand_soft_pieces
from mrekv.openprompt.prompts.prefix_tuning_template import split_prefix

EXAMPLES = [
    InputExample(guid=0, text_a="a warm and funny film", label=1),
    InputExample(guid=1, text_a="the plot made no sense at all , sadly", label=0),
    InputExample(guid=2, text_a="fine", label=1),
]
HARD = '{"placeholder":"text_a"} It was {"mask"} .'


@pytest.fixture()
def bert(shared_dir: Path):
    torch.set_num_threads(1)
    plm, tok, _, wrapper = load_plm("bert", shared_dir / "openprompt-golden" / "model")
    return plm, tok, wrapper


@pytest.fixture(scope="module")
def causal_dirs(tmp_path_factory):
    from mrekv.tiny_causal import make_tiny_causal_lm

    texts = [e.text_a + " It was good bad great ." for e in EXAMPLES] * 3
    return {
        kind: make_tiny_causal_lm(tmp_path_factory.mktemp(kind), kind=kind, texts=texts)
        for kind in ("gpt2", "llama")
    }


def _loader(tok, template, wrapper=MLMTokenizerWrapper, **kwargs):
    return PromptDataLoader(
        dataset=EXAMPLES,
        template=template,
        tokenizer=tok,
        tokenizer_wrapper_class=wrapper,
        max_seq_length=kwargs.pop("max_seq_length", 32),
        batch_size=3,
        **kwargs,
    )


def _verbalizer(tok):
    return ManualVerbalizer(tok, classes=["neg", "pos"], label_words=[["bad"], ["good"]])


def _scores(plm, template, tok, wrapper=MLMTokenizerWrapper, **kwargs):
    model = PromptForClassification(plm=plm, template=template, verbalizer=_verbalizer(tok))
    batch = next(iter(_loader(tok, template, wrapper, **kwargs)))
    with torch.no_grad():
        return model.eval()(batch), batch


# ---------------------------------------------------------------------- MixedTemplate


def test_soft_ids_follow_openprompts_numbering(bert):
    plm, tok, _ = bert
    text = (
        '{"soft": None} {"soft": "the", "soft_id": 1} {"soft": None} {"soft": "it", "soft_id": 3} '
        '{"soft_id": 1} {"soft": "was"} {"mask"}'
    )
    template = MixedTemplate(model=plm, tokenizer=tok, text=text)
    assert template.soft_token_ids == [1, 2, 3, 4, 2, 5, 0]
    assert template.get_default_soft_token_ids() == [1, 2, 3, 4, 2, 5, 0]
    assert template.soft_embedding.weight.shape == (6, plm.config.hidden_size)
    raw = plm.get_input_embeddings().weight
    for soft_id, word in ((2, "the"), (4, "it"), (5, "was")):
        token = tok.convert_tokens_to_ids(word)
        assert torch.equal(template.soft_embedding.weight[soft_id], raw[token])
    assert not torch.equal(template.soft_embedding.weight[1], raw[0])  # random, N(0, 1)


def test_duplicate_same_and_multi_token_soft_text():
    tok = lambda text: ([10, 11], ["a", "b"]) if "ab" in text else ([12], ["c"])  # noqa: E731
    pieces = [
        {"soft": None, "duplicate": 3},
        {"soft": None, "duplicate": 2, "same": True},
        {"soft": "ab", "add_prefix_space": " "},
        {"mask": None},
    ]
    out, init, n = expand_soft_pieces(pieces, tok)
    assert [p["soft_token_ids"] for p in out] == [1, 2, 3, 4, 4, 5, 6, 0]
    assert init == {5: 10, 6: 11} and n == 6
    assert [p["soft"] for p in out[5:7]] == ["a", "b"]
    for bad in ({"soft_id": 0}, {"soft_id": "x"}, {"soft": None, "duplicate": 0}):
        with pytest.raises(ConfigError):
            expand_soft_pieces([bad, {"mask": None}], tok)


def test_manual_template_rejects_soft_blocks_mixed_accepts_them(bert):
    plm, tok, _ = bert
    with pytest.raises(ConfigError, match="unknown key 'soft'"):
        ManualTemplate(tok, text='{"placeholder":"text_a"} {"soft"} {"mask"}')
    MixedTemplate(model=plm, tokenizer=tok, text='{"placeholder":"text_a"} {"soft"} {"mask"}')


def test_soft_tokens_are_encoded_as_placeholders_with_their_ids(bert):
    plm, tok, wrapper = bert
    template = MixedTemplate(
        model=plm,
        tokenizer=tok,
        text='{"placeholder":"text_a"} {"soft"} {"soft": "It was"} {"mask"}',
    )
    pieces, _ = template.wrap_one_example(EXAMPLES[0])
    assert [p["soft_token_ids"] for p in pieces] == [0, 1, 2, 3, 0]
    assert [p["text"] for p in pieces[1:4]] == ["", "it", "was"]
    features = wrapper(max_seq_length=16, tokenizer=tok).tokenize_one_example([pieces, {}], False)
    text = tok(EXAMPLES[0].text_a, add_special_tokens=False)["input_ids"]
    cls, sep, mask = tok.cls_token_id, tok.sep_token_id, tok.mask_token_id
    real = [cls, *text, 0, 0, 0, mask, sep]
    assert features["input_ids"] == real + [0] * (16 - len(real))
    assert features["soft_token_ids"] == [0] * (1 + len(text)) + [1, 2, 3] + [0] * (
        16 - len(real) + 2
    )


def test_word_initialised_soft_tokens_reproduce_the_hard_template(bert):
    plm, tok, _ = bert
    hard, _ = _scores(plm, ManualTemplate(tok, text=HARD), tok)
    mixed = MixedTemplate(
        model=plm, tokenizer=tok, text='{"placeholder":"text_a"} {"soft": "It was"} {"mask"} .'
    )
    soft, batch = _scores(plm, mixed, tok)
    torch.testing.assert_close(soft, hard, atol=1e-5, rtol=1e-5)
    assert (
        "input_ids" in batch and batch["input_ids"] is not None
    )  # the loader's batch is untouched


def test_training_moves_only_the_soft_tokens(bert):
    plm, tok, _ = bert
    template = MixedTemplate(
        model=plm,
        tokenizer=tok,
        text='{"placeholder":"text_a"} {"soft"} {"soft": "It was"} {"mask"} .',
    )
    model = PromptForClassification(
        plm=plm, template=template, verbalizer=_verbalizer(tok), freeze_plm=True
    )
    params = [p for n, p in model.template.named_parameters() if "raw_embedding" not in n]
    assert [n for n, _ in model.template.named_parameters() if "raw_embedding" not in n] == [
        "soft_embedding.weight"
    ]
    before_plm = plm.get_input_embeddings().weight.detach().clone()
    before = template.soft_embedding.weight.detach().clone()
    optimizer = torch.optim.AdamW(params, lr=0.1)
    for batch in _loader(tok, template):
        torch.nn.functional.cross_entropy(model(batch), batch["label"]).backward()
        optimizer.step()
        optimizer.zero_grad()
    moved = (template.soft_embedding.weight.detach() - before).abs().sum(dim=1)
    assert bool((moved[1:] > 0).all())
    assert torch.equal(plm.get_input_embeddings().weight, before_plm)


# ---------------------------------------------------------------------- PtuningTemplate


@pytest.mark.parametrize("encoder", ["lstm", "mlp"])
def test_ptuning_puts_the_kth_encoder_output_at_the_kth_soft_token(bert, encoder):
    plm, tok, _ = bert
    template = PtuningTemplate(
        model=plm,
        tokenizer=tok,
        prompt_encoder_type=encoder,
        text='{"soft"} {"placeholder":"text_a"} {"soft"} {"soft"} {"mask"} .',
    )
    assert template.num_soft_token == 3
    assert (template.new_lstm_head is not None) == (encoder == "lstm")
    batch = next(iter(_loader(tok, template)))
    out = template.process_batch(batch)
    embeds, soft = out["inputs_embeds"], batch["soft_token_ids"]
    prompt = template.prompt_embeddings()
    raw = plm.get_input_embeddings()(batch["input_ids"])
    for row in range(3):
        positions = torch.nonzero(soft[row] > 0).flatten().tolist()
        assert len(positions) == 3
        for k, pos in enumerate(positions):
            torch.testing.assert_close(embeds[row, pos], prompt[k])
        hard = soft[row] == 0
        torch.testing.assert_close(embeds[row][hard], raw[row][hard])
    model = PromptForClassification(plm=plm, template=template, verbalizer=_verbalizer(tok))
    model(batch).sum().backward()
    assert template.new_embedding.weight.grad is not None


def test_ptuning_rejects_an_unknown_encoder(bert):
    plm, tok, _ = bert
    with pytest.raises(ConfigError, match="'lstm'"):
        PtuningTemplate(model=plm, tokenizer=tok, text=HARD, prompt_encoder_type="gru")


# ---------------------------------------------------------------------- SoftTemplate


def test_soft_template_starts_from_the_first_vocabulary_rows_or_uniform(bert):
    plm, tok, _ = bert
    raw = plm.get_input_embeddings().weight
    vocab = SoftTemplate(model=plm, tokenizer=tok, num_tokens=5, text=HARD)
    assert torch.equal(vocab.soft_embeds.detach(), raw[:5])
    assert vocab.soft_embeds.requires_grad
    uniform = SoftTemplate(
        model=plm,
        tokenizer=tok,
        num_tokens=5,
        text=HARD,
        initialize_from_vocab=False,
        random_range=0.1,
    )
    assert float(uniform.soft_embeds.detach().abs().max()) <= 0.1
    assert [n for n, _ in uniform.named_parameters() if "raw_embedding" not in n] == ["soft_embeds"]
    with pytest.raises(ConfigError, match="num_tokens"):
        SoftTemplate(model=plm, tokenizer=tok, num_tokens=-1, text=HARD)


def test_soft_template_equals_prepending_those_vocabulary_ids(bert):
    plm, tok, _ = bert
    n = 4
    template = SoftTemplate(model=plm, tokenizer=tok, num_tokens=n, text=HARD)
    model = PromptForClassification(plm=plm, template=template, verbalizer=_verbalizer(tok)).eval()
    batch = next(iter(_loader(tok, template)))
    with torch.no_grad():
        outputs = model.prompt_model(batch)
        logits = model.forward_without_verbalize(batch)
        ids = torch.cat([torch.arange(n).expand(3, -1), batch["input_ids"]], dim=1)
        mask = torch.cat([torch.ones(3, n, dtype=torch.long), batch["attention_mask"]], dim=1)
        direct = plm(input_ids=ids, attention_mask=mask).logits[:, n:]
    assert outputs.logits.shape[1] == batch["loss_ids"].shape[1]
    assert all(h.shape[1] == batch["loss_ids"].shape[1] for h in outputs.hidden_states)
    at = batch["loss_ids"] == 1
    torch.testing.assert_close(logits, direct[at], atol=1e-5, rtol=1e-5)


def test_soft_template_without_text_uses_the_default(bert):
    plm, tok, _ = bert
    template = SoftTemplate(model=plm, tokenizer=tok, num_tokens=2)
    pieces, _ = template.wrap_one_example(EXAMPLES[0])
    assert [p["text"] for p in pieces] == ["a warm and funny film", "<mask>"]


# ---------------------------------------------------------------------- PrefixTuningTemplate


def test_split_prefix_orders_layers_then_key_and_value():
    flat = torch.arange(2 * 3 * (2 * 2 * 2 * 4), dtype=torch.float).view(2, 3, -1)
    kv = split_prefix(flat, layers=2, heads=2, head_dim=4)
    reshaped = flat.view(2, 3, 4, 2, 4)  # (batch, n, layers * 2, heads, head_dim)
    torch.testing.assert_close(kv[1][0], reshaped[:, :, 2].permute(0, 2, 1, 3))  # layer 1 key
    torch.testing.assert_close(kv[1][1], reshaped[:, :, 3].permute(0, 2, 1, 3))  # layer 1 value


def test_prefix_for_a_masked_lm_keeps_the_input_positions(bert):
    plm, tok, _ = bert
    template = PrefixTuningTemplate(model=plm, tokenizer=tok, text=HARD, num_token=3, mid_dim=16)
    assert {n.split(".")[0] for n, _ in template.named_parameters()} == {"wte", "control_trans"}
    batch = next(iter(_loader(tok, template)))
    out = template.process_batch(batch)
    width = batch["input_ids"].shape[1]
    assert out["attention_mask"].shape == (3, 3 + width)
    assert bool((out["attention_mask"][:, :3] == 1).all())
    assert out["position_ids"].tolist() == [list(range(width))] * 3
    assert out[template.cache_argument].get_seq_length() == 3
    with torch.no_grad():
        plain = plm(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        hidden = {**out, "attention_mask": out["attention_mask"].clone()}
        hidden["attention_mask"][:, :3] = 0  # a prefix nobody attends to changes nothing
        kwargs = {k: hidden[k] for k in ("input_ids", "attention_mask", "position_ids")}
        masked = plm(**kwargs, **{template.cache_argument: hidden[template.cache_argument]}).logits
    torch.testing.assert_close(masked, plain, atol=1e-5, rtol=1e-5)
    model = PromptForClassification(
        plm=plm, template=template, verbalizer=_verbalizer(tok), freeze_plm=True
    )
    fresh = next(iter(_loader(tok, template)))
    with_prefix = model(fresh)
    assert not torch.allclose(with_prefix, _scores(plm, ManualTemplate(tok, text=HARD), tok)[0])
    with_prefix.sum().backward()
    assert all(p.grad is not None for p in template.parameters())


@pytest.mark.parametrize("kind", ["gpt2", "llama"])
def test_prefix_for_a_causal_lm_is_its_past(causal_dirs, kind):
    plm, tok, _, wrapper = load_plm(kind, causal_dirs[kind])
    assert wrapper is LMTokenizerWrapper
    template = PrefixTuningTemplate(model=plm, tokenizer=tok, text=HARD, num_token=3, mid_dim=16)
    assert {n.split(".")[0] for n, _ in template.named_parameters()} == {
        "decoder_wte",
        "decoder_control_trans",
    }
    assert template.is_causal
    prefix = torch.tensor([tok(" good bad great film", add_special_tokens=False)["input_ids"][:3]])
    assert prefix.shape[1] == 3
    with torch.no_grad():
        past = plm(input_ids=prefix, use_cache=True)
        cache = past.past_key_values
        layers = [(layer.keys, layer.values) for layer in cache.layers]
    template.get_past_key_values = lambda batch_size=1: [  # type: ignore[method-assign]
        (k.expand(batch_size, -1, -1, -1), v.expand(batch_size, -1, -1, -1)) for k, v in layers
    ]
    model = PromptForClassification(plm=plm, template=template, verbalizer=_verbalizer(tok)).eval()
    batch = next(iter(_loader(tok, template, wrapper, padding="longest")))
    with torch.no_grad():
        logits = model.forward_without_verbalize(batch)
        ids = torch.cat([prefix.expand(3, -1), batch["input_ids"]], dim=1)
        mask = torch.cat([torch.ones(3, 3, dtype=torch.long), batch["attention_mask"]], dim=1)
        direct = plm(input_ids=ids, attention_mask=mask).logits[:, 3:]
    torch.testing.assert_close(logits, direct[batch["loss_ids"] == 1], atol=1e-4, rtol=1e-4)


def test_prefix_needs_a_model_that_takes_a_cache(bert):
    from transformers import DistilBertConfig, DistilBertForMaskedLM

    _, tok, _ = bert
    tiny = DistilBertForMaskedLM(
        DistilBertConfig(vocab_size=64, dim=16, n_layers=1, n_heads=2, hidden_dim=32)
    )
    with pytest.raises(ConfigError, match="cannot add a prefix"):
        PrefixTuningTemplate(model=tiny, tokenizer=tok, text=HARD)
