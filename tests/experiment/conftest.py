from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))


@pytest.fixture()
def fakes():
    """The fakes module, installed for this test (the patches are undone afterwards)."""
    import fakes as module

    import mrekv.experiment.datasets as datasets
    import mrekv.experiment.methods as methods

    saved = (datasets._read_mmm, methods.run_probe)
    module.install()
    yield module
    datasets._read_mmm, methods.run_probe = saved
