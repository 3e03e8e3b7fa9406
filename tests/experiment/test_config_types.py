"""Config values of the wrong type are errors naming the key, section, file, type and value.

Before, ``shots = [1.5]`` or ``seeds = ["a"]`` loaded and failed mid-run after cells
were written, ``manual = { negative = "bad" }`` ran with the label words b, a, d and
``shots = [true]`` ran as one shot.
"""

from __future__ import annotations

import pytest

from mrekv.errors import ConfigError
from mrekv.experiment.config import load_config, parse_method, valid_methods

METHODS = 'methods = ["probe:manual"]\n'
DATASET = """
[[datasets]]
source = "mmm"
lang = "en"
train = "a.jsonl"
test = "b.jsonl"
"""


def write(tmp_path, text, name="exp.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("top", "extra", "where", "expected", "found"),
    [
        ("shots = [1.5]\n", "", "[top level] shots", "a list of whole numbers", "[1.5]"),
        ('seeds = ["a"]\n', "", "[top level] seeds", "a list of whole numbers", "['a']"),
        ("seeds = 5\n", "", "[top level] seeds", "a list of whole numbers", "5"),
        ("shots = [true]\n", "", "[top level] shots", "a list of whole numbers", "[True]"),
        ("", "[training]\nbatch_size = 2.5\n", "[training] batch_size", "a whole number", "2.5"),
        ("", '[training]\nepochs = "two"\n', "[training] epochs", "a whole number", "'two'"),
        ("", "[training]\nlearning_rate = nan\n", "[training] learning_rate", "a number",
         "nan"),
        ("", "[mining]\ntop_k = true\n", "[mining] top_k", "a whole number", "True"),
        ("", '[model]\nids = "tiny"\n', "[model] ids", "a list of strings", "'tiny'"),
        ('description = 3\n', "", "[top level] description", "a string", "3"),
    ],
)
def test_wrong_types_name_key_section_file_type_and_value(tmp_path, top, extra, where,
                                                          expected, found):
    path = write(tmp_path, top + METHODS + extra + DATASET)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert str(path) in message and where in message
    assert f"expected {expected}" in message and f"got {found}" in message


def test_manual_words_must_be_lists(tmp_path):
    path = write(tmp_path, METHODS + DATASET + 'manual = { negative = "bad" }\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert "[datasets[0]] manual" in message and "a table of lists of strings" in message
    assert "'bad'" in message
    ok = load_config(write(tmp_path, METHODS + DATASET + 'manual = { negative = ["bad"] }\n'))
    assert ok.datasets[0].manual == {"negative": ("bad",)}


@pytest.mark.parametrize("device", ["tpu", "cuda:x", "gpu"])
def test_an_unknown_device_lists_the_valid_ones(tmp_path, device):
    path = write(tmp_path, METHODS + f'[training]\ndevice = "{device}"\n' + DATASET)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert f"unknown device {device!r}" in str(info.value) and "cuda:<n>" in str(info.value)
    assert "[training]" in str(info.value)


@pytest.mark.parametrize("device", ["cpu", "cuda", "cuda:1", "mps"])
def test_valid_devices_load(tmp_path, device):
    path = write(tmp_path, METHODS + f'[training]\ndevice = "{device}"\n' + DATASET)
    assert load_config(path).training.device == device


def test_arrays_become_tuples_and_ints_floats(tmp_path):
    path = write(tmp_path, "shots = [0, 2]\nseeds = [7]\n" + METHODS
                 + "[training]\nlearning_rate = 1\n" + DATASET)
    config = load_config(path)
    assert config.shots == (0, 2) and config.seeds == (7,)
    assert config.training.learning_rate == 1.0
    assert isinstance(config.training.learning_rate, float)


@pytest.mark.parametrize(
    ("top", "key"),
    [
        ("seeds = [1, 1]\n" + METHODS, "seeds"),
        ("shots = [0, 4, 4]\n" + METHODS, "shots"),
        ('methods = ["probe:manual", "probe:manual"]\n', "methods"),
        ('templates = ["default", "default"]\n' + METHODS, "templates"),
    ],
)
def test_duplicates_are_errors(tmp_path, top, key):
    with pytest.raises(ConfigError, match=f"{key} lists .* more than once"):
        load_config(write(tmp_path, top + DATASET))


def test_an_empty_config_says_what_it_needs(tmp_path):
    path = write(tmp_path, "")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert str(path) in message and "'datasets'" in message and "'methods'" in message
    assert "__init__" not in message and "positional" not in message


def test_datasets_must_be_tables(tmp_path):
    with pytest.raises(ConfigError, match="array of tables"):
        load_config(write(tmp_path, METHODS + 'datasets = ["sst2"]\n'))


def test_soft_calib_is_rejected_at_config_time_with_the_reason(tmp_path):
    with pytest.raises(ConfigError, match="soft verbalizer has none"):
        parse_method("soft+calib")
    assert "soft+calib" not in valid_methods() and "soft" in valid_methods()
    path = write(tmp_path, 'methods = ["soft+calib"]\n[model]\nids = ["tiny"]\n' + DATASET)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(path) in str(info.value) and "'kpt+calib'" in str(info.value)


def test_a_config_that_is_not_utf8_or_a_folder(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b'name = "\xff"\n')
    with pytest.raises(ConfigError, match="bad.toml: not valid UTF-8"):
        load_config(bad)
    with pytest.raises(ConfigError, match="is a folder"):
        load_config(tmp_path)
    bom = write(tmp_path, "\ufeff" + METHODS + DATASET, "bom.toml")
    assert load_config(bom).methods == ("probe:manual",)


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ("[mining]\nheld_out = 1.5\n", "mining.held_out must be in (0, 1)"),
        ("[mining]\nselect_top_k = []\n", "mining.select_top_k"),
        ("[mining]\nmax_held_out = 0\n", "mining.max_held_out"),
        ("[training]\nverbalizer_learning_rate = 0\n", "training.verbalizer_learning_rate"),
        ("[embedding]\nbatch_size = 0\n", "embedding.batch_size"),
    ],
)
def test_out_of_range_values_name_the_key(tmp_path, section, expected):
    path = write(tmp_path, METHODS + section + DATASET)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert expected in str(info.value) and str(path) in str(info.value)
