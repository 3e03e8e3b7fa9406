"""tfidf_filter returns KPT's record string (checked against the real KPT's, in the golden set)."""

from __future__ import annotations

from typing import Any

import pytest
from _golden import Runner, load_cases, unprefixed

from mrekv.errors import ConfigError
from mrekv.openprompt.kpt import TfidfRecord, tfidf_filter, tfidf_filter_record

#: The golden relevance cases that carry the record KPT's own tfidf_filter returned.
RECORDED = [
    c
    for c in load_cases()
    if c["kind"] == "kpt_refinement" and "kpt_record" in c.get("diagnostics", {})
]


def _refine_setup(case: dict[str, Any], r: Runner):
    inputs = case["inputs"]
    v = r.knowledgeable(inputs["verbalizer"])
    support = r.support_logits(inputs, v)
    v.register_calibrate_logits(support.mean(dim=0))
    return v, support, inputs["verbalizer"]["classes"]


@pytest.mark.parametrize("case", RECORDED, ids=[c["id"] for c in RECORDED])
def test_record_is_kpts_string(case: dict[str, Any], runner: Runner):
    v, support, classes = _refine_setup(case, runner)
    myrecord = "Phase 2 [...]\n"
    record = tfidf_filter(v, support, classes)
    assert isinstance(record, str)
    myrecord += record  # KPT's zeroshot.py line
    assert record == case["diagnostics"]["kpt_record"]
    assert myrecord.endswith(case["diagnostics"]["kpt_record"])
    assert unprefixed(v.label_words) == case["expected"]["label_words_kept"]


def test_record_object_holds_the_lists_and_prints_the_same_string(runner: Runner):
    if not RECORDED:
        pytest.skip("the golden fixtures are missing")
    case = RECORDED[0]
    v, support, classes = _refine_setup(case, runner)
    before = [list(ws) for ws in v.label_words]
    record = tfidf_filter_record(v, support, classes)
    assert isinstance(record, TfidfRecord)
    assert str(record) == case["diagnostics"]["kpt_record"]
    assert record.optimal_cut_rate == case["expected"]["optimal_cut_rate"]
    assert record.label_words_kept == case["expected"]["label_words_kept"]
    for c, words in enumerate(before):
        # every word of a class is either selected or removed, each once
        assert sorted(record.selected[c] + record.removed[c]) == sorted(words)
    assert str(record).splitlines()[-1] == f"Phase 3 {[len(ws) for ws in v.label_words]}"


def test_record_string_format_by_hand():
    record = TfidfRecord(
        optimal_cut_rate=0.5,
        norm_ord=1001.0,
        label_words_kept=[["bad"], ["good", "great"]],
        selected=[[" bad"], [" good", " great"]],
        removed=[[" awful"], []],
    )
    assert str(record) == (
        "Class 0 [' bad']\n"
        "Class 0 rm: [' awful']\n"
        "Class 1 [' good', ' great']\n"
        "Class 1 rm: []\n"
        "Phase 3 [1, 2]\n"
    )


def test_one_word_per_class_is_a_config_error(runner: Runner):
    if not RECORDED:
        pytest.skip("the golden fixtures are missing")
    inputs = RECORDED[0]["inputs"]
    v = runner.knowledgeable(
        {"classes": ["a", "b"], "label_words": [["bad"], ["good"]], "candidate_frac": 0.0}
    )
    with pytest.raises(ConfigError, match="more than one label word"):
        tfidf_filter(v, runner.support_logits(inputs, v), ["a", "b"])
