"""Config validation: unknown keys and bad values are errors that say where and what is valid."""

from __future__ import annotations

import json

import pytest

from mrekv.errors import ConfigError
from mrekv.experiment.config import MethodSpec, load_config, parse_method, valid_methods

BASE = """
methods = ["probe:manual"]
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


def test_minimal_config_defaults(tmp_path):
    config = load_config(write(tmp_path, BASE))
    assert config.name == "exp"
    assert config.datasets[0].name == "a"
    assert config.resolve(config.output) == tmp_path / "../runs/exp.jsonl"
    assert config.seeds == (0, 1, 2, 3, 4)


@pytest.mark.parametrize(
    ("snippet", "key", "section", "valid"),
    [
        ("epoch = 3\n" + BASE, "epoch", "top level", "methods"),
        (BASE + "[training]\nepoch = 3\n", "epoch", "training", "epochs"),
        (BASE + "[mining]\ntopk = 3\n", "topk", "mining", "top_k"),
        (BASE.replace('lang = "en"', 'lang = "en"\ntrian = "x"'), "trian", "datasets[0]",
         "train"),
    ],
)
def test_unknown_key_names_key_section_file_and_valid_keys(tmp_path, snippet, key, section,
                                                            valid):
    path = write(tmp_path, snippet)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert f"unknown key {key!r}" in message
    assert f"[{section}]" in message
    assert str(path) in message
    assert valid in message.split("valid keys:")[1]


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        (BASE.replace('"probe:manual"', '"kpt+calibrate"'), "'mre-best+calib'"),
        (BASE + "[mining]\nbest_method = 'bm25'\n", "'chi2'"),
        (BASE.replace('source = "mmm"', 'source = "hub"'), "'catalog'"),
        (BASE.replace('lang = "en"', 'lang = "fr"'), "'ja'"),
        (BASE.replace('lang = "en"', 'lang = "en"\nfamily = "SCPOS:Verb"'), "'SCPOS:Adj & N'"),
    ],
)
def test_bad_values_list_valid_choices(tmp_path, snippet, expected):
    with pytest.raises(ConfigError, match="valid choices") as info:
        load_config(write(tmp_path, snippet))
    assert expected in str(info.value)


def test_knowledge_from_test_is_refused(tmp_path):
    text = BASE.replace('lang = "en"', 'lang = "en"\nknowledge = "test"')
    with pytest.raises(ConfigError, match="leakage"):
        load_config(write(tmp_path, text))


def test_prompt_methods_need_a_model(tmp_path):
    with pytest.raises(ConfigError, match="model.ids or model.by_lang"):
        load_config(write(tmp_path, BASE.replace('"probe:manual"', '"kpt"')))
    config = load_config(write(tmp_path, 'methods = ["kpt"]\n[model]\nby_lang = {en = "m"}\n'
                               + BASE.split("\n", 2)[2]))
    assert config.model.for_lang("en") == ("m",)
    with pytest.raises(ConfigError, match="no model for language 'ja'"):
        config.model.for_lang("ja")


def test_missing_dataset_fields_and_duplicates(tmp_path):
    with pytest.raises(ConfigError, match="needs test"):
        load_config(write(tmp_path, BASE.replace('test = "b.jsonl"', "")))
    with pytest.raises(ConfigError, match="duplicate dataset names"):
        load_config(write(tmp_path, BASE + BASE.split("\n", 2)[2]))


def test_json_config_is_equivalent(tmp_path):
    data = {"methods": ["probe:manual", "manual+calib"], "model": {"ids": ["tiny"]},
            "shots": [0, 1], "seeds": [3],
            "datasets": [{"source": "corpus", "corpus": "sst2", "family": "SCPOS:Adj and N"}]}
    config = load_config(write(tmp_path, json.dumps(data), "exp.json"))
    assert config.methods == ("probe:manual", "manual+calib")
    assert config.datasets[0].name == "sst2"
    assert config.shots == (0, 1) and config.seeds == (3,)


def test_invalid_toml_names_file(tmp_path):
    path = write(tmp_path, "methods = [")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path)


@pytest.mark.parametrize(
    ("name", "spec"),
    [
        ("manual", MethodSpec("prompt", "manual", False)),
        ("kpt+calib", MethodSpec("prompt", "kpt", True)),
        ("soft", MethodSpec("prompt", "soft", False)),
        ("finetune", MethodSpec("finetune", None, False)),
        ("probe:mre-best", MethodSpec("probe", "mre-best", False)),
        ("embedding:kpt", MethodSpec("embedding", "kpt", False)),
    ],
)
def test_parse_method(name, spec):
    parsed = parse_method(name)
    assert parsed == spec
    assert parsed.name == name
    assert name in valid_methods()


@pytest.mark.parametrize("name", ["finetune+calib", "probe:soft", "probe:manual+calib",
                                  "embedding:", "MANUAL", "knn"])
def test_parse_method_rejects(name):
    with pytest.raises(ConfigError, match="valid choices"):
        parse_method(name)
