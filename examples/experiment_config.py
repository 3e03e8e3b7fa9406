"""Run an experiment from a config, resume it, and build its report.

    python examples/experiment_config.py            # offline: tiny random model, the samples

An experiment is one TOML file in and one JSON Lines results file out. This script
writes a small config in the shape of ``experiments/quick.toml`` (the project's sample
files, two verbalizers with and without calibration, the model-free probe), runs it,
runs it again (every finished cell is skipped: resuming costs nothing), then rebuilds the
Markdown report from the results file alone. The command-line equivalent::

    mrekv experiment run example.toml
    mrekv experiment report results/example.jsonl

The model is ``tiny`` (a random BERT whose vocabulary is trained on the pool texts): the
numbers in the report say nothing about any method, and the report says so.
The last line printed is ``result: {...}`` (JSON).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections import Counter
from pathlib import Path

import mrekv

ROOT = Path(__file__).resolve().parents[1]

CONFIG = """\
name = "example"
description = "two verbalizers and the probe on the English samples"
output = "results/example.jsonl"
smoke = true
methods = ["manual", "manual+calib", "mre-frequency", "mre-best+calib", "probe:mre-frequency"]
shots = [0, 4]
seeds = [0]

[training]
epochs = 1
batch_size = 8
learning_rate = 1e-3
max_length = 48
calibration_size = 16

[model]
ids = ["tiny"]

[mining]
top_k = 50

[knowledge]
fraction = 0.5

[[datasets]]
name = "en-sample"
source = "mmm"
lang = "en"
train = "{samples}/en-scpos-adj-n.train.jsonl"
test = "{samples}/en-scpos-adj-n.test.jsonl"
manual = {{ negative = ["bad"], positive = ["good"] }}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        config_path = Path(tmp) / "example.toml"
        config_path.write_text(
            CONFIG.format(samples=(ROOT / "data" / "samples").as_posix()), encoding="utf-8"
        )
        config = mrekv.load_config(config_path)  # validated: an unknown key is an error
        print("methods:", list(config.methods), "shots:", list(config.shots))

        results = mrekv.run_experiment(config_path, progress=False)
        lines = results.read_text(encoding="utf-8").splitlines()
        mrekv.run_experiment(config_path, progress=False)  # resume
        rerun_lines = results.read_text(encoding="utf-8").splitlines()

        cells = [json.loads(line) for line in lines]
        report = mrekv.build_report(results)
        text = report.read_text(encoding="utf-8")
        print(text.splitlines()[0])

    statuses = Counter(cell["status"] for cell in cells)
    f1 = [cell["metrics"]["macro_f1"] for cell in cells if cell["status"] == "ok"]
    result = {
        "cells": len(cells),
        "statuses": dict(statuses),
        "methods": sorted({cell["method"] for cell in cells}),
        "cells_after_resume": len(rerun_lines),
        "macro_f1_min": min(f1),
        "macro_f1_max": max(f1),
        "report_chars": len(text),
    }
    print("result:", json.dumps(result))


if __name__ == "__main__":
    main()
