"""Same config and seeds, two separate runs: the same result lines (timings aside)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# A small copy of experiments/quick.toml: one dataset, the methods that use the tiny
# model's vocabulary in different ways (frozen LM, mined words, soft prompt, fine-tuning).
SMALL_QUICK = """
base = "{quick}"
name = "quick-twice"
output = "unused.jsonl"
methods = ["manual", "mre-frequency", "mre-best+calib", "soft", "finetune"]
shots = [4]
seeds = [0]

[[datasets]]
name = "en-sample"
source = "mmm"
lang = "en"
train = "{samples}/en-scpos-adj-n.train.jsonl"
test = "{samples}/en-scpos-adj-n.test.jsonl"
max_test = 100
"""

_RUN_IN_A_PROCESS = """
import sys
from mrekv.experiment.runner import run_experiment
run_experiment(sys.argv[1], output=sys.argv[2], progress=False)
"""
# What may differ between two runs of the same cell (a commit may land in between).
_VOLATILE = ("timings", "finished_at", "git_commit")


def test_quick_pipeline_gives_the_same_results_twice(tmp_path):
    """Each run in its own process (own hash seeds), each building its own tiny model."""
    config = tmp_path / "small-quick.toml"
    config.write_text(SMALL_QUICK.format(quick=ROOT / "experiments" / "quick.toml",
                                         samples=ROOT / "data" / "samples"), encoding="utf-8")
    runs = []
    for name, hash_seed in (("a", "1"), ("b", "2")):
        out = tmp_path / name / "results.jsonl"
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run([sys.executable, "-c", _RUN_IN_A_PROCESS, str(config), str(out)],
                              env=env, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, done.stderr[-3000:]
        assert (tmp_path / name / "results.models" / "tiny-en-sample" / "tokenizer.json").is_file()
        lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
        runs.append([{k: v for k, v in r.items() if k not in _VOLATILE} for r in lines])
    first, second = runs
    assert len(first) == 5 and all(r["status"] == "ok" for r in first)
    assert first == second
