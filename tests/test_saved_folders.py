"""Saved classifier folders that were edited, mixed up or half-written: errors, not wrong models."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mrekv.classifiers import load_classifier
from mrekv.errors import SaveFormatError
from mrekv.finetune import FineTuneClassifier
from mrekv.prompt import saving
from mrekv.prompt.classifier import PromptClassifier
from mrekv.verbalizer.knowledgeable import KnowledgeableVerbalizer
from mrekv.verbalizer.label_words import LabelWords

CLASSES = ["negative", "positive"]
TEXTS = ["a good film", "a bad film", "great acting", "awful plot"]
LABELS = ["positive", "negative", "positive", "negative"]


@pytest.fixture(scope="module")
def prompt_saved(tiny_mlm_dir, tmp_path_factory):
    clf = PromptClassifier(
        str(tiny_mlm_dir("en")),
        template="{text} It was {mask}.",
        verbalizer=KnowledgeableVerbalizer(
            LabelWords.from_lists(CLASSES, [["bad", "awful"], ["good", "great"]])),
        max_steps=1, progress=False, device="cpu",
    )
    clf.fit(TEXTS, LABELS).calibrate(TEXTS)
    folder = tmp_path_factory.mktemp("prompt") / "clf"
    clf.save_pretrained(folder)
    return folder, clf.predict_proba(TEXTS)


@pytest.fixture(scope="module")
def finetune_saved(tiny_mlm_dir, tmp_path_factory):
    clf = FineTuneClassifier(str(tiny_mlm_dir("en")), max_steps=1, progress=False, device="cpu")
    clf.fit(TEXTS, LABELS)
    folder = tmp_path_factory.mktemp("finetune") / "clf"
    clf.save_pretrained(folder)
    return folder


@pytest.fixture
def prompt_copy(prompt_saved, tmp_path):
    target = tmp_path / "copy"
    shutil.copytree(prompt_saved[0], target)
    return target


@pytest.fixture
def finetune_copy(finetune_saved, tmp_path):
    target = tmp_path / "copy"
    shutil.copytree(finetune_saved, target)
    return target


def _reseal(folder: Path) -> None:
    """Record the folder's edited files as saved (as a deliberate edit of the checksums
    would), so that the checks behind the checksums are what a test meets."""
    from mrekv.prompt import integrity

    path = folder / saving.CONFIG_FILE
    config = json.loads(path.read_text(encoding="utf-8"))
    sealed = integrity.add_checksums(folder, config, saving.CONFIG_FILE)
    path.write_text(json.dumps(sealed), encoding="utf-8")


def _edit_json(path: Path, **changes) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    data.update(changes)
    path.write_text(json.dumps(data), encoding="utf-8")
    _reseal(path.parent)


def _edit_weights(folder: Path, edit) -> None:
    from safetensors.torch import load_file, save_file

    path = folder / "model.safetensors"
    tensors = load_file(path)
    edit(tensors)
    save_file(tensors, path, metadata={"format": "pt"})
    _reseal(folder)


def test_an_intact_folder_loads_with_the_same_scores(prompt_saved):
    folder, proba = prompt_saved
    assert load_classifier(folder, progress=False, device="cpu").predict_proba(TEXTS) == (
        pytest.approx(proba, abs=1e-6))


@pytest.mark.parametrize("name", ["bert.encoder.layer.1.attention.self.query.weight",
                                  "bert.embeddings.word_embeddings.weight"])
def test_a_missing_tensor_is_named(prompt_copy, name):
    _edit_weights(prompt_copy, lambda t: t.pop(name))
    part = name.split(".")[-2]
    with pytest.raises(SaveFormatError, match=r"missing from the weights: .*" + part):
        load_classifier(prompt_copy, progress=False)


def test_a_renamed_tensor_is_named_as_missing_and_unexpected(prompt_copy):
    old = "bert.encoder.layer.0.output.dense.weight"
    _edit_weights(prompt_copy, lambda t: t.__setitem__("bert.encoder.layer.0.out.w", t.pop(old)))
    with pytest.raises(SaveFormatError) as err:
        load_classifier(prompt_copy, progress=False)
    assert old in str(err.value) and "bert.encoder.layer.0.out.w" in str(err.value)


@pytest.mark.parametrize(("key", "value", "what"), [
    ("num_hidden_layers", 3, "missing"),
    ("num_hidden_layers", 1, "not in the model"),
    ("tie_word_embeddings", False, "missing"),
])
def test_an_edited_architecture_is_refused(prompt_copy, key, value, what):
    _edit_json(prompt_copy / "config.json", **{key: value})
    with pytest.raises(SaveFormatError, match=what):
        load_classifier(prompt_copy, progress=False)


def test_an_edited_model_type_is_refused(prompt_copy):
    _edit_json(prompt_copy / "config.json", model_type="roberta",
               architectures=["RobertaForMaskedLM"])
    with pytest.raises(SaveFormatError, match="do not match the architecture|could not load"):
        load_classifier(prompt_copy, progress=False)


def test_nan_in_the_verbalizer_file_is_refused(prompt_copy):
    import torch
    from safetensors.torch import load_file, save_file

    path = prompt_copy / saving.VERBALIZER_FILE
    tensors = load_file(path)
    floats = [k for k, t in tensors.items() if t.is_floating_point()]
    assert floats, "the verbalizer saved no float tensor to corrupt"
    tensors[floats[0]] = torch.full_like(tensors[floats[0]], float("nan"))
    save_file(tensors, path)
    _reseal(prompt_copy)
    with pytest.raises(SaveFormatError, match=f"{floats[0]}.*NaN"):
        load_classifier(prompt_copy, progress=False)


def test_a_special_token_outside_the_vocabulary_is_refused(prompt_copy):
    rows = 50  # [MASK] is 103 in bert-base-uncased's vocabulary

    def shrink(tensors):
        for name in ("bert.embeddings.word_embeddings.weight", "cls.predictions.bias",
                     "cls.predictions.decoder.weight"):
            if name in tensors:
                tensors[name] = tensors[name][:rows].contiguous()

    _edit_weights(prompt_copy, shrink)
    _edit_json(prompt_copy / "config.json", vocab_size=rows)
    with pytest.raises(SaveFormatError, match="mask_token_id 103 is outside .* 50 tokens"):
        load_classifier(prompt_copy, progress=False)


def test_finetune_classes_must_match_id2label(finetune_copy):
    _edit_json(finetune_copy / saving.CONFIG_FILE, classes=["positive", "negative"])
    with pytest.raises(SaveFormatError, match="do not match the model's labels"):
        load_classifier(finetune_copy, progress=False)


@pytest.mark.parametrize("args", [{"epochs": "two"}, {"batch_size": 2.5}, {"seed": True},
                                  {"learning_rate": "fast"}, {"max_steps": [1]}])
def test_saved_training_arguments_are_type_checked(finetune_copy, args):
    path = finetune_copy / saving.CONFIG_FILE
    config = json.loads(path.read_text(encoding="utf-8"))
    config["training_args"].update(args)
    path.write_text(json.dumps(config), encoding="utf-8")
    _reseal(finetune_copy)
    with pytest.raises(SaveFormatError, match=f"training_args.{next(iter(args))}"):
        load_classifier(finetune_copy, progress=False)


def _write_index(folder: Path, target: str) -> None:
    from safetensors import safe_open

    with safe_open(str(folder / "model.safetensors"), framework="pt") as handle:
        keys = list(handle.keys())
    index = {"metadata": {}, "weight_map": dict.fromkeys(keys, target)}
    (folder / "model.safetensors.index.json").write_text(json.dumps(index), encoding="utf-8")
    _reseal(folder)


@pytest.mark.parametrize("where", ["../outside/model.safetensors", "/tmp/w.safetensors",
                                   "sub/../../w.safetensors"])
def test_an_index_that_leaves_the_folder_is_refused(prompt_copy, where):
    _write_index(prompt_copy, where)
    with pytest.raises(SaveFormatError, match="outside the folder"):
        load_classifier(prompt_copy, progress=False)


def test_an_index_naming_a_missing_file_is_refused(prompt_copy):
    _write_index(prompt_copy, "model-00001-of-00002.safetensors")
    with pytest.raises(SaveFormatError, match="model-00001-of-00002.safetensors.*missing"):
        load_classifier(prompt_copy, progress=False)


# --- interrupted saves ---------------------------------------------------------------

_SAVE_AND_DIE = textwrap.dedent("""
    import os, sys
    from mrekv import _folders
    from mrekv.classifiers import load_classifier
    clf = load_classifier(sys.argv[1], progress=False, device="cpu")
    mode = sys.argv[3]
    if mode == "between-renames":
        _folders._exchange = lambda a, b: False      # the non-Linux path
        real = os.replace
        def replace(a, b):
            real(a, b)
            if str(a) == sys.argv[2]:
                os._exit(9)                          # killed after renaming the old one aside
        _folders.os.replace = replace
    else:
        clf.tokenizer_.save_pretrained = lambda *a, **k: os._exit(9)  # killed mid-write
    clf.save_pretrained(sys.argv[2])
