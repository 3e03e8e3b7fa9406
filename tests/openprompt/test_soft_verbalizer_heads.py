"""SoftVerbalizer: one output per class with or without label words; OpenPrompt's id layout."""

from __future__ import annotations

import pytest
import torch
from _golden import Runner
from torch import nn

from mrekv.errors import ConfigError
from mrekv.openprompt.prompts import SoftVerbalizer

INPUTS = {
    "template": {"text": '{"placeholder":"text_a"} It was {"mask"} .'},
    "wrapper": {"max_seq_length": 32, "truncate_method": "tail"},
    "examples": [
        {"text_a": "a dull film .", "label": 0},
        {"text_a": "a lovely film .", "label": 1},
        {"text_a": "the end .", "label": 2},
        {"text_a": "it rained .", "label": 3},
    ],
}


def _ids(tok, word: str) -> list[int]:
    return list(tok(word, add_special_tokens=False)["input_ids"])


def test_without_label_words_the_head_has_one_output_per_class(runner: Runner):
    v = SoftVerbalizer(runner.tok, runner.plm, num_classes=4)
    layer = v.head_last_layer
    assert isinstance(layer, nn.Linear) and layer.out_features == 4 and layer.bias is None
    assert v.head_last_layer_full_name == "predictions.decoder"
    scores = runner.classify(INPUTS, v)
    assert scores.shape == (4, 4)
    # the new layer, and only it, is group 2; the copied transform is group 1
    assert [id(p) for p in v.group_parameters_2] == [id(layer.weight)]
    names = {id(p): n for n, p in v.head.named_parameters()}
    assert all("decoder" not in names[id(p)] for p in v.group_parameters_1)
    # the model's own head is untouched
    assert runner.plm.cls.predictions.decoder.out_features == runner.plm.config.vocab_size


def test_without_label_words_it_trains(runner: Runner):
    v = SoftVerbalizer(runner.tok, runner.plm, classes=["a", "b", "c", "d"])
    model = runner.model(INPUTS, v).train()
    before = v.head_last_layer.weight.detach().clone()
    optimizer = torch.optim.SGD(v.group_parameters_2, lr=0.5)
    batch = next(iter(runner.loader(INPUTS, INPUTS["examples"])))
    loss = torch.nn.functional.cross_entropy(model(batch), batch["label"])
    loss.backward()
    optimizer.step()
    assert not torch.equal(before, v.head_last_layer.weight.detach())
    runner.plm.zero_grad(set_to_none=True)
    runner.plm.eval()


def test_random_init_and_rng_use_are_openprompts(runner: Runner):
    hidden = runner.plm.config.hidden_size
    torch.manual_seed(0)
    v = SoftVerbalizer(runner.tok, runner.plm, num_classes=3)
    after_soft = torch.rand(3)
    torch.manual_seed(0)
    reference = nn.Linear(hidden, 3, bias=False)
    after_linear = torch.rand(3)
    torch.testing.assert_close(v.head_last_layer.weight, reference.weight, rtol=0, atol=0)
    assert torch.equal(after_soft, after_linear)
    # with label words the layer is still drawn first (then overwritten): same RNG use
    torch.manual_seed(0)
    SoftVerbalizer(runner.tok, runner.plm, classes=["n", "p"], label_words=[["bad"], ["good"]])
    after_words = torch.rand(3)
    torch.manual_seed(0)
    nn.Linear(hidden, 2, bias=False)
    assert torch.equal(after_words, torch.rand(3))


def test_label_words_initialise_rows_and_keep_the_parameter(runner: Runner):
    v = SoftVerbalizer(runner.tok, runner.plm, classes=["neg", "pos"])
    param = v.head_last_layer.weight
    optimizer = torch.optim.SGD([param], lr=0.1)
    v.label_words = [["bad", "awful"], ["top-notch"]]
    assert v.head_last_layer.weight is param  # set in place: the optimizer still holds it
    assert optimizer.param_groups[0]["params"][0] is param
    emb = runner.plm.get_output_embeddings().weight.detach()
    bad, notch = _ids(runner.tok, " bad"), _ids(runner.tok, " top-notch")
    assert len(bad) == 1 and len(notch) == 3
    torch.testing.assert_close(param[0], emb[bad[0]])
    torch.testing.assert_close(param[1], emb[notch].mean(dim=0))


