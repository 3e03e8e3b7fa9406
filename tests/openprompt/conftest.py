"""Fixtures of the OpenPrompt-compatibility tests: the golden model, loaded once."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from _golden import GOLDEN, MAX_DIFF, Runner  # noqa: E402


@pytest.fixture(scope="session")
def golden_dir(shared_dir: Path) -> Path:
    if not (GOLDEN / "cases.jsonl").is_file():
        pytest.skip(f"the OpenPrompt golden fixtures are not at {GOLDEN}")
    return GOLDEN


@pytest.fixture(scope="session")
def runner(golden_dir: Path) -> Runner:
    import torch

    from mrekv.openprompt.plms import load_plm

    torch.set_num_threads(1)
    plm, tokenizer, _, _ = load_plm("bert", golden_dir / "model")
    return Runner(plm.eval(), tokenizer)


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    if not MAX_DIFF:
        return
    terminalreporter.write_line("OpenPrompt golden cases, largest |difference| per kind and field:")
    for kind, fields in sorted(MAX_DIFF.items()):
        for field, diff in sorted(fields.items()):
            terminalreporter.write_line(f"  {kind:32s} {field:34s} {diff:.3g}")