""")


def _killed_save(source: Path, target: Path, mode: str) -> None:
    done = subprocess.run([sys.executable, "-c", _SAVE_AND_DIE, str(source), str(target), mode],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 9, done.stderr


def _siblings(target: Path) -> list[str]:
    return sorted(p.name for p in target.parent.iterdir() if p.name != target.name)


def test_a_save_killed_between_its_renames_leaves_a_loadable_folder(prompt_saved, tmp_path):
    target = tmp_path / "clf"
    shutil.copytree(prompt_saved[0], target)
    _killed_save(prompt_saved[0], target, "between-renames")
    assert not target.exists()  # the old copy sits aside, as the kill left it
    clf = load_classifier(target, progress=False, device="cpu")  # the load restores it
    assert clf.predict_proba(TEXTS) == pytest.approx(prompt_saved[1], abs=1e-6)
    assert _siblings(target) == []


def test_leftovers_of_killed_saves_are_removed_by_the_next_save(prompt_saved, tmp_path):
    target = tmp_path / "clf"
    _killed_save(prompt_saved[0], target, "mid-write")
    assert len(_siblings(target)) == 1 and not target.exists()
    _killed_save(prompt_saved[0], target, "mid-write")  # removes the first one's copy
    assert len(_siblings(target)) == 1 and not target.exists()
    load_classifier(prompt_saved[0], progress=False, device="cpu").save_pretrained(target)
    assert _siblings(target) == []
    load_classifier(target, progress=False, device="cpu")


def test_a_save_replaces_an_existing_folder_whole(prompt_saved, finetune_saved, tmp_path):
    target = tmp_path / "clf"
    shutil.copytree(finetune_saved, target)
    load_classifier(prompt_saved[0], progress=False, device="cpu").save_pretrained(target)
    assert isinstance(load_classifier(target, progress=False), PromptClassifier)
    assert _siblings(target) == []


def test_saved_folders_and_files_follow_the_umask(prompt_saved, tmp_path):
    old = os.umask(0o022)
    try:
        target = tmp_path / "clf"
        load_classifier(prompt_saved[0], progress=False, device="cpu").save_pretrained(target)
    finally:
        os.umask(old)
    assert stat.S_IMODE(target.stat().st_mode) == 0o755
    for path in target.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path.name
