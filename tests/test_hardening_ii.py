"""Issue 20 (Hardening II): each reproduction gives a clear error or the correct result."""

from __future__ import annotations

import errno
import json
import os
import shutil
import struct
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from mrekv_testing import cli_error_line, run_cli

from mrekv.classifiers import load_classifier
from mrekv.errors import ConfigError, CorpusFormatError, MrekvError, SaveFormatError
from mrekv.prompt import integrity, saving
from mrekv.prompt.classifier import PromptClassifier
from mrekv.verbalizer.knowledgeable import KnowledgeableVerbalizer
from mrekv.verbalizer.label_words import LabelWords

CLASSES = ["negative", "positive"]
TEXTS = ["a good film", "a bad film", "great acting", "awful plot", "good fun", "bad acting"]
LABELS = ["positive", "negative", "positive", "negative", "positive", "negative"]


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory):
    from mrekv.models import make_tiny_mlm

    return make_tiny_mlm(tmp_path_factory.mktemp("lm") / "lm", TEXTS * 3 + ["it was"],
                         vocab_size=200, hidden=16, layers=1)


@pytest.fixture(scope="module")
def saved(tiny_lm, tmp_path_factory):
    clf = PromptClassifier(
        str(tiny_lm), template="{text} It was {mask}.",
        verbalizer=KnowledgeableVerbalizer(
            LabelWords.from_lists(CLASSES, [["bad", "awful"], ["good", "great"]])),
        max_steps=1, progress=False, device="cpu")
    clf.fit(TEXTS, LABELS)
    folder = tmp_path_factory.mktemp("saved") / "clf"
    clf.save_pretrained(folder)
    return folder, clf.predict_proba(TEXTS)


@pytest.fixture
def copy(saved, tmp_path):
    target = tmp_path / "clf"
    shutil.copytree(saved[0], target)
    return target


def _config(folder: Path) -> dict:
    return json.loads((folder / saving.CONFIG_FILE).read_text(encoding="utf-8"))


def _write_config(folder: Path, config: dict) -> None:
    (folder / saving.CONFIG_FILE).write_text(json.dumps(config), encoding="utf-8")


def _unseal(folder: Path) -> None:
    """Make ``folder`` look saved before checksums existed."""
    config = _config(folder)
    del config["checksums"]
    _write_config(folder, config)


def _load(folder: Path):
    return load_classifier(folder, progress=False, device="cpu")


# --- 2: a dtype edited in a safetensors header -------------------------------------------

def _edit_dtype(path: Path, old: str, new: str) -> str:
    data = path.read_bytes()
    size = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + size])
    name = next(k for k, v in sorted(header.items()) if k != "__metadata__" and v["dtype"] == old)
    header[name]["dtype"] = new
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (size - len(raw))  # same length: the data offsets stay valid
    assert len(raw) == size
    path.write_bytes(data[:8] + raw + data[8 + size:])
    return name


@pytest.mark.parametrize("new", ["I32", "U32"])
def test_a_dtype_edited_in_the_header_is_refused(copy, new):
    name = _edit_dtype(copy / "model.safetensors", "F32", new)
    with pytest.raises(SaveFormatError, match="model.safetensors: its content changed"):
        _load(copy)
    _unseal(copy)  # without checksums the header is compared with the model
    with pytest.raises(SaveFormatError, match=f"{name}' is stored as {new} but the model's "
                                              "weight is float32"):
        _load(copy)


# --- 3: checksums, non-regular files, links out ----------------------------------------

def test_a_save_records_a_checksum_of_every_file(saved):
    folder = saved[0]
    sums = _config(folder)["checksums"]
    assert sums["algorithm"] == "sha256"
    assert set(sums["files"]) == {p.name for p in folder.iterdir()} - {saving.CONFIG_FILE}
    for name, digest in sums["files"].items():
        assert integrity.file_digest(folder / name) == digest


def test_a_folder_saved_before_checksums_still_loads(copy, saved):
    _unseal(copy)
    np.testing.assert_allclose(_load(copy).predict_proba(TEXTS), saved[1], atol=1e-6)


def test_a_reindented_config_loads_and_an_edited_one_does_not(copy, saved):
    config = _config(copy)
    (copy / saving.CONFIG_FILE).write_text(json.dumps(config, indent=7), encoding="utf-8")
    np.testing.assert_allclose(_load(copy).predict_proba(TEXTS), saved[1], atol=1e-6)
    config["verbalizer"]["word_weights"][0] += 0.5  # would change every prediction
    _write_config(copy, config)
    with pytest.raises(SaveFormatError, match="mrekv_config.json: its content changed"):
        _load(copy)


