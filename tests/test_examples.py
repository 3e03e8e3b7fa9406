"""Every ``examples/*.py`` runs offline, in a subprocess, and prints a sensible result.

Examples are found by globbing, so one added later is run too (with no arguments,
unless ``EXAMPLE_ARGS`` below gives it some). Those ending in a ``result: {json}``
line are checked for the shape and range of what they report. They run two at a
time (one torch thread each) to keep the default test run quick.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted(p for p in (ROOT / "examples").glob("*.py") if not p.name.startswith("_"))
SHARED = ROOT.parent / "shared"
KPT_AMAZON = SHARED / "kpt" / "openprompt" / "amazon"
TIMEOUT_S = 240

# Arguments of examples that need files; "{tiny_en}" is a tiny random English masked LM.
EXAMPLE_ARGS: dict[str, list[str]] = {
    "openprompt_kpt_port.py": [
        "--model_path", "{tiny_en}",
        "--knowledge_file", str(KPT_AMAZON / "knowledgeable_verbalizer.txt"),
        "--template_file", str(KPT_AMAZON / "manual_template.txt"),
        "--data_dir", str(SHARED / "datasets" / "en-amazon-polarity-10k"),
        "--num_test", "16", "--num_support", "8", "--max_epochs", "1",
    ],
}


def _result(stdout: str) -> dict | None:
    lines = [line for line in stdout.splitlines() if line.startswith("result: ")]
    return json.loads(lines[-1][len("result: "):]) if lines else None


@pytest.fixture(scope="session")
def example_runs(request) -> dict[str, subprocess.CompletedProcess]:
    """Run every example once per session, two at a time; name -> finished process."""
    # the tiny model needs ../shared's tokenizers; without them only those examples fail
    tiny_en = ""
    if (SHARED / "models" / "tokenizers").is_dir():
        tiny_en = str(request.getfixturevalue("tiny_mlm_dir")("en"))
    env = dict(os.environ, OMP_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false",
               HF_HUB_OFFLINE="1", PYTHONIOENCODING="utf-8")

    def run(path: Path) -> subprocess.CompletedProcess:
        args = [a.replace("{tiny_en}", tiny_en) for a in EXAMPLE_ARGS.get(path.name, [])]
        try:
            return subprocess.run(
                [sys.executable, str(path), *args], cwd=ROOT, env=env, capture_output=True,
                text=True, timeout=TIMEOUT_S,
            )
        except subprocess.TimeoutExpired as err:
            return subprocess.CompletedProcess(err.cmd, -9, str(err.stdout), f"timeout: {err}")

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip([p.name for p in EXAMPLES], pool.map(run, EXAMPLES), strict=True))


def test_the_main_uses_have_examples():
    names = {p.name for p in EXAMPLES}
    for name in ("zero_shot_en.py", "zero_shot_ja.py", "zero_shot_zh.py",
                 "few_shot_mined_kv.py", "own_training_loop.py", "openprompt_files.py",
                 "experiment_config.py"):
        assert name in names


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(path, example_runs):
    if path.name == "openprompt_kpt_port.py" and not KPT_AMAZON.is_dir():
        pytest.skip(f"{KPT_AMAZON} is missing")
    done = example_runs[path.name]
    output = f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    assert done.returncode == 0, f"{path.name} failed:\n{output}"
    assert done.stdout.strip(), f"{path.name} printed nothing"
    result = _result(done.stdout)
    if result is None:
        return
    for key in ("accuracy", "macro_f1", "zero_shot_accuracy", "macro_f1_min", "macro_f1_max"):
        if key in result:
            assert 0.0 <= result[key] <= 1.0, (key, result)
    if "n" in result:
        assert result["n"] == 20  # every sample test file holds 20 records


def test_zero_shot_examples_cover_three_languages(example_runs):
    for lang in ("en", "ja", "zh"):
        result = _result(example_runs[f"zero_shot_{lang}.py"].stdout)
        assert result is not None and result["n"] == 20 and 0 <= result["macro_f1"] <= 1


def test_few_shot_example_trains_on_k_shots_with_mined_words(example_runs):
    result = _result(example_runs["few_shot_mined_kv.py"].stdout)
    assert result["train"] == 8  # 4 shots x 2 classes
    assert set(result["words_kept"]) == {"negative", "positive"}
    assert all(n > 0 for n in result["words_kept"].values())


def test_own_loop_example_returns_class_scores(example_runs):
    result = _result(example_runs["own_training_loop.py"].stdout)
    assert result["score_shape"] == [20, 2]
    assert result["first_loss"] > 0 and result["last_loss"] > 0


def test_openprompt_files_example_reads_both_formats(example_runs):
    result = _result(example_runs["openprompt_files.py"].stdout)
    assert result["template"] == "{text} All in all , it was {mask} ."
    assert result["words"] == {"negative": 7, "positive": 6}
    assert result["classes"] == ["negative", "positive"]


def test_experiment_example_resumes_and_reports(example_runs):
    result = _result(example_runs["experiment_config.py"].stdout)
    assert result["statuses"] == {"ok": result["cells"]}
    # 4 prompt methods x (0, 4) shots + the probe once per dataset
    assert result["cells"] == 9 and result["cells_after_resume"] == 9
    assert len(result["methods"]) == 5
    assert result["report_chars"] > 500
