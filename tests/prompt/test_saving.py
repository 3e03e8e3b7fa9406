"""save_pretrained / from_pretrained: round trip, validation, atomic writes."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from _prompt_standins import (
    KEYWORDS,
    VERBALIZER_WORDS,
    StandInVerbalizer,
    one_thread,
    synthetic_task,
)
from mrekv_testing import build_tiny_mlm

from mrekv.classifiers import load_classifier
from mrekv.errors import SaveFormatError
from mrekv.prompt import saving
from mrekv.prompt.classifier import PromptClassifier
from mrekv.prompt.template import Template

CLASSES = list(KEYWORDS)
TEXTS = ["the pizza was great", "football is on", "a guitar solo", "nothing at all here"]


@pytest.fixture(scope="module")
def trained(hf_tokenizer):
    tok = hf_tokenizer("en")
    clf = PromptClassifier(
        build_tiny_mlm(tok),
        tokenizer=tok,
        template=Template("{text} It was {mask}."),
        verbalizer=StandInVerbalizer(CLASSES, VERBALIZER_WORDS),
        learning_rate=3e-3,
        verbalizer_learning_rate=1e-2,
        max_steps=4,
        progress=False,
        device="cpu",
    )
    x, y = synthetic_task(5, seed=3)
    clf.fit(x, y).calibrate(TEXTS)
    return clf


@pytest.fixture(scope="module")
def saved(trained, tmp_path_factory):
    folder = tmp_path_factory.mktemp("saved") / "clf"
    trained.save_pretrained(folder)
    return folder


@pytest.fixture
def copy(saved, tmp_path):
    """A copy as a folder saved before checksums: the checks behind them must still hold.

    (With its checksums, every corruption below is caught first by the checksum of the
    file; tests/test_saved_folder_fuzz.py covers that.)"""
    target = tmp_path / "copy"
    shutil.copytree(saved, target)
    edit_config(target, lambda d: d.pop("checksums"))
    return target


@pytest.fixture(autouse=True, scope="module")
def _single_thread():
    yield from one_thread()


def test_round_trip_gives_identical_probabilities(trained, saved):
    loaded = PromptClassifier.from_pretrained(saved, progress=False, device="cpu")
    assert np.array_equal(loaded.predict_proba(TEXTS), trained.predict_proba(TEXTS))
    assert loaded.classes_ == trained.classes_
    assert loaded.args == trained.args
    assert loaded.verbalizer_.to_config() == trained.verbalizer_.to_config()


def test_folder_contents_and_config(saved):
    names = {p.name for p in saved.iterdir()}
    expected = {"config.json", "model.safetensors", "mrekv_config.json", "verbalizer.safetensors"}
    assert expected <= names
    config = json.loads((saved / "mrekv_config.json").read_text())
    assert config["format"] == "mrekv.classifier"
    assert config["format_version"] == 1
    assert config["kind"] == "prompt"
    assert config["classes"] == CLASSES
    assert config["template"] == {"text": "{text} It was {mask}."}
    assert config["verbalizer"]["type"] == "test_standin"
    assert len(config["verbalizer"]["prior"]) == 3  # the calibration prior is in the JSON
    assert config["training_args"]["max_steps"] == 4


def edit_config(folder, change):
    path = folder / "mrekv_config.json"
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


CORRUPTIONS = {
    "missing config": (lambda f: (f / "mrekv_config.json").unlink(), "mrekv_config.json: missing"),
    "bad json": (lambda f: (f / "mrekv_config.json").write_text("{oops"), "not valid JSON"),
    "unknown key": (
        lambda f: edit_config(f, lambda d: d.update(colour="red")),
        r"mrekv_config.json: unknown keys \['colour'\]",
    ),
    "missing key": (
        lambda f: edit_config(f, lambda d: d.pop("template")),
        r"mrekv_config.json: missing keys \['template'\]",
    ),
    "wrong version": (
        lambda f: edit_config(f, lambda d: d.update(format_version=99)),
        "mrekv_config.json: unsupported format_version 99",
    ),
    "wrong kind": (
        lambda f: edit_config(f, lambda d: d.update(kind="finetune")),
        "mrekv_config.json: this folder holds a 'finetune' classifier",
    ),
    "class count mismatch": (
        lambda f: edit_config(f, lambda d: d.update(classes=["a", "b"])),
        "mrekv_config.json: 'classes' has 2 classes",
    ),
    "unknown training arg": (
        lambda f: edit_config(f, lambda d: d["training_args"].update(lr=1)),
        r"mrekv_config.json: bad 'training_args'.*'lr'",
    ),
    "unknown verbalizer type": (
        lambda f: edit_config(f, lambda d: d["verbalizer"].update(type="nope")),
        "mrekv_config.json: bad 'verbalizer'.*'nope'",
    ),
    "truncated model": (
        lambda f: truncate(f / "model.safetensors"),
        "model.safetensors: unreadable",
    ),
    "missing model": (lambda f: (f / "model.safetensors").unlink(), "model.safetensors: missing"),
    "missing model config": (lambda f: (f / "config.json").unlink(), "config.json: missing"),
    "bad model config": (
        lambda f: (f / "config.json").write_text("{oops"),
        "config.json: not valid JSON",
    ),
    "truncated verbalizer": (
        lambda f: truncate(f / "verbalizer.safetensors"),
        "verbalizer.safetensors: unreadable",
    ),
    "missing verbalizer": (
        lambda f: (f / "verbalizer.safetensors").unlink(),
        "verbalizer.safetensors: missing",
    ),
}


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_corrupted_folders_are_rejected_naming_the_file(copy, name):
    corrupt, message = CORRUPTIONS[name]
    corrupt(copy)
    with pytest.raises(SaveFormatError, match=message):
        PromptClassifier.from_pretrained(copy, progress=False, device="cpu")


def test_weights_holding_nan_are_rejected_naming_the_tensor(copy):
    from safetensors.torch import load_file, save_file

    weights = load_file(copy / "model.safetensors")
    name = next(k for k, v in weights.items() if v.is_floating_point() and v.numel() > 1)
    weights[name] = weights[name].clone()
    weights[name].view(-1)[0] = float("nan")
    save_file(weights, copy / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(SaveFormatError, match=r"weight '.*' holds NaN or inf"):
        PromptClassifier.from_pretrained(copy, progress=False, device="cpu")


def test_verbalizer_state_that_does_not_fit_is_rejected(copy):
    import torch
    from safetensors.torch import save_file

    save_file({"other": torch.zeros(2)}, copy / "verbalizer.safetensors")
    with pytest.raises(SaveFormatError, match="verbalizer.safetensors: does not match"):
        PromptClassifier.from_pretrained(copy, progress=False, device="cpu")


def test_missing_folder_is_reported(tmp_path):
    with pytest.raises(SaveFormatError, match="no such folder"):
        PromptClassifier.from_pretrained(tmp_path / "nothing", progress=False)


def test_failed_save_leaves_the_old_folder_intact(trained, saved, tmp_path, monkeypatch):
    target = tmp_path / "clf"
    shutil.copytree(saved, target)
    before = {p.name: p.read_bytes() for p in target.iterdir()}

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(saving, "save_tensors", fail)  # fails after the model was written
    with pytest.raises(OSError, match="disk full"):
        trained.save_pretrained(target)
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["clf"]  # no temporary folder left


def test_saving_over_an_existing_folder_replaces_it(trained, tmp_path):
    target = tmp_path / "clf"
    target.mkdir()
    (target / "stale.txt").write_text("old")
    trained.save_pretrained(target)
    assert not (target / "stale.txt").exists()
    assert (target / "mrekv_config.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clf"]


def test_knowledgeable_verbalizer_round_trip_keeps_weights_and_prior(hf_tokenizer, tmp_path):
    from mrekv.verbalizer.label_words import LabelWords

    tok = hf_tokenizer("en")
    words = LabelWords.from_lists(CLASSES, [["good", "ball"], ["bad", "food"], ["great", "song"]])
    clf = PromptClassifier(
        build_tiny_mlm(tok), tokenizer=tok, template=Template("{text} It was {mask}."),
        verbalizer=words, learning_rate=3e-3, verbalizer_learning_rate=5e-2, max_steps=3,
        progress=False, device="cpu",
    )
    x, y = synthetic_task(5, seed=3)
    clf.calibrate(TEXTS).fit(x, y)
    clf.save_pretrained(tmp_path / "kv")
    config = json.loads((tmp_path / "kv" / "mrekv_config.json").read_text())
    assert config["verbalizer"]["type"] == "knowledgeable"
    assert config["verbalizer"]["prior"] is not None
    assert any(w != 0.0 for w in config["verbalizer"]["word_weights"])  # learned weights saved
    loaded = PromptClassifier.from_pretrained(tmp_path / "kv", progress=False, device="cpu")
    assert np.array_equal(loaded.predict_proba(TEXTS), clf.predict_proba(TEXTS))


def test_soft_verbalizer_head_round_trips_through_verbalizer_safetensors(hf_tokenizer, tmp_path):
    tok = hf_tokenizer("en")
    clf = PromptClassifier(
        build_tiny_mlm(tok), tokenizer=tok, template=Template("{text} It was {mask}."),
        classes=CLASSES, learning_rate=3e-3, max_steps=3, progress=False, device="cpu",
    )
    x, y = synthetic_task(5, seed=3)
    clf.fit(x, y)
    clf.save_pretrained(tmp_path / "soft")
    from safetensors.torch import load_file

    state = load_file(tmp_path / "soft" / "verbalizer.safetensors")
    assert state["head.weight"].shape == (3, 32)
    loaded = PromptClassifier.from_pretrained(tmp_path / "soft", progress=False, device="cpu")
    assert np.array_equal(loaded.predict_proba(TEXTS), clf.predict_proba(TEXTS))


def test_load_classifier_dispatches_on_the_saved_kind(saved, copy):
    loaded = load_classifier(saved, progress=False, device="cpu")
    assert isinstance(loaded, PromptClassifier)
    edit_config(copy, lambda d: d.update(kind="svm"))
    with pytest.raises(SaveFormatError, match="unknown kind 'svm'; valid kinds"):
        load_classifier(copy)
