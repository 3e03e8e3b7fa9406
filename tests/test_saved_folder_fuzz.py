"""Random damage to a saved folder: a clear mrekv error naming it, or the very same model.

Each mutation (a flipped byte, a truncated, deleted, swapped, added or appended
file, an edited or re-indented JSON value, a FIFO or a link out of the folder)
is applied to a fresh copy of one saved prompt classifier. Loading must then
raise a :class:`~mrekv.errors.MrekvError` whose message names the folder, or
give a classifier with the same classes and the same probabilities: never a
traceback, a hang, or a model that silently predicts something else.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from mrekv.classifiers import load_classifier
from mrekv.errors import MrekvError
from mrekv.prompt.classifier import PromptClassifier
from mrekv.verbalizer.knowledgeable import KnowledgeableVerbalizer
from mrekv.verbalizer.label_words import LabelWords

MUTATIONS = 130
CLASSES = ["negative", "positive"]
TEXTS = ["a good film", "a bad film", "great acting", "awful plot", "good fun", "bad acting",
         "a great plot", "an awful film"]
LABELS = ["positive", "negative", "positive", "negative", "positive", "negative", "positive",
          "negative"]


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    from mrekv.models import make_tiny_mlm

    base = tmp_path_factory.mktemp("fuzz")
    lm = make_tiny_mlm(base / "lm", TEXTS * 3 + ["it was good", "it was bad"], vocab_size=200,
                       hidden=16, layers=1)
    clf = PromptClassifier(
        str(lm), template="{text} It was {mask}.",
        verbalizer=KnowledgeableVerbalizer(
            LabelWords.from_lists(CLASSES, [["bad", "awful"], ["good", "great"]])),
        train_mode="prior", progress=False, device="cpu",
    )
    clf.fit(TEXTS, LABELS)
    folder = base / "clf"
    clf.save_pretrained(folder)
    return folder, list(clf.classes_), clf.predict_proba(TEXTS)


# --- mutations: each takes (folder, rng) and returns a short description ---------------

def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file())


def _flip(folder: Path, rng: random.Random) -> str:
    path = rng.choice(_files(folder))
    data = bytearray(path.read_bytes())
    if not data:
        return "flip (empty file)"
    pos = rng.randrange(len(data))
    data[pos] ^= rng.randrange(1, 256)
    path.write_bytes(bytes(data))
    return f"flip {path.name}@{pos}"


def _truncate(folder: Path, rng: random.Random) -> str:
    path = rng.choice(_files(folder))
    size = path.stat().st_size
    keep = rng.randrange(size) if size else 0
    with path.open("r+b") as handle:
        handle.truncate(keep)
    return f"truncate {path.name} to {keep}"


def _delete(folder: Path, rng: random.Random) -> str:
    path = rng.choice(_files(folder))
    path.unlink()
    return f"delete {path.name}"


def _swap(folder: Path, rng: random.Random) -> str:
    a, b = rng.sample(_files(folder), 2)
    tmp = folder / ".swap"
    os.replace(a, tmp)
    os.replace(b, a)
    os.replace(tmp, b)
    return f"swap {a.name} {b.name}"


def _append(folder: Path, rng: random.Random) -> str:
    path = rng.choice(_files(folder))
    with path.open("ab") as handle:
        handle.write(rng.choice([b"\n", b" ", b"\x00", b"{}", rng.randbytes(7)]))
    return f"append to {path.name}"


def _add(folder: Path, rng: random.Random) -> str:
    name = rng.choice(["added_tokens.json", "special_tokens_map.json", "pytorch_model.bin",
                       "generation_config.json", "extra.safetensors"])
    (folder / name).write_bytes(b'{"<new>": 5}' if name.endswith(".json") else rng.randbytes(64))
    return f"add {name}"


def _leaves(value, path=()):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(value, list) and value:
        for i, v in enumerate(value[:50]):
            yield from _leaves(v, (*path, i))
    else:
        yield path, value


def _changed(value, rng: random.Random):
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + rng.choice([-1, 1, 7])
    if isinstance(value, float):
        return value * 1.5 + 0.1
    if isinstance(value, str):
        return rng.choice([value + "x", "", value.upper() if value != value.upper() else "z"])
    return rng.choice([0, "x", []])


def _edit_json(folder: Path, rng: random.Random) -> str:
    path = rng.choice([p for p in _files(folder) if p.suffix == ".json"])
    data = json.loads(path.read_text(encoding="utf-8"))
    leaves = list(_leaves(data))
    where, value = rng.choice(leaves)
    if not where:
        return "edit (scalar document)"
    parent = data
    for key in where[:-1]:
        parent = parent[key]
    if rng.random() < 0.15 and isinstance(parent, dict):
        del parent[where[-1]]
        what = "drop"
    else:
        parent[where[-1]] = _changed(value, rng)
        what = "edit"
    path.write_text(json.dumps(data), encoding="utf-8")
    return f"{what} {path.name}:{'.'.join(map(str, where))}"


def _reindent(folder: Path, rng: random.Random) -> str:
    path = rng.choice([p for p in _files(folder) if p.suffix == ".json"])
    data = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps(data, indent=rng.choice([None, 1, 4])), encoding="utf-8")
    return f"reindent {path.name}"


def _special(folder: Path, rng: random.Random) -> str:
    path = rng.choice(_files(folder))
    outside = folder.parent / f"{folder.name}-outside-{path.name}"
    shutil.copy(path, outside)
    path.unlink()
    if rng.random() < 0.5:
        os.mkfifo(path)
        return f"fifo {path.name}"
    path.symlink_to(outside)
    return f"symlink out {path.name}"


MUTATORS = [_flip, _flip, _flip, _truncate, _truncate, _delete, _swap, _append, _add,
            _edit_json, _edit_json, _edit_json, _reindent, _special]


class _Hang(Exception):
    pass


def _alarm(signum, frame):
    raise _Hang


def _load_mutated(folder: Path, workdir: Path, seed: int):
    """Copy ``folder``, damage the copy with mutation ``seed``; return (copy, what, outcome)
    where outcome is the MrekvError raised or the probabilities of the loaded classifier."""
    rng = random.Random(seed)
    copy = workdir / f"m{seed}" / "clf"
    shutil.copytree(folder, copy)
    what = MUTATORS[seed % len(MUTATORS)](copy, rng)
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(30)
    try:
        clf = load_classifier(copy, progress=False, device="cpu")
        return copy, what, (list(clf.classes_), clf.predict_proba(TEXTS))
    except MrekvError as error:
        return copy, what, error
    except _Hang:
        pytest.fail(f"mutation {seed} ({what}): the load hung")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_random_damage_is_an_error_or_the_same_model(saved, tmp_path):
    folder, classes, proba = saved
    outcomes: Counter[str] = Counter()
    for seed in range(MUTATIONS):
        copy, what, outcome = _load_mutated(folder, tmp_path, seed)
        if isinstance(outcome, MrekvError):
            assert str(copy) in str(outcome), (what, str(outcome))
            outcomes["error"] += 1
        else:
            assert outcome[0] == classes, what
            np.testing.assert_allclose(outcome[1], proba, atol=1e-6, err_msg=what)
            outcomes["same"] += 1
        shutil.rmtree(copy.parent)
    assert sum(outcomes.values()) == MUTATIONS >= 100
    assert outcomes["error"] > 0 and outcomes["same"] > 0, outcomes  # both kinds were met


def test_damage_to_a_folder_without_checksums_is_never_a_traceback(saved, tmp_path):
    """Folders saved before checksums: damage may load a changed model (nothing records
    what was saved), but it never raises anything other than a MrekvError, nor hangs."""
    folder, classes, _ = saved
    old = tmp_path / "old"
    shutil.copytree(folder, old)
    config = json.loads((old / "mrekv_config.json").read_text(encoding="utf-8"))
    del config["checksums"]
    (old / "mrekv_config.json").write_text(json.dumps(config), encoding="utf-8")
    for seed in range(1000, 1060):
        copy, what, outcome = _load_mutated(old, tmp_path, seed)
        if isinstance(outcome, MrekvError):
            assert str(copy) in str(outcome), (what, str(outcome))
        shutil.rmtree(copy.parent)
