"""Choosing the mining method and top-k on held-out knowledge data."""

from __future__ import annotations

import pytest

from mrekv.data.example import MREExample, TaskWord
from mrekv.errors import ConfigError
from mrekv.verbalizer.selection import choose_label_words, plan_selection

POS = ["great", "tasty", "friendly", "fresh", "lovely"]
NEG = ["awful", "bland", "rude", "dirty", "stale"]


def knowledge(n: int = 60) -> list[MREExample]:
    out = []
    for i in range(n):
        label = "positive" if i % 2 else "negative"
        word = (POS if label == "positive" else NEG)[i % 5]
        out.append(MREExample(f"visit {i} was {word} overall", label, TaskWord.SENTIMENT_ADJ,
                              ((label, word), (label, "overall")), lang="en"))
    return out


def test_scorer_sees_only_held_out_texts_and_the_choice_is_recorded():
    examples = knowledge()
    seen: list[list[str]] = []

    def scorer(lw, texts, labels):
        seen.append(list(texts))
        # prefer chi2 at k=2 (an arbitrary but checkable preference)
        return 1.0 if lw.provenance.get("method") == "chi2" and len(lw.as_lists()[0]) <= 2 else 0.5

    words, record = choose_label_words(examples, scorer=scorer, lang="en", top_ks=(2, 5),
                                       held_out=0.25, seed=0)
    held = set(seen[0])
    assert all(set(s) == held for s in seen) and len(seen) == 8  # 4 methods x 2 k
    assert len(held) == 15 and held <= {e.text for e in examples}
    assert record["method"] == "chi2" and record["top_k"] == 2 and record["scored_by"] == "lm"
    assert record["held_out_size"] == 15 and len(record["scores"]) == 8
    # the final words are mined on the WHOLE knowledge split, cut to the chosen k
    assert all(len(ws) <= 2 for ws in words.as_lists())
    assert words.provenance["selection"]["method"] == "chi2"


def test_probe_scoring_without_a_model_and_plan_words():
    plan = plan_selection(knowledge(), lang="en", top_ks=(3,), held_out=0.3, max_held_out=10)
    assert len(plan.held_out) == 10
    assert set(plan.words()) >= {"positive", "negative"}  # class names head their lists
    _, record = plan.choose()
    assert record["scored_by"] == "probe"
    assert max(record["scores"].values()) == record["scores"][
        f"{record['method']}@{record['top_k']}"]


@pytest.mark.parametrize("options,match", [
    ({"methods": ("bogus",)}, "unknown mining method"),
    ({"top_ks": ()}, "top_ks"),
    ({"held_out": 1.5}, "held_out"),
])
def test_bad_options(options, match):
    with pytest.raises(ConfigError, match=match):
        plan_selection(knowledge(), lang="en", **options)