@pytest.mark.parametrize("name", ["tokenizer.json", "verbalizer.safetensors", "config.json"])
def test_a_changed_or_deleted_file_is_named(copy, name):
    path = copy / name
    path.write_bytes(path.read_bytes()[:-1] + b" ")
    with pytest.raises(SaveFormatError, match=f"{name}: its content changed since the folder "
                                              "was saved"):
        _load(copy)
    path.unlink()
    with pytest.raises(SaveFormatError, match=f"{name}: missing; the folder was saved with it"):
        _load(copy)


def test_an_added_file_is_refused_but_hidden_files_are_ignored(copy, saved):
    (copy / ".DS_Store").write_bytes(b"\x00finder")
    np.testing.assert_allclose(_load(copy).predict_proba(TEXTS), saved[1], atol=1e-6)
    (copy / "added_tokens.json").write_text('{"[NEW]": 3}', encoding="utf-8")
    with pytest.raises(SaveFormatError, match="added_tokens.json: not one of the 5 files"):
        _load(copy)


@pytest.mark.parametrize("sealed", [True, False])
@pytest.mark.parametrize("name", ["model.safetensors", "mrekv_config.json", "tokenizer.json"])
def test_a_fifo_in_the_folder_is_refused_without_blocking(copy, name, sealed):
    if not sealed:
        _unseal(copy)
    (copy / name).unlink()
    os.mkfifo(copy / name)
    start = time.perf_counter()
    with pytest.raises(SaveFormatError, match=f"{name}: a FIFO"):
        _load(copy)
    assert time.perf_counter() - start < 30


@pytest.mark.parametrize("sealed", [True, False])
def test_a_link_out_of_the_folder_is_refused_and_one_inside_is_followed(copy, saved, sealed,
                                                                        tmp_path):
    if not sealed:
        _unseal(copy)
    outside = tmp_path / "elsewhere.safetensors"
    shutil.move(copy / saving.VERBALIZER_FILE, outside)
    (copy / saving.VERBALIZER_FILE).symlink_to(outside)
    with pytest.raises(SaveFormatError, match="verbalizer.safetensors: a symbolic link to .*, "
                                              "outside"):
        _load(copy)
    (copy / saving.VERBALIZER_FILE).unlink()
    shutil.move(outside, copy / ".verbalizer-data")
    (copy / saving.VERBALIZER_FILE).symlink_to(".verbalizer-data")
    np.testing.assert_allclose(_load(copy).predict_proba(TEXTS), saved[1], atol=1e-6)


def test_saved_classes_of_a_fifo_config_are_not_read(tmp_path):
    from mrekv.cli.models import _saved_classes

    folder = tmp_path / "m"
    folder.mkdir()
    os.mkfifo(folder / saving.CONFIG_FILE)
    assert _saved_classes(str(folder)) is None  # returns at once; the load names the FIFO


# --- 4: label files -----------------------------------------------------------------------

