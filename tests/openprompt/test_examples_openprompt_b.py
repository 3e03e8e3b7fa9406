"""examples/openprompt/ tutorials 1.1, 1.2, 1.4, 3.1 and 7 run on tiny local models and data.

The test writes small data folders in OpenPrompt's layouts (AG News CSV, LM-BFF's
SST-2 TSV) and runs every script in a subprocess on a tiny model: the golden tiny
BERT, a tiny random GPT-2 and a tiny random T5, each in a few seconds.
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
from _tiny_t5 import make_tiny_t5

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "openprompt"
SCRIPTS = [
    "1.1_mixed_template.py",
    "1.2_soft_verbalizers.py",
    "1.4_soft_template.py",
    "3.1_LMBFF.py",
    "7_ptuning.py",
]
TOPICS = [
    ["the election", "a treaty", "the minister"],
    ["the match", "the coach", "a late goal"],
    ["the market", "the bank", "profits"],
    ["a new chip", "the software", "a robot"],
]
REVIEWS = [
    ["a dull , boring film", "bad acting", "terrible plot", "no sense at all"],
    ["a great , warm film", "good fun", "fine acting", "a lovely story"],
]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("data")
    agnews = root / "agnews"
    agnews.mkdir()
    for split, repeats in (("train", 3), ("test", 1)):
        rows = [
            [str(label + 1), f"News on {phrase}", f"Today {phrase} made news."]
            for _ in range(repeats)
            for label, phrases in enumerate(TOPICS)
            for phrase in phrases
        ]
        with (agnews / f"{split}.csv").open("w", encoding="utf-8", newline="") as f:
            csv.writer(f, quoting=csv.QUOTE_ALL).writerows(rows)
    sst2 = root / "sst2"
    sst2.mkdir()
    for split, rows in (("train", slice(0, 2)), ("dev", slice(2, 3)), ("test", slice(0, 4))):
        lines = ["sentence\tlabel"] + [
            f"{text}\t{label}" for label, texts in enumerate(REVIEWS) for text in texts[rows]
        ]
        (sst2 / f"{split}.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    scripts = root / "scripts"
    scripts.mkdir()
    (scripts / "soft_template.txt").write_text(
        '{"placeholder":"text_a"} {"mask"} .\n{"placeholder":"text_a"} It is about {"mask"} .\n',
        encoding="utf-8",
    )
    (scripts / "manual_verbalizer.txt").write_text(
        "world\nsports\nbusiness\ntechnology\n\npolitics\nsports\nmarket\nscience\n",
        encoding="utf-8",
    )
    return {"agnews": agnews, "sst2": sst2, "scripts": scripts}


@pytest.fixture(scope="module")
def models(tmp_path_factory, golden_dir: Path) -> dict[str, Path]:
    from mrekv.tiny_causal import make_tiny_causal_lm

    texts = [p for ps in TOPICS for p in ps] + ["In this sentence , the topic is news ."]
    return {
        "bert": golden_dir / "model",
        "gpt2": make_tiny_causal_lm(tmp_path_factory.mktemp("gpt2"), kind="gpt2", texts=texts * 3),
        "t5": make_tiny_t5(tmp_path_factory.mktemp("t5")),
    }


def _run(script: str, *args: str, cwd: Path) -> dict:
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "OMP_NUM_THREADS": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "CUDA_VISIBLE_DEVICES": "",
    }
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args],
        capture_output=True, text=True, timeout=120, env=env, cwd=cwd,
    )  # fmt: skip
    assert done.returncode == 0, f"{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    line = next(x for x in reversed(done.stdout.splitlines()) if x.startswith("result: "))
    return {"stdout": done.stdout, **json.loads(line[len("result: ") :])}


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


def _accuracies(result: dict) -> None:
    assert 0 <= result["dev_accuracy"] <= 1 and 0 <= result["test_accuracy"] <= 1


def test_1_1_mixed_template_on_t5(data, models, tmp_path: Path):
    result = _run(
        "1.1_mixed_template.py", "--model_path", str(models["t5"]),
        "--data_dir", str(data["agnews"]), "--shots", "2", "--num_test", "8",
        "--max_seq_length", "48", "--epochs", "2",
        cwd=tmp_path,
    )  # fmt: skip
    _accuracies(result)
    assert "soft token ids:" in result["stdout"] and "<extra_id_0>" in result["stdout"]
    assert result["soft_tokens_moved"] > 0


def test_1_2_soft_verbalizer_on_gpt2(data, models, tmp_path: Path):
    result = _run(
        "1.2_soft_verbalizers.py", "--model_path", str(models["gpt2"]),
        "--data_dir", str(data["agnews"]), "--shots", "2", "--num_test", "8",
        "--max_seq_length", "48", "--epochs", "2",
        cwd=tmp_path,
    )  # fmt: skip
    _accuracies(result)
    assert result["num_scores"] == 4  # one output per class


@pytest.mark.parametrize("model", ["t5-lm", "t5"])
def test_1_4_soft_template_on_t5(data, models, tmp_path: Path, model: str):
    result = _run(
        "1.4_soft_template.py", "--model", model, "--model_name_or_path", str(models["t5"]),
        "--dataset", "agnews", "--data_dir", str(data["agnews"]),
        "--template_file", str(data["scripts"] / "soft_template.txt"), "--template_id", "1",
        "--verbalizer_file", str(data["scripts"] / "manual_verbalizer.txt"),
        "--verbalizer_id", "1", "--shot", "2", "--num_test", "8", "--max_seq_length", "48",
        "--batch_size", "4", "--max_steps", "4", "--eval_every_steps", "2",
        "--soft_token_num", "5", "--gradient_accumulation_steps", "2",
        cwd=tmp_path,
    )  # fmt: skip
    _accuracies(result)
    assert result["steps"] == 4
    assert "step 2:" in result["stdout"] and "step 4:" in result["stdout"]


def test_3_1_lmbff_chooses_a_template_and_label_words(data, models, tmp_path: Path):
    result = _run(
        "3.1_LMBFF.py", "--model", "bert", "--model_path", str(models["bert"]),
        "--data_dir", str(data["sst2"]), "--epochs", "1", "--max_seq_length", "32",
        "--num_candidates", "20",
        cwd=tmp_path,
    )  # fmt: skip
    _accuracies(result)
    out = result["stdout"]
    assert out.count("template '") == 3 and "searched words per class:" in out
    assert out.count("label words [[") == 4  # 2 x 2 candidate combinations
    assert result["template"] in out and len(result["label_words"]) == 2


@pytest.mark.parametrize("encoder", ["lstm", "mlp"])
def test_7_ptuning_on_bert(data, models, tmp_path: Path, encoder: str):
    result = _run(
        "7_ptuning.py", "--model_path", str(models["bert"]), "--data_dir", str(data["agnews"]),
        "--prompt_encoder_type", encoder, "--shots", "2", "--num_test", "8",
        "--max_seq_length", "48", "--epochs", "2",
        cwd=tmp_path,
    )  # fmt: skip
    _accuracies(result)
    assert f"4 soft tokens from a {encoder} encoder" in result["stdout"]