def test_label_words_ids_layout_is_openprompts(runner: Runner):
    single = SoftVerbalizer(
        runner.tok, runner.plm, classes=["n", "p"], label_words=[["bad", "awful"], ["good"]]
    )
    # one row per class with its first word's ids: an int per single-token word
    assert single.label_words_ids.tolist() == [_ids(runner.tok, " bad"), _ids(runner.tok, " good")]
    assert single.label_words_mask.tolist() == [[1], [1]]
    multi = SoftVerbalizer(
        runner.tok, runner.plm, classes=["n", "p"], label_words=[["so-so"], ["good"]]
    )
    soso, good = _ids(runner.tok, " so-so"), _ids(runner.tok, " good")
    assert multi.label_words_ids.tolist() == [soso, good + [0] * (len(soso) - 1)]
    assert multi.label_words_mask.tolist() == [[1] * len(soso), [1] + [0] * (len(soso) - 1)]
    assert multi.label_words == [[" so-so"], [" good"]]


class _TinyTok:
    """A tokenizer of whitespace words into fixed ids (for a model without a real vocabulary)."""

    vocab = {"bad": [3], "good": [5, 6]}

    def __call__(self, text, add_special_tokens=False):
        return {"input_ids": [i for w in text.split() for i in self.vocab.get(w, [1])]}


class _LinearHeadLM(nn.Module):
    """A model whose last child is the output layer itself (as GPT-2's ``lm_head``)."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Linear(4, 4)
        self.lm_head = nn.Linear(4, 10, bias=False)


def test_a_linear_head_becomes_the_class_layer():
    lm = _LinearHeadLM()
    v = SoftVerbalizer(_TinyTok(), lm, classes=["n", "p"], label_words=["bad", "good"])
    assert isinstance(v.head, nn.Linear) and v.head.out_features == 2
    assert v.head_last_layer is v.head and v.head_last_layer_full_name == ""
    assert v.group_parameters_1 == [] and v.group_parameters_2 == [v.head.weight]
    weight = lm.lm_head.weight.detach()
    torch.testing.assert_close(v.head.weight[0], weight[3])
    torch.testing.assert_close(v.head.weight[1], weight[[5, 6]].mean(dim=0))
    assert lm.lm_head.out_features == 10  # the model keeps its own layer
    assert v.process_hiddens(torch.zeros(3, 4)).shape == (3, 2)
    assert SoftVerbalizer(_TinyTok(), lm, num_classes=3).process_hiddens(
        torch.ones(1, 4)
    ).shape == (
        1,
        3,
    )


def test_soft_verbalizer_errors(runner: Runner):
    with pytest.raises(ConfigError, match="needs the pretrained model"):
        SoftVerbalizer(runner.tok)
    with pytest.raises(ConfigError, match="classes, num_classes or label_words"):
        SoftVerbalizer(runner.tok, runner.plm)
    v = SoftVerbalizer(runner.tok, runner.plm, num_classes=2)
    with pytest.raises(ConfigError, match="hidden states"):
        v.process_logits(torch.zeros(1, 10))
    with pytest.raises(ConfigError, match="does not calibrate"):
        v.register_calibrate_logits(torch.zeros(10))
    with pytest.raises(ConfigError, match="2 word lists for 3 classes"):
        SoftVerbalizer(runner.tok, runner.plm, num_classes=3, label_words=[["a"], ["b"]])
    with pytest.raises(ConfigError, match="has no sub-token"):
        SoftVerbalizer(_TinyTok(), _LinearHeadLM(), classes=["n", "p"], label_words=["<!>", "bad"])