def _tsv(tmp_path: Path, text: str, name: str = "in.tsv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _rows(n: int = 6) -> str:
    return "".join(f"{'positive' if i % 2 else 'negative'}\ttext number {i}\n" for i in range(n))


@pytest.mark.parametrize("header", ["category\tdescription", "text\tlabel", "sentiment\treview",
                                    "polarity\tcomment", "Klasse\tBeschreibung"])
def test_a_header_row_is_told_by_its_content(tmp_path, header):
    from mrekv.cli._inputs import read_labelled

    path = _tsv(tmp_path, header + "\n" + _rows())
    with pytest.warns(UserWarning, match="taken for a header row and skipped"):
        texts, labels = read_labelled(str(path))
    assert sorted(set(labels)) == ["negative", "positive"] and len(texts) == 6


@pytest.mark.parametrize("first", ["positive\tgreat", "sports\tgoal", "neutral\tit was fine."])
def test_a_first_record_is_not_taken_for_a_header(tmp_path, first):
    from mrekv.data.labelled import read_label_file

    body = _rows(2) if first.startswith("sports") else _rows()  # labels that do not repeat
    path = _tsv(tmp_path, first + "\n" + body)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        texts, labels = read_label_file(path)
    assert labels[0] == first.split("\t")[0] and texts[0] == first.split("\t")[1]


def test_quoted_fields_lose_their_quotes(tmp_path):
    from mrekv.cli._inputs import read_labelled

    path = _tsv(tmp_path, '"positive"\t"a ""great"" film"\n"negative"\t"bad, bad"\n'
                          'positive\t"Great" acting\nnegative\t5" screen\n')
    texts, labels = read_labelled(str(path))
    assert labels == ["positive", "negative", "positive", "negative"]
    assert texts == ['a "great" film', "bad, bad", '"Great" acting', '5" screen']


def test_a_csv_file_is_read_with_a_csv_reader(tmp_path):
    from mrekv.cli._inputs import read_labelled

    path = _tsv(tmp_path, 'label,text\npositive,"good, really good"\nnegative,"two\nlines"\n'
                          "positive,fine\n", name="in.csv")
    texts, labels = read_labelled(str(path))
    assert labels == ["positive", "negative", "positive"]
    assert texts == ["good, really good", "two\nlines", "fine"]
    bad = _tsv(tmp_path, "positive,good\nnegative,bad,worse\n", name="bad.csv")
    with pytest.raises(CorpusFormatError, match=r"bad.csv, line 2: .*3 comma-separated fields"):
        read_labelled(str(bad))


def test_labels_are_unicode_normalised_with_a_warning(tmp_path):
    from mrekv.cli._inputs import read_labelled

    path = _tsv(tmp_path, "positive\tgood\npositive\u200b\tgreat\n\uff50ositive\tfine\n"
                          "negative\tbad\nnega\u2060tive\tawful\n")
    with pytest.warns(UserWarning, match="labels normalised .* in 3 records") as record:
        _, labels = read_labelled(str(path))
    assert labels == ["positive", "positive", "positive", "negative", "negative"]
    assert "'positive\\u200b' -> 'positive'" in str(record[0].message)


def test_build_mre_reads_quotes_and_headers_once(tmp_path, capsys):
    path = _tsv(tmp_path, 'sentiment\treview\n"positive"\t"""Great"" soup."\n'
                          "negative\tThe room was dirty.\npositive\tNice staff.\n"
                          "negative\tRude staff.\n")
    out = tmp_path / "out.jsonl"
    with pytest.warns(UserWarning, match="header"):
        code, _, err = run_cli(capsys, "build-mre", "--input", path, "--lang", "en",
                               "--family", "SCPOS:Adj", "--out", out)
    assert code == 0, err
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["output"].split("/")[0] for r in records] == ["positive", "negative", "positive",
                                                            "negative"]
    assert records[0]["input"].startswith('"Great" soup.')


def test_a_binary_file_is_called_binary_and_utf16_without_bom_utf16(tmp_path, capsys):
    binary = tmp_path / "model.tsv"
    binary.write_bytes(bytes(range(256)) * 4)
    code, _, err = run_cli(capsys, "train", "--model", "org/never-loaded", "--train", binary,
                           "--out", tmp_path / "out")
    line = cli_error_line(err, "train")
    assert code == 2 and "a binary file, not text" in line and "UTF-16" not in line
    utf16 = tmp_path / "u.tsv"
    utf16.write_bytes("positive\tgood\nnegative\tbad\n".encode("utf-16-le"))
    code, _, err = run_cli(capsys, "train", "--model", "org/never-loaded", "--train", utf16,
                           "--out", tmp_path / "out")
    assert code == 2 and "looks like UTF-16" in cli_error_line(err, "train")


# --- 5: raw tracebacks --------------------------------------------------------------------

DEEP = "[" * 5000 + "]" * 5000


@pytest.mark.parametrize("name", ["config.json", saving.CONFIG_FILE])
def test_deeply_nested_json_in_a_folder_is_named(copy, name):
    if name != saving.CONFIG_FILE:
        _unseal(copy)  # else the checksum of config.json names it first
    (copy / name).write_text(DEEP, encoding="utf-8")
    with pytest.raises(SaveFormatError, match=f"{name}: not valid JSON .*nested deeper than 100"):
        _load(copy)


def test_a_deep_or_nul_index_is_named(copy):
    _unseal(copy)
    index = copy / "model.safetensors.index.json"
    index.write_text('{"weight_map": ' + DEEP[:2000] + DEEP[-2000:] + "}", encoding="utf-8")
    with pytest.raises(SaveFormatError, match="index.json: not valid JSON .*nested deeper"):
        _load(copy)
    index.write_text(json.dumps({"weight_map": {"w": "model\u0000.safetensors"}}),
                     encoding="utf-8")
    with pytest.raises(SaveFormatError, match="not a valid file name .*NUL"):
        _load(copy)


