"""examples/openprompt/ (tutorial 0, tutorial 1.3, KPT zero-shot / few-shot) run on a tiny folder.

The test writes an OpenPrompt checkout's layout to a temporary folder
(``datasets/TextClassification/agnews/{train,test}.csv`` and
``scripts/TextClassification/agnews/`` with a template file, a knowledge file and
a manual verbalizer) and runs each script on the golden tiny BERT, each in a few
seconds. The scripts import the library only through ``mrekv.openprompt``.
"""

from __future__ import annotations

import ast
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "openprompt"
SCRIPTS = ["0_basic.py", "1.3_calibration.py", "kpt_zeroshot.py", "kpt_fewshot.py"]

TOPICS = {
    "politics": ["the election", "a new law", "the senate vote", "the minister", "a treaty"],
    "sports": ["the match", "a late goal", "the coach", "the tournament", "the league"],
    "business": ["the market", "profits", "the merger", "a bank", "shares"],
    "technology": ["a new chip", "the software", "a robot", "the internet", "a phone"],
}
KNOWLEDGE = {
    "politics": "politics,government,election,law,senate,minister,vote,parliament,treaty,policy",
    "sports": "sports,match,goal,coach,tournament,league,team,football,player,score",
    "business": "business,market,profit,merger,bank,shares,trade,company,stock,economy",
    "technology": "technology,chip,software,robot,internet,phone,computer,science,data,code",
}
TEMPLATES = [
    '{"placeholder":"text_a"} {"placeholder":"text_b"} This topic is about {"mask"} .',
    'A {"mask"} news : {"placeholder":"text_a"} {"placeholder":"text_b"}',
]


@pytest.fixture(scope="module")
def openprompt_root(tmp_path_factory) -> Path:
    """A tiny OpenPrompt checkout: the AG News data folder and its scripts folder."""
    root = tmp_path_factory.mktemp("OpenPrompt")
    data = root / "datasets" / "TextClassification" / "agnews"
    scripts = root / "scripts" / "TextClassification" / "agnews"
    data.mkdir(parents=True)
    scripts.mkdir(parents=True)
    for split, per_class in (("train", 5), ("test", 3)):
        rows = []
        for i in range(per_class):
            for label, phrases in enumerate(TOPICS.values()):
                phrase = phrases[(i + label) % len(phrases)]
                rows.append([str(label + 1), f"News on {phrase}", f"Today {phrase} made news\\."])
        with (data / f"{split}.csv").open("w", encoding="utf-8", newline="") as f:
            csv.writer(f, quoting=csv.QUOTE_ALL).writerows(rows)
    (scripts / "manual_template.txt").write_text("\n".join(TEMPLATES) + "\n", encoding="utf-8")
    (scripts / "knowledgeable_verbalizer.txt").write_text(
        "\n".join(KNOWLEDGE.values()) + "\n", encoding="utf-8"
    )
    (scripts / "manual_verbalizer.txt").write_text("\n".join(TOPICS) + "\n", encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def model_dir(golden_dir: Path) -> Path:
    return golden_dir / "model"


def _run(script: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "OMP_NUM_THREADS": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "CUDA_VISIBLE_DEVICES": "",
    }
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        cwd=cwd,
    )
    assert done.returncode == 0, f"{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    return done


def _result(stdout: str) -> dict:
    line = next(line for line in reversed(stdout.splitlines()) if line.startswith("result: "))
    return json.loads(line[len("result: ") :])


@pytest.mark.parametrize("script", SCRIPTS)
def test_scripts_import_the_library_only_through_mrekv_openprompt(script: str):
    tree = ast.parse((EXAMPLES / script).read_text(encoding="utf-8"))
    modules = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            modules.append(node.module or "")
    ours = [m for m in modules if m.split(".")[0] == "mrekv"]
    assert ours and all(m.startswith("mrekv.openprompt") for m in ours), ours
    for module in set(ours):
        __import__(module)


def test_0_basic_trains_and_evaluates(openprompt_root: Path, model_dir: Path, tmp_path: Path):
    data = openprompt_root / "datasets" / "TextClassification" / "agnews"
    done = _run(
        "0_basic.py",
        "--model_path", str(model_dir),
        "--data_dir", str(data),
        "--shots", "2", "--dev_shots", "1", "--num_test", "8",
        "--max_seq_length", "48", "--batch_size", "4", "--epochs", "2",
        cwd=tmp_path,
    )  # fmt: skip
    out = done.stdout
    assert "8 training, 4 dev and 8 test examples" in out
    assert "label word ids:" in out and "torch.Size([2, 4])" in out
    assert "epoch 0: mean loss" in out and "epoch 1: mean loss" in out
    result = _result(out)
    assert 0 <= result["dev_accuracy"] <= 1 and 0 <= result["test_accuracy"] <= 1


