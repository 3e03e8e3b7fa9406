"""AutomaticVerbalizer: OpenPrompt's label-word search, by hand-computed numbers and in a loop."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from mrekv.errors import ConfigError
from mrekv.openprompt import PromptDataLoader, PromptForClassification
from mrekv.openprompt.data_utils import InputExample
from mrekv.openprompt.plms import load_plm
from mrekv.openprompt.prompts import AutomaticVerbalizer, ManualTemplate
from mrekv.openprompt.prompts.automatic_verbalizer import (
    candidate_ids,
    find_label_words,
    word_scores,
)

PROBS = torch.tensor([[0.5, 0.1], [0.4, 0.2], [0.2, 0.6]], dtype=torch.float64)
LABELS = torch.tensor([0, 0, 1])


def _naive_scores(probs, labels, c, score_fct, balance):
    """The formulas of the module docstring, one number at a time."""
    n, k = probs.shape
    member = [1.0 if int(labels[i]) == c else 0.0 for i in range(n)]
    ratio = sum(member) / (n - sum(member)) if balance else 1.0
    out = []
    for t in range(k):
        total = 0.0
        for i in range(n):
            p = float(probs[i, t])
            lp, lnp = math.log(p + 1e-15), math.log(1 - p + 1e-15)
            if member[i]:
                total += lp - lnp if score_fct == "llr" else lp
            else:
                total += ratio * (lnp - lp if score_fct == "llr" else lnp)
        out.append(total)
    return out


def test_llr_and_ce_scores_by_hand():
    member = (LABELS == 0).double()
    llr = word_scores(PROBS, member, "llr", balance=True)
    # token 0: log(.5/.5) + log(.4/.6) + 2 log(.8/.2)
    # token 1: log(.1/.9) + log(.2/.8) + 2 log(.4/.6)
    expected = [
        math.log(0.4 / 0.6) + 2 * math.log(4),
        math.log(1 / 9) + math.log(1 / 4) + 2 * math.log(0.4 / 0.6),
    ]
    torch.testing.assert_close(llr, torch.tensor(expected, dtype=torch.float64))
    ce = word_scores(PROBS, member, "ce", balance=True)
    torch.testing.assert_close(
        ce,
        torch.tensor(
            [math.log(0.5 * 0.4) + 2 * math.log(0.8), math.log(0.1 * 0.2) + 2 * math.log(0.4)],
            dtype=torch.float64,
        ),
    )
    unbalanced = word_scores(PROBS, member, "llr", balance=False)
    assert float(unbalanced[0]) == pytest.approx(math.log(0.4 / 0.6) + math.log(4))


@pytest.mark.parametrize("score_fct", ["llr", "ce"])
@pytest.mark.parametrize("balance", [True, False])
def test_scores_match_a_naive_loop_on_random_data(score_fct, balance):
    gen = torch.Generator().manual_seed(0)
    probs = torch.softmax(torch.randn(7, 6, generator=gen, dtype=torch.float64), dim=-1)
    labels = torch.tensor([0, 1, 2, 0, 1, 0, 2])
    for c in range(3):
        got = word_scores(probs, (labels == c).double(), score_fct, balance)
        torch.testing.assert_close(
            got,
            torch.tensor(_naive_scores(probs, labels, c, score_fct, balance), dtype=torch.float64),
        )


def test_candidates_and_words_by_hand():
    assert [c.tolist() for c in candidate_ids(PROBS, LABELS, 2, 1)] == [[0], [1]]
    assert [c.tolist() for c in candidate_ids(PROBS, LABELS, 2, 0)] == [[0, 1], [0, 1]]
    assert find_label_words(PROBS, LABELS, 2, num_candidates=2).tolist() == [[0], [1]]
    assert find_label_words(PROBS, LABELS, 2, words_per_label=2, num_candidates=0).tolist() == [
        [0, 1],
        [1, 0],
    ]
    with pytest.raises(ConfigError, match="class"):
        find_label_words(PROBS, torch.tensor([0, 0, 0]), 2)
    with pytest.raises(ConfigError, match="candidates"):
        find_label_words(PROBS, LABELS, 2, words_per_label=3, num_candidates=2)
    with pytest.raises(ConfigError, match="'llr'"):
        word_scores(PROBS, LABELS.double(), "pmi")


def test_the_verbalizer_finds_planted_words_and_scores_as_openprompt(shared_dir: Path):
    _, tok, _, _ = load_plm("bert", shared_dir / "openprompt-golden" / "model")
    good, bad = tok.convert_tokens_to_ids("good"), tok.convert_tokens_to_ids("bad")
    gen = torch.Generator().manual_seed(1)
    verbalizer = AutomaticVerbalizer(
        tok,
        num_candidates=50,
        label_word_num_per_class=2,
        num_searches=1,
        score_fct="llr",
        balance=True,
        num_classes=2,
    )
    assert verbalizer.label_words == [[], []]
    for _ in range(3):
        labels = torch.tensor([0, 1, 0, 1])
        logits = torch.randn(4, len(tok), generator=gen)
        logits[labels == 0, good] += 12
        logits[labels == 1, bad] += 12
        scores = verbalizer.process_logits(logits, batch={"label": labels})
        assert torch.equal(scores, torch.zeros(4, 2))  # no words yet
    assert verbalizer.probs_buffer is not None and verbalizer.probs_buffer.shape == (12, len(tok))
    verbalizer.optimize_to_initialize()
    assert verbalizer.label_words_ids.shape == (2, 2)
    assert verbalizer.label_words[0][0] == "good" and verbalizer.label_words[1][0] == "bad"
    assert not verbalizer.accumulate and verbalizer.probs_buffer is None
    logits = torch.randn(3, len(tok), generator=gen)
    got = verbalizer.process_logits(logits)  # no labels needed any more
    picked = logits[:, verbalizer.label_words_ids.reshape(-1)]
    expected = torch.log(torch.softmax(picked, dim=-1) + 1e-15).reshape(3, 2, 2).mean(dim=-1)
    torch.testing.assert_close(got, expected)
    assert verbalizer.probs_buffer is None
    prior_logits = torch.randn(len(tok), generator=gen)
    verbalizer.register_calibrate_logits(prior_logits)
    p = torch.softmax(picked, dim=-1)
    q = torch.softmax(prior_logits[verbalizer.label_words_ids.reshape(-1)], dim=-1)
    p = p / (q + 1e-15)
    p = p / p.sum(dim=-1, keepdim=True)
    calibrated = torch.log(p + 1e-15).reshape(3, 2, 2).mean(dim=-1)
    torch.testing.assert_close(verbalizer.process_logits(logits), calibrated)


def test_constructor_and_collection_errors():
    with pytest.raises(ConfigError, match="'llr'"):
        AutomaticVerbalizer(None, num_classes=2, score_fct="kl")
    with pytest.raises(ConfigError, match="num_searches"):
        AutomaticVerbalizer(None, num_classes=2, num_searches=0)
    with pytest.raises(ConfigError, match="num_classes"):
        AutomaticVerbalizer(None)
    verbalizer = AutomaticVerbalizer(None, classes=["a", "b"])
    assert verbalizer.num_classes == 2
    with pytest.raises(ConfigError, match="collected no logits"):
        verbalizer.optimize_to_initialize()
    with pytest.raises(ConfigError, match="labelled batches"):
        verbalizer.process_logits(torch.zeros(2, 5), batch={})
    with pytest.raises(ConfigError, match="cannot read"):
        verbalizer.from_file("words.txt")


def test_search_inside_a_prompt_model_loop(shared_dir: Path):
    torch.set_num_threads(1)
    plm, tok, _, wrapper = load_plm("bert", shared_dir / "openprompt-golden" / "model")
    texts = [
        "a great , warm film",
        "a dull , boring film",
        "fine acting",
        "no sense at all",
        "good fun",
        "bad and slow",
    ]
    data = [InputExample(guid=i, text_a=t, label=i % 2) for i, t in enumerate(texts)]
    template = ManualTemplate(tok, text='{"placeholder":"text_a"} It was {"mask"} .')
    verbalizer = AutomaticVerbalizer(
        tok, num_candidates=100, label_word_num_per_class=3, num_searches=2, num_classes=2
    )
    model = PromptForClassification(plm=plm, template=template, verbalizer=verbalizer)
    loader = PromptDataLoader(
        dataset=data,
        template=template,
        tokenizer=tok,
        tokenizer_wrapper_class=wrapper,
        max_seq_length=24,
        batch_size=4,
    )
    for search in range(2):
        with torch.no_grad():
            mask_logits = torch.cat([model.forward_without_verbalize(b) for b in loader])
            for batch in loader:
                model(batch)
        assert verbalizer.probs_buffer is not None
        torch.testing.assert_close(verbalizer.probs_buffer, torch.softmax(mask_logits, dim=-1))
        expected = find_label_words(
            verbalizer.probs_buffer, verbalizer.labels_buffer, 2, 3, 100, "llr", True
        )
        verbalizer.optimize_to_initialize()
        assert torch.equal(verbalizer.label_words_ids, expected)
        assert verbalizer.accumulate == (search == 0)
    found = verbalizer.label_words_ids.clone()
    verbalizer.optimize_to_initialize()  # num_searches reached: the words stay
    assert torch.equal(verbalizer.label_words_ids, found)
    batch = next(iter(loader))
    loss = torch.nn.functional.cross_entropy(model(batch), batch["label"])
    loss.backward()
    assert plm.get_input_embeddings().weight.grad is not None