def test_deep_json_in_results_and_experiment_configs(tmp_path, capsys):
    results = tmp_path / "r.jsonl"
    results.write_text('{"a": ' + DEEP + "}\n", encoding="utf-8")
    code, _, err = run_cli(capsys, "experiment", "report", results)
    assert code == 2 and "r.jsonl, line 1" in err and "nested deeper than 100" in err
    for suffix, text in ((".json", DEEP), (".toml", "a = " + DEEP)):
        config = tmp_path / f"c{suffix}"
        config.write_text(text, encoding="utf-8")
        from mrekv.experiment.config import load_config

        with pytest.raises(ConfigError, match="nested deeper than 100"):
            load_config(config)


def test_a_tokenizer_id_past_the_embeddings_is_refused_at_load(copy):
    from safetensors.torch import load_file, save_file

    _unseal(copy)
    rows = 8  # the special tokens keep ids 0-4; the words' ids are past row 8
    path = copy / "model.safetensors"
    model_config = json.loads((copy / "config.json").read_text(encoding="utf-8"))
    tensors = load_file(path)
    for name in ("bert.embeddings.word_embeddings.weight", "cls.predictions.bias",
                 "cls.predictions.decoder.weight"):
        if name in tensors:
            assert tensors[name].shape[0] == model_config["vocab_size"]
            tensors[name] = tensors[name][:rows].contiguous()
    save_file(tensors, path, metadata={"format": "pt"})
    model_config["vocab_size"] = rows
    (copy / "config.json").write_text(json.dumps(model_config), encoding="utf-8")
    with pytest.raises(SaveFormatError, match="past the model's embedding table of 8 rows"):
        _load(copy)


def test_an_unk_token_outside_the_vocabulary_is_refused_at_load(copy):
    _unseal(copy)
    path = copy / "tokenizer_config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    config["unk_token"] = ""  # sent transformers into endless recursion at predict
    path.write_text(json.dumps(config), encoding="utf-8")
    with pytest.raises(SaveFormatError, match="unk_token '' is not in its vocabulary"):
        _load(copy)


def test_a_broken_ngram_expert_vocabulary_is_refused(tiny_lm, tmp_path):
    clf = PromptClassifier(str(tiny_lm), template="{text} It was {mask}.",
                           verbalizer={"negative": ["bad"], "positive": ["good"]},
                           train_mode="prior", progress=False, device="cpu")
    clf.fit(TEXTS * 2, LABELS * 2)
    clf.save_pretrained(tmp_path / "m")
    expert = tmp_path / "m" / "ngram_expert.json"
    if not expert.exists():
        pytest.skip("cross-validation did not pool the n-gram expert")
    _unseal(tmp_path / "m")
    state = json.loads(expert.read_text(encoding="utf-8"))
    first, second = list(state["vocabulary"])[:2]
    state["vocabulary"][first] = state["vocabulary"][second]
    expert.write_text(json.dumps(state), encoding="utf-8")
    with pytest.raises(SaveFormatError, match="vocabulary indices"):
        _load(tmp_path / "m")


@pytest.mark.parametrize("argv", [["train", "--model", "org/m", "--train", "t.tsv", "--out", "o"],
                                  ["tiny-model", "--out", "o", "--texts", "t.txt"]])
@pytest.mark.parametrize("value", [str(2**63), "-1"])
def test_a_seed_out_of_range_is_refused_on_the_command_line(capsys, argv, value):
    with pytest.raises(SystemExit) as exit_info:
        run_cli(capsys, *argv, "--seed", value)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "--seed" in err and "2**63 - 1" in err


def test_seeds_out_of_range_are_refused_in_experiment_configs(tmp_path):
    from mrekv.experiment.config import load_config

    top = 'name = "x"\noutput = "r.jsonl"\nmethods = ["probe:manual"]\n'
    datasets = ('[[datasets]]\nname = "d"\nsource = "mmm"\ntrain = "a.jsonl"\ntest = "b.jsonl"\n'
                'lang = "en"\n')
    for text, key in ((f"{top}seeds = [0, {2**63}]\n{datasets}", "seeds"),
                      (f"{top}{datasets}[knowledge]\nseed = {2**63}\n", "seed")):
        config = tmp_path / "c.toml"
        config.write_text(text, encoding="utf-8")
        with pytest.raises(ConfigError, match=rf"\] {key}: seed {2**63} is out of range"):
            load_config(config)


