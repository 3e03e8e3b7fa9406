"""The runner: planning, records, resuming, leakage refusal and crash safety."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mrekv.errors import ConfigError
from mrekv.experiment.results import read_results
from mrekv.experiment.runner import run_experiment

HERE = Path(__file__).resolve().parent


def write_config(folder: Path, files: dict[str, Path], *, methods: list[str],
                 extra_dataset: str = "", seeds: str = "[0, 1]", shots: str = "[0, 2]") -> Path:
    path = folder / "exp.toml"
    path.write_text(f"""
name = "t"
output = "out/results.jsonl"
methods = {json.dumps(methods)}
shots = {shots}
seeds = {seeds}

[knowledge]
fraction = 0.5

[[datasets]]
name = "toy"
source = "mmm"
lang = "en"
train = "{files['train'].name}"
test = "{files['test'].name}"
{extra_dataset}
""", encoding="utf-8")
    return path


def test_probe_cells_resume_and_records(tmp_path, fakes):
    files = fakes.write_data(tmp_path)
    config = write_config(tmp_path, files, methods=["probe:manual", "probe:mre-frequency",
                                                    "probe:kpt", "embedding:manual"])
    out = run_experiment(config, progress=False)
    assert out == tmp_path / "out" / "results.jsonl"
    records = read_results(out)
    # probe: one cell per word source (kpt skipped: no file); embedding: shots 0 (1 seed)
    # + shots 2 (2 seeds) = 3 cells, but its 'lang' en is supported -> ok cells.
    by_method = {}
    for r in records:
        by_method.setdefault(r["method"], []).append(r)
    assert {m: len(v) for m, v in by_method.items()} == {
        "probe:manual": 1, "probe:mre-frequency": 1, "probe:kpt": 1, "embedding:manual": 3}
    assert by_method["probe:kpt"][0]["status"] == "skipped"
    manual = by_method["probe:manual"][0]
    # manual words are the class names, which no test text contains
    assert manual["metrics"]["accuracy"] == 0.0
    assert manual["label_words_per_class"] == {"negative": 1, "positive": 1}
    mined = by_method["probe:mre-frequency"][0]
    # knowledge = half of each class of the 40 train records = 20 records
    assert mined["knowledge"]["size"] == 20 and mined["knowledge"]["name"] == "train-carved"
    assert mined["proxy"] is True and mined["model"] is None
    for key in ("dataset", "lang", "calibrated", "shots", "seed", "template", "timings",
                "config_hash", "mrekv_version", "git_commit", "cell_key"):
        assert key in mined
    emb = [r for r in by_method["embedding:manual"] if r["shots"] == 2]
    assert {r["seed"] for r in emb} == {0, 1}
    assert all(r["fewshot"]["train_size"] == 4 and r["fewshot"]["dev_size"] == 4 for r in emb)
    assert emb[0]["fewshot"]["train_hash"] != emb[1]["fewshot"]["train_hash"]
    # a rerun finds every cell done and appends nothing
    size = out.stat().st_size
    run_experiment(config, progress=False)
    assert out.stat().st_size == size
    # resume=False starts over and keeps the old file aside
    run_experiment(config, progress=False, resume=False)
    assert len(read_results(out)) == len(records)
    assert len(list(out.parent.glob("results.jsonl.*.bak"))) == 1


def test_refuses_knowledge_file_that_overlaps_test(tmp_path, fakes):
    files = fakes.write_data(tmp_path)
    test_line = files["test"].read_text(encoding="utf-8").splitlines()[3]
    know = tmp_path / "knowledge.jsonl"
    know.write_text('{"text": "a fresh sentence, good", "label": "positive"}\n'
                    + test_line + "\n", encoding="utf-8")
    config = write_config(tmp_path, files, methods=["probe:manual"],
                          extra_dataset='knowledge = "knowledge.jsonl"')
    with pytest.raises(ConfigError, match=r"shares texts with the test .*item 1003"):
        run_experiment(config, progress=False)
    assert not (tmp_path / "out" / "results.jsonl").exists()


def test_refuses_knowledge_file_that_overlaps_train_pool(tmp_path, fakes):
    files = fakes.write_data(tmp_path)
    know = tmp_path / "knowledge.jsonl"
    know.write_text('{"text": "ITEM 5   was dirty", "label": "negative"}\n', encoding="utf-8")
    config = write_config(tmp_path, files, methods=["probe:manual"],
                          extra_dataset='knowledge = "knowledge.jsonl"')
    with pytest.raises(ConfigError, match="few-shot pool"):
        run_experiment(config, progress=False)


def test_disjoint_knowledge_file_is_used(tmp_path, fakes):
    files = fakes.write_data(tmp_path)
    know = tmp_path / "knowledge.jsonl"
    know.write_text('{"text": "a fresh one", "label": "positive", "words": ["lovely"]}\n'
                    '{"text": "another one", "label": "negative", "words": ["rude"]}\n',
                    encoding="utf-8")
    config = write_config(tmp_path, files, methods=["probe:mre-frequency"],
                          extra_dataset='knowledge = "knowledge.jsonl"')
    (record,) = read_results(run_experiment(config, progress=False))
    assert record["knowledge"]["name"] == "knowledge.jsonl"
    assert record["knowledge"]["size"] == 2
    # positive test texts (even i) use great/lovely/fine, negative (odd i) awful/rude/dirty,
    # each twice: 'lovely' and 'rude' hit 2 texts each
    assert record["metrics"]["accuracy"] == pytest.approx(4 / 12)


def test_config_knowledge_test_is_refused(tmp_path, fakes):
    files = fakes.write_data(tmp_path)
    config = write_config(tmp_path, files, methods=["probe:manual"],
                          extra_dataset='knowledge = "test"')
    with pytest.raises(ConfigError, match="leakage"):
        run_experiment(config, progress=False)


KILL_SCRIPT = """
import sys
sys.path.insert(0, {here!r})
import fakes
fakes.install(cell_seconds=0.4)
from mrekv.experiment.runner import run_experiment
run_experiment({config!r}, progress=False)
"""


def test_sigkill_loses_at_most_the_cell_in_progress(tmp_path):
    import fakes

    files = fakes.write_data(tmp_path)
    # 3 datasets x 4 probe word sources (kpt skipped instantly) = 12 cells, 9 slow ones
    extra = "".join(f"""
