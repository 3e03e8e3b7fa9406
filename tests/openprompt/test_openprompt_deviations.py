"""Where mrekv.openprompt differs from OpenPrompt on purpose; that it runs on mrekv's own math."""

from __future__ import annotations

import pytest
import torch
from _golden import Runner

from mrekv.errors import ConfigError
from mrekv.openprompt.kpt import tfidf_filter
from mrekv.openprompt.plms.utils import truncate
from mrekv.openprompt.prompts import KnowledgeableVerbalizer, ManualTemplate
from mrekv.verbalizer.knowledgeable import KnowledgeableVerbalizer as NativeKV
from mrekv.verbalizer.label_words import LabelWords

CLASSES = ["negative", "positive"]
WORDS = [
    ["bad", "awful", "fine", "awful", "boring", "so-so", "lackluster"],
    ["good", "great", "fine", "superb", "top-notch", "heartwarming", "bad"],
]
TEMPLATE = '{"placeholder":"text_a"} It was {"mask"} .'
TEXTS = [
    {"text_a": t}
    for t in [
        "a dull film .",
        "a lovely film .",
        "it rained .",
        "the end .",
        "a great cast .",
        "too long .",
    ]
]


def _inputs(rows=TEXTS):
    return {
        "template": {"text": TEMPLATE},
        "support_examples": rows,
        "examples": rows,
        "wrapper": {"max_seq_length": 64, "truncate_method": "tail"},
    }


def _kv(runner: Runner, **options) -> KnowledgeableVerbalizer:
    return runner.knowledgeable({"classes": CLASSES, "label_words": WORDS, **options})


def test_register_calibrate_logits_keeps_learned_weights(runner: Runner):
    v = _kv(runner, candidate_frac=0.3)
    learned = torch.randn(v.label_words_weights.shape, generator=torch.Generator().manual_seed(0))
    v.label_words_weights.data = learned.clone()
    words = [list(ws) for ws in v.label_words]
    v.register_calibrate_logits(runner.support_logits(_inputs(), v).mean(dim=0))
    assert any(
        len(a) < len(b) for a, b in zip(v.label_words, words, strict=True)
    )  # something was cut
    for c, ws in enumerate(v.label_words):
        for i, w in enumerate(ws):
            # the weight moved with its word (OpenPrompt resets every weight to 0 here)
            old = float(learned[c, words[c].index(w)])
            assert float(v.label_words_weights[c, i].detach()) == old


def test_tfidf_filter_keeps_learned_weights(runner: Runner):
    v = _kv(runner, candidate_frac=0.0)
    v.label_words_weights.data = torch.arange(
        v.label_words_weights.numel(), dtype=torch.float32
    ).reshape(v.label_words_weights.shape)
    before = [list(ws) for ws in v.label_words]
    old = v.label_words_weights.detach().clone()
    tfidf_filter(v, runner.support_logits(_inputs(), v), CLASSES)
    for c, ws in enumerate(v.label_words):
        for i, w in enumerate(ws):
            assert float(v.label_words_weights[c, i].detach()) == float(old[c, before[c].index(w)])


def test_calibrated_verbalizer_trains(runner: Runner):
    v = _kv(runner, candidate_frac=0.0)
    v.register_calibrate_logits(runner.support_logits(_inputs(), v).mean(dim=0))
    model = runner.model(_inputs(), v).train()
    batch = next(iter(runner.loader(_inputs(), TEXTS)))
    model(batch).sum().backward()
    assert (
        v.label_words_weights.grad is not None and torch.isfinite(v.label_words_weights.grad).all()
    )


def test_compat_scores_are_the_native_options(runner: Runner):
    """OpenPrompt's KV = mrekv's KV with shared_words='drop' and prior='mean-logits'."""
    compat = _kv(runner, candidate_frac=0.0, multi_token_handler="mean")
    inputs = _inputs()
    support = runner.support_logits(inputs, compat)
    compat.register_calibrate_logits(support.mean(dim=0))
    native = NativeKV(
        LabelWords.from_lists(CLASSES, WORDS),
        aggregate="mean",
        leading_space=True,
        shared_words="drop",
        prior="mean-logits",
    ).prepare(runner.tok)
    native.calibrate(support.unsqueeze(1))
    # the second shared-word pass of register_calibrate_logits changes nothing on these lists
    assert [[w.strip() for w in ws] for ws in compat.label_words] == [
        [w for w, k in zip(native.flat_words, native.word_class, strict=True) if k == c]
        for c in range(2)
    ]
    compat.eval()
    with torch.no_grad():
        torch.testing.assert_close(
            native(support.unsqueeze(1)), compat.process_logits(support), atol=1e-5, rtol=1e-5
        )


def test_truncate_rules_by_hand():
    parts, short = [[1, 2, 3, 4], [9], [5, 6]], [1, 0, 1]
    assert truncate(parts, short, 3, "tail") == [[1, 2, 3], [9], []]  # the last part goes first
    assert truncate(parts, short, 3, "head") == [[1], [9], [5, 6]]  # from the end of the first part
    assert truncate(parts, short, 3, "balanced") == [[1, 2], [9], [5]]  # ceil(2) + 1
    with pytest.raises(ConfigError, match="truncate_method"):
        truncate(parts, short, 3, "middle")
    with pytest.raises(ConfigError, match="empty piece"):
        truncate([[], [1, 2]], [1, 1], 1, "balanced")


def test_template_language_errors_are_config_errors(runner: Runner):
    with pytest.raises(ConfigError, match="True / False"):
        ManualTemplate(runner.tok, text='{"placeholder":"text_a", "shortenable": false} {"mask"}')
    with pytest.raises(ConfigError, match="unknown key"):
        ManualTemplate(runner.tok, text='{"placeholder":"text_a", "shorten": False} {"mask"}')
    with pytest.raises(ConfigError, match="never closed"):
        ManualTemplate(runner.tok, text='{"placeholder":"text_a" {"mask"}')


def test_native_kpt_refinement_matches_the_compat_layer(runner: Runner):
    words = [
        ["bad", "awful", "boring", "dull", "terrible", "weak"],
        ["good", "great", "superb", "lovely", "fine", "strong"],
    ]
    compat = runner.knowledgeable({"classes": CLASSES, "label_words": words, "candidate_frac": 0.3})
    support = runner.support_logits(_inputs(), compat)
    compat.register_calibrate_logits(support.mean(dim=0))
    native = NativeKV(LabelWords.from_lists(CLASSES, words), leading_space=True).prepare(runner.tok)
    native.refine_frequency(support.unsqueeze(1), ratio=0.3, refine="kpt")

    def kept(v: NativeKV) -> list[set[str]]:
        active = v.active()
        return [
            {w for i, w in enumerate(v.flat_words) if v.word_class[i] == c and bool(active[i])}
            for c in range(2)
        ]

    assert kept(native) == [{w.strip() for w in ws} for ws in compat.label_words]
    tfidf_filter(compat, support, CLASSES)
    native.refine_relevance(support.unsqueeze(1), refine="kpt")
    assert kept(native) == [{w.strip() for w in ws} for ws in compat.label_words]