def test_experiment_seeds_option_is_bounded(capsys, tmp_path):
    with pytest.raises(SystemExit):
        run_cli(capsys, "experiment", "run", tmp_path / "c.toml", "--seeds", f"0,{2**63}")
    assert "2**63 - 1" in capsys.readouterr().err


def test_cuda_on_a_cpu_only_torch_is_a_clear_error():
    import torch

    from mrekv.models import resolve_device

    if torch.cuda.is_available():
        with pytest.raises(ConfigError, match="CUDA GPU"):
            resolve_device(f"cuda:{torch.cuda.device_count()}")
        return
    with pytest.raises(ConfigError, match="device 'cuda': .*use device 'cpu'"):
        resolve_device("cuda")


def test_an_absurd_tiny_model_is_refused_before_allocating(tmp_path, capsys):
    texts = _tsv(tmp_path, "a few words\nof text\n", name="t.txt")
    start = time.perf_counter()
    for kind in ("masked", "llama"):
        code, _, err = run_cli(capsys, "tiny-model", "--out", tmp_path / "big", "--texts", texts,
                               "--kind", kind, "--hidden", "100000000")
        line = cli_error_line(err, "tiny-model")
        assert code == 2 and "parameters" in line and "at most" in line
    assert time.perf_counter() - start < 60 and not (tmp_path / "big").exists()


# --- 6: resources ---------------------------------------------------------------------

def test_a_warning_about_many_classes_is_summarised(tmp_path, capsys):
    classes = [f"class{i:05d}" for i in range(10_000)]
    words = tmp_path / "kv.json"
    words.write_text(json.dumps({c: [f"w{i}"] for i, c in enumerate(classes)}), encoding="utf-8")
    train = _tsv(tmp_path, "class00000\tone\nclass00001\ttwo\n")
    _, _, err = run_cli(capsys, "train", "--model", "org/never-loaded", "--train", train,
                        "--label-words", words, "--out", tmp_path / "out")
    warning = next(line for line in err.splitlines() if "warning:" in line)
    assert len(warning) < 600 and "9998 classes" in warning and "and 9988 more" in warning


def test_leftovers_of_a_killed_writer_whose_pid_was_reused_are_removed(copy, tmp_path):
    from mrekv._io import atomic_write_text, process_start

    if process_start(os.getpid()) is None:
        pytest.skip("no /proc: start times are not recorded")
    target = tmp_path / "again"
    stale = tmp_path / f".again.{os.getpid()}-1-abcdefgh.tmp"  # our pid, another start
    shutil.copytree(copy, stale)
    _load(copy).save_pretrained(target)
    assert not stale.exists() and target.is_dir()
    out = tmp_path / "out.jsonl"
    stale_file = tmp_path / f".out.jsonl.{os.getpid()}-1-xyz_1234.tmp"
    stale_file.write_text("half a line", encoding="utf-8")
    atomic_write_text(out, "done\n")
    assert not stale_file.exists() and out.read_text(encoding="utf-8") == "done\n"


def _disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("exists", [False, True])
def test_a_full_disk_leaves_no_half_written_tiny_model(tmp_path, monkeypatch, exists):
    import mrekv.models

    out = tmp_path / "tiny"
    if exists:
        out.mkdir()
        (out / "notes.txt").write_text("mine", encoding="utf-8")
    monkeypatch.setattr(mrekv.models, "save_model_weights", _disk_full)
    with pytest.raises(OSError, match="No space"):
        mrekv.models.make_tiny_mlm(out, ["a few words"], hidden=8, layers=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == (["tiny"] if exists else [])
    if exists:
        assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_a_full_disk_leaves_no_empty_report_png(tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from mrekv.experiment.report import plot_dataset

    def half_then_full(self, fname, **kwargs):
        fname.write(b"\x89PNG")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Figure, "savefig", half_then_full)
    rows = [{"dataset": "d1", "model": None, "method": "kpt", "shots": s, "proxy": False,
             "macro_f1": [0.5, 0.6]} for s in (1, 4)]
    with pytest.raises(OSError, match="No space"):
        plot_dataset(rows, "d1", tmp_path / "d1.png")
    assert list(tmp_path.iterdir()) == []


def test_a_causal_backbone_on_a_masked_model_is_refused(tiny_lm):
    with pytest.raises(MrekvError, match="backbone 'causal', but .* is a masked LM"):
        PromptClassifier(str(tiny_lm), backbone="causal", classes=CLASSES, progress=False,
                         device="cpu").fit(TEXTS, LABELS)
