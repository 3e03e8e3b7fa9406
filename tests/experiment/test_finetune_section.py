"""The [finetune] section: the baseline's head learning rate, in its cells' keys only."""

from __future__ import annotations

import dataclasses

import pytest
from test_peer import write_config

from mrekv.errors import ConfigError
from mrekv.experiment.config import load_config
from mrekv.experiment.runner import cell_key, plan_cells

LANGS, KPT = {"toy": "en", "toy-ja": "ja"}, {"toy": False, "toy-ja": False}
MODEL = '[model]\nids = ["tiny"]\n'


def test_head_rate_changes_only_finetune_keys_and_unset_keeps_every_key(tmp_path):
    plain = load_config(write_config(tmp_path, methods=["finetune", "manual", "probe:manual"],
                                     extra=MODEL))
    assert plain.finetune.head_learning_rate is None
    (tmp_path / "b").mkdir()
    tuned = load_config(write_config(tmp_path / "b", methods=["finetune", "manual",
                                                               "probe:manual"],
                                     extra=MODEL + "[finetune]\nhead_learning_rate = 1e-3\n"))
    assert tuned.finetune.head_learning_rate == 1e-3
    cells = plan_cells(plain, LANGS, KPT)
    assert {c.method.family for c in cells} == {"finetune", "prompt", "probe"}
    for cell in cells:
        same = cell_key(plain, cell) == cell_key(tuned, cell)
        assert same == (cell.method.family != "finetune")
    # an explicit default-valued section is the unset one: results stay found
    default = dataclasses.replace(tuned, finetune=dataclasses.replace(tuned.finetune,
                                                                      head_learning_rate=None))
    assert all(cell_key(plain, c) == cell_key(default, c) for c in cells)


@pytest.mark.parametrize(("text", "match"), [
    ("head_learning_rate = 0", "finetune.head_learning_rate must be > 0"),
    ("head_rate = 1e-3", "head_rate"),
])
def test_bad_finetune_section(tmp_path, text, match):
    path = write_config(tmp_path, methods=["finetune"], extra=f"{MODEL}[finetune]\n{text}\n")
    with pytest.raises(ConfigError, match=match):
        load_config(path)


def test_the_finetune_cell_gives_the_classifier_its_head_rate(tmp_path, monkeypatch):
    import mrekv.finetune
    from mrekv.experiment.methods import run_classifier

    seen = {}

    class Stop(Exception):
        pass

    def fake(model, **kwargs):
        seen.update(kwargs)
        raise Stop

    monkeypatch.setattr(mrekv.finetune, "FineTuneClassifier", fake)
    config = load_config(write_config(tmp_path, methods=["finetune"],
                                      extra=MODEL + "[finetune]\nhead_learning_rate = 0.002\n"))
    data = type("D", (), {"corpus": None, "classes": ("a", "b")})()
    split = type("S", (), {"seed": 0})()
    cell = plan_cells(config, LANGS, KPT)[0]
    with pytest.raises(Stop):
        run_classifier(cell.method, None, data, split, "m", "default", config)
    assert seen["head_learning_rate"] == 0.002 and seen["learning_rate"] == 3e-5