[[datasets]]
name = "toy{i}"
source = "mmm"
lang = "en"
train = "{files['train'].name}"
test = "{files['test'].name}"
""" for i in (2, 3))
    config = write_config(tmp_path, files, methods=["probe:manual", "probe:mre-frequency",
                                                    "probe:mre-best", "probe:kpt"])
    config.write_text(config.read_text() + extra)
    out = tmp_path / "out" / "results.jsonl"
    script = KILL_SCRIPT.format(here=str(HERE), config=str(config))
    proc = subprocess.Popen([sys.executable, "-c", script], env={**os.environ})
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            if out.exists() and out.read_bytes().count(b"\n") >= 2:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the runner wrote no results in time")
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    partial = read_results(out)
    assert 2 <= len(partial) < 12
    # a torn tail, as a power cut would leave, is ignored and repaired too
    with out.open("ab") as handle:
        handle.write(b'{"cell_key": "torn", "status": "o')
    subprocess.run([sys.executable, "-c", script.replace("cell_seconds=0.4", "cell_seconds=0")],
                   check=True, timeout=120)
    raw = out.read_bytes()
    assert raw.endswith(b"\n") and b"torn" not in raw
    final = read_results(out)
    keys = [r["cell_key"] for r in final]
    assert len(keys) == 12 and len(set(keys)) == 12
    cells = {(r["dataset"], r["method"]) for r in final}
    assert len(cells) == 12


def test_manual_words_record_no_data_split(tmp_path, fakes):
    files = fakes.write_data(tmp_path)
    config = write_config(tmp_path, files, methods=["probe:manual"])
    (record,) = read_results(run_experiment(config, progress=False))
    assert record["knowledge"] == {"name": "manual: class names / config", "size": 0,
                                   "hash": None}


def test_datasets_filter_runs_only_those_datasets(tmp_path, fakes):
    files = fakes.write_data(tmp_path)
    second = f'''
[[datasets]]
name = "toy2"
source = "mmm"
lang = "en"
train = "{files['train'].name}"
test = "{files['test'].name}"
'''
    config = write_config(tmp_path, files, methods=["probe:manual"], extra_dataset=second)
    with pytest.raises(ConfigError, match=r"datasets \['nope'\] are not in the config"):
        run_experiment(config, progress=False, datasets=["nope"])
    out = run_experiment(config, progress=False, datasets=["toy2"])
    assert [r["dataset"] for r in read_results(out)] == ["toy2"]
    run_experiment(config, progress=False)  # the rest; toy2 is not run twice
    assert sorted(r["dataset"] for r in read_results(out)) == ["toy", "toy2"]
