"""Frozen-LM cells (lm:*, lm-exact*:*): one cached LM pass serves every verbalizer."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from test_pipeline import CONFIG, write_mmm_files

from mrekv.experiment.report import build_report
from mrekv.experiment.results import read_results
from mrekv.experiment.runner import run_experiment


def _config(tmp_path, shared_dir, methods, model="tiny-causal", extra=""):
    write_mmm_files(tmp_path, n_train=32, n_test=8)
    text = (CONFIG.format(methods=json.dumps(methods), kpt=shared_dir / "kpt" / "openprompt")
            .replace('ids = ["tiny"]', f'ids = ["{model}"]')
            .replace('best_method = "tfidf"', 'best_method = "auto"\nselect_top_k = [2, 5]'
                     '\nmax_held_out = 6')
            .replace("seeds = [0, 1]", "seeds = [0]")) + extra
    config = tmp_path / "exp.toml"
    config.write_text(text, encoding="utf-8")
    return config


def test_lm_cells_share_one_pass_and_record_selection(tmp_path, shared_dir):
    methods = ["lm:manual+calib", "lm:kpt", "lm:mre-frequency+calib", "lm:mre-best+calib",
               "lm-exact:mre-best+calib", "lm-exact-mean:mre-best+calib"]
    out = run_experiment(_config(tmp_path, shared_dir, methods), progress=False)
    records = read_results(out)
    got = {(r["method"], r["shots"]): r for r in records}
    # lm-exact and lm-exact-mean run zero-shot only; the others at 0 and 2 shots
    assert sorted(got) == sorted([(m, k) for m in methods[:4] for k in (0, 2)]
                                 + [(m, 0) for m in methods[4:]])
    # exact-mean reads the cache the exact cell filled: no LM time of its own
    assert got[("lm-exact-mean:mre-best+calib", 0)]["timings"]["lm_pass_s"] == 0.0
    assert all(r["status"] == "ok" and r["metrics"]["n_test"] == 8 for r in records)
    best = got[("lm:mre-best+calib", 0)]
    assert best["selection"]["scored_by"] == "lm"
    assert set(best["selection"]["scores"]) == {f"{m}@{k}" for m in
                                                ("frequency", "tfidf", "pmi", "chi2")
                                                for k in (2, 5)}
    assert best["knowledge"]["name"] == "train-carved"
    # one LM pass: only the first cell that needed a text paid for it
    features = tmp_path / "runs" / "results.features"
    caches = sorted(p.name for p in features.iterdir())
    assert len(caches) == 2 and any("-first-" in c for c in caches)
    assert got[("lm:mre-frequency+calib", 2)]["timings"]["lm_pass_s"] == 0.0
    # the few-shot knowledgeable cell trained its word weights; the manual one cannot
    assert got[("lm:mre-best+calib", 2)]["metrics"]["trained_steps"] > 0
    assert got[("lm:manual+calib", 2)]["metrics"]["trained_steps"] == 0
    assert 0.0 <= best["metrics"]["shared_first_token"] <= 1.0
    report = build_report(out).read_text(encoding="utf-8")
    assert "Real pretrained LMs (frozen)" in report and "What `mre-best` chose" in report
    assert "| exact per token |" in report and "| exact |" in report


def test_lm_cells_resume_from_cached_features(tmp_path, shared_dir):
    config = _config(tmp_path, shared_dir, ["lm:manual+calib"])
    out = run_experiment(config, progress=False)
    first = read_results(out)
    out.unlink()
    second = read_results(run_experiment(config, progress=False))
    assert [r["metrics"] for r in first] == [r["metrics"] for r in second]
    assert all(r["timings"]["lm_pass_s"] == 0.0 for r in second)


def test_cached_scores_equal_the_classifier_forward(tmp_path, shared_dir):
    """A cell's columns of the union cache are what its own verbalizer computes."""
    from mrekv.experiment.config import load_config
    from mrekv.experiment.lm_cells import WordScoreCache, build_verbalizer, union_classifier
    from mrekv.models import load_lm
    from mrekv.prompt.template import Template
    from mrekv.tiny_causal import make_tiny_causal_lm
    from mrekv.verbalizer.label_words import LabelWords

    folder = make_tiny_causal_lm(tmp_path / "m", kind="gpt2",
                                 texts=["the food was great", "the room was awful"] * 20)
    model, tok, backbone = load_lm(folder)
    exp = load_config(_config(tmp_path, shared_dir, ["lm:manual"]))
    template = Template("{text} It was {mask}")
    words = ["great", "awful", "food", "room was"]
    clf = union_classifier(model, tok, backbone, template, words, "first", exp, "en")
    cache = WordScoreCache(clf, words, tmp_path / "cache", progress=False)
    texts = ["the food was", "a room"]
    lw = LabelWords.from_lists(["neg", "pos"], [["awful", "room was"], ["great"]])
    verbalizer = build_verbalizer("mre-best", lw, "first", tok)
    cols = cache.columns(list(verbalizer.flat_words))
    cached = verbalizer.class_scores(torch.from_numpy(cache.scores(texts)[:, cols]))
    from mrekv.prompt.classifier import PromptClassifier

    direct = PromptClassifier(model, tokenizer=tok, template=template,
                              verbalizer=build_verbalizer("mre-best", lw, "first", tok),
                              progress=False)
    expected = torch.log_softmax(torch.from_numpy(np.log(direct.predict_proba(texts))), -1)
    assert torch.allclose(torch.log_softmax(cached, -1).double(), expected, atol=1e-5)
    with pytest.raises(KeyError, match="not in the cached union"):
        cache.columns(["missing"])


def test_exact_mean_features_from_the_exact_cache_equal_the_classifier(tmp_path):
    """An exact-mean cell reads the exact cache divided by word length: what its own
    classifier (aggregate="exact-mean") computes."""
    from types import SimpleNamespace

    from mrekv.experiment.lm_cells import (
        WordScoreCache,
        build_verbalizer,
        cell_features,
        union_classifier,
    )
    from mrekv.models import load_lm
    from mrekv.prompt.classifier import PromptClassifier
    from mrekv.prompt.template import Template
    from mrekv.tiny_causal import make_tiny_causal_lm
    from mrekv.verbalizer.label_words import LabelWords

    folder = make_tiny_causal_lm(tmp_path / "m", kind="llama",
                                 texts=["the food was great", "the room was awful"] * 20)
    model, tok, backbone = load_lm(folder)
    exp = SimpleNamespace(training=SimpleNamespace(max_length=64, eval_batch_size=4,
                                                   device="cpu"))
    template = Template("{text} It was {mask}")
    words = ["great", "awful", "unbelievably", "room was", "food"]
    clf = union_classifier(model, tok, backbone, template, words, "exact", exp, "en")
    cache = WordScoreCache(clf, words, tmp_path / "cache", progress=False)
    texts = ["the food was", "a room", "great"]
    lw = LabelWords.from_lists(["neg", "pos"], [["awful", "room was"], ["great", "unbelievably"]])
    verbalizer = build_verbalizer("mre-best", lw, "exact-mean", tok)
    assert max(len(ids) for ids in verbalizer.word_token_ids) > 1
    direct = PromptClassifier(model, tokenizer=tok, template=template, progress=False,
                              verbalizer=build_verbalizer("mre-best", lw, "exact-mean", tok))
    torch.testing.assert_close(cell_features(cache, verbalizer, texts),
                               direct.word_scores(texts).float(), atol=1e-5, rtol=0)
