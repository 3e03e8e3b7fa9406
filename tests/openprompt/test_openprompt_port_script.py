"""The ported KPT/OpenPrompt script runs, and only its import prefix differs from OpenPrompt's."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "examples" / "openprompt_kpt_port.py"

#: What the script may import, by OpenPrompt module path: the names OpenPrompt defines there.
OPENPROMPT_NAMES = {
    "openprompt": {"PromptDataLoader", "PromptForClassification", "PromptModel"},
    "openprompt.data_utils": {"InputExample", "InputFeatures"},
    "openprompt.plms": {"load_plm", "MLMTokenizerWrapper", "LMTokenizerWrapper"},
    "openprompt.prompts": {
        "ManualTemplate",
        "ManualVerbalizer",
        "KnowledgeableVerbalizer",
        "SoftVerbalizer",
    },
    "openprompt.utils.calibrate": {"calibrate"},
    "openprompt.utils.reproduciblity": {"set_seed"},
}


def test_script_imports_only_mrekv_openprompt_under_openprompt_names():
    tree = ast.parse(SCRIPT.read_text(encoding="utf-8"))
    mrekv_imports = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            assert not any(a.name.split(".")[0] == "mrekv" for a in node.names), "use from-imports"
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "mrekv":
            mrekv_imports.append(node)
    assert mrekv_imports
    for node in mrekv_imports:
        module = node.module or ""
        assert module == "mrekv.openprompt" or module.startswith("mrekv.openprompt."), module
        original = "openprompt" + module[len("mrekv.openprompt") :]
        names = {a.name for a in node.names}
        assert names <= OPENPROMPT_NAMES[original], (original, names)
        # and mrekv provides each name at the ported path
        imported = __import__(module, fromlist=sorted(names))
        assert all(hasattr(imported, n) for n in names)
    text = SCRIPT.read_text(encoding="utf-8")
    assert text.replace("mrekv.openprompt", "openprompt").count("mrekv") == 0


def test_script_runs_offline_on_the_tiny_model(shared_dir: Path):
    model = shared_dir / "openprompt-golden" / "model"
    kpt = shared_dir / "kpt" / "openprompt" / "amazon"
    data = shared_dir / "datasets" / "en-amazon-polarity-10k"
    if not (model.is_dir() and kpt.is_dir() and data.is_dir()):
        pytest.skip("the golden model, the KPT amazon files or the amazon data are missing")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--model_path",
            str(model),
            "--knowledge_file",
            str(kpt / "knowledgeable_verbalizer.txt"),
            "--template_file",
            str(kpt / "manual_template.txt"),
            "--data_dir",
            str(data),
            "--num_test",
            "16",
            "--max_epochs",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert any(line.startswith("zero-shot accuracy:") for line in lines), result.stdout
    assert any(line.startswith("few-shot accuracy:") for line in lines), result.stdout
    before = next(line for line in lines if line.startswith("label words per class before"))
    after = next(line for line in lines if line.startswith("label words per class after"))
    assert before != after  # the frequency cut at candidate_frac 0.5 removed words