@pytest.mark.parametrize("verbalizer", ["kpt", "manual"])
def test_1_3_calibration_runs_zero_shot(
    openprompt_root: Path, model_dir: Path, tmp_path: Path, verbalizer: str
):
    scripts = openprompt_root / "scripts" / "TextClassification" / "agnews"
    words_file = "knowledgeable_verbalizer.txt" if verbalizer == "kpt" else "manual_verbalizer.txt"
    extra = [] if verbalizer == "kpt" else ["--template_only"]
    done = _run(
        "1.3_calibration.py",
        "--model_path", str(model_dir),
        "--data_dir", str(openprompt_root / "datasets" / "TextClassification" / "agnews"),
        "--template_file", str(scripts / "manual_template.txt"),
        "--verbalizer", verbalizer,
        "--verbalizer_file", str(scripts / words_file),
        "--num_support", "8", "--max_seq_length", "48", "--batch_size", "4",
        *extra,
        cwd=tmp_path,
    )  # fmt: skip
    result = _result(done.stdout)
    assert 0 <= result["test_accuracy"] <= 1
    support = 8 if verbalizer == "kpt" else 1
    assert f"calibration logits: ({support}, 30522)" in done.stdout
    if verbalizer == "kpt":
        assert result["words_before"] == [10, 10, 10, 10]
        # the frequency cut (candidate_frac 0.5) drops words, never a whole class here
        assert all(
            0 < a <= b for a, b in zip(result["words_after"], result["words_before"], strict=True)
        )
        assert result["words_after"] != result["words_before"]
    else:
        assert result["words_before"] == result["words_after"] == [1, 1, 1, 1]


def test_kpt_zeroshot_writes_kpts_record_and_result(
    openprompt_root: Path, model_dir: Path, tmp_path: Path
):
    common = [
        "--model", "bert", "--model_name_or_path", str(model_dir),
        "--openprompt_path", str(openprompt_root), "--dataset", "agnews",
        "--template_id", "0", "--verbalizer", "kpt", "--calibration",
        "--filter", "tfidf_filter", "--max_seq_length", "48", "--batch_size", "8",
    ]  # fmt: skip
    record_file = tmp_path / "filter_record_file.txt"
    _run("kpt_zeroshot.py", *common, "--write_filter_record", str(record_file), cwd=tmp_path)
    record = record_file.read_text(encoding="utf-8").splitlines()
    assert record[0] == "=" * 20 and record[1].startswith("dataset agnews\ttemp 0\tseed 144")
    assert record[2] == "Phase 1 [10, 10, 10, 10]"
    assert record[3].startswith("Phase 2 [")
    assert [line.split(" [")[0] for line in record[4:12]] == [
        f"Class {c}{rm}" for c in range(4) for rm in ("", " rm:")
    ]
    kept = [ast.literal_eval(line.split(" ", 2)[2]) for line in record[4:12:2]]
    removed = [ast.literal_eval(line.split(" ", 3)[3]) for line in record[5:12:2]]
    after_cut = ast.literal_eval(record[3][len("Phase 2 ") :])
    assert [len(k) + len(r) for k, r in zip(kept, removed, strict=True)] == after_cut
    assert all(w.startswith(" ") for words in kept + removed for w in words)  # with the prefix
    assert record[12] == f"Phase 3 {[len(k) for k in kept]}" and len(record) == 13

    results = tmp_path / "results.txt"
    done = _run("kpt_zeroshot.py", *common, "--result_file", str(results), cwd=tmp_path)
    assert "Phase 3 [" in done.stdout
    written = results.read_text(encoding="utf-8")
    assert "verb kpt\tcali True\tfilt tfidf_filter" in written
    acc = float(next(line for line in written.splitlines() if line.startswith("Acc: "))[5:])
    assert 0 <= acc <= 1


@pytest.mark.parametrize("verbalizer", ["kpt", "soft"])
def test_kpt_fewshot_trains_and_tests(
    openprompt_root: Path, model_dir: Path, tmp_path: Path, verbalizer: str
):
    extra = ["--calibration", "--filter", "tfidf_filter"] if verbalizer == "kpt" else []
    results = tmp_path / "results.txt"
    done = _run(
        "kpt_fewshot.py",
        "--model", "bert", "--model_name_or_path", str(model_dir),
        "--openprompt_path", str(openprompt_root), "--dataset", "agnews",
        "--template_id", "1", "--verbalizer", verbalizer, "--shot", "2",
        "--max_epochs", "2", "--max_seq_length", "48", "--batch_size", "4",
        "--learning_rate", "1e-3", "--result_file", str(results),
        *extra,
        cwd=tmp_path,
    )  # fmt: skip
    out = done.stdout
    assert "Epoch 0, loss" in out and "Epoch 1, loss" in out
    if verbalizer == "kpt":
        assert "after calibration:" in out and "Phase 3 [" in out
    written = results.read_text(encoding="utf-8")
    assert f"shot 2\tverb {verbalizer}" in written
    acc = float(next(line for line in written.splitlines() if line.startswith("Acc: "))[5:])
    assert 0 <= acc <= 1
