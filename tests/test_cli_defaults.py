"""What a newcomer meets first on the command line: tiny models from tokenizer-only
folders, the default template (it follows the data's task and is printed), --root help."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from mrekv.cli import build_parser, main
from mrekv.cli._template import TemplateChoice, choose_template, data_task

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples"
TOKENIZERS = ROOT.parent / "shared" / "models" / "tokenizers"
VOCABS = ["en-bert-base-uncased", "ja-bert-base-japanese", "zh-bert-base-chinese",
          "multi-bert-base-multilingual-cased"]


def run(capsys, *argv: object) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def tiny_causal(tmp_path_factory) -> Path:
    from mrekv_testing import sample_texts

    from mrekv.tiny_causal import make_tiny_causal_lm

    texts = sample_texts("en-scpos-adj-n.train", "en-scnm.train")[0]
    return make_tiny_causal_lm(tmp_path_factory.mktemp("causal"), kind="llama", texts=texts)


# -- tiny-model --tokenizer-from: a tokenizer-only folder (no config.json) --------------------


@pytest.mark.parametrize("vocab", VOCABS)
def test_tiny_model_from_a_real_tokenizer_only_folder(tmp_path, capsys, vocab):
    from transformers import AutoModelForMaskedLM

    from mrekv.models import load_tokenizer

    source = TOKENIZERS / vocab
    if not source.is_dir():
        pytest.skip(f"{source} is missing")
    assert not (source / "config.json").exists()  # the case the issue is about
    code, _, err = run(capsys, "tiny-model", "--out", tmp_path / "m", "--tokenizer-from", source)
    assert code == 0, err
    model = AutoModelForMaskedLM.from_pretrained(tmp_path / "m")
    assert model.config.vocab_size == len(load_tokenizer(source))


def test_tiny_causal_model_from_a_tokenizer_only_folder(tmp_path, capsys):
    source = TOKENIZERS / "en-bert-base-uncased"
    if not source.is_dir():
        pytest.skip(f"{source} is missing")
    code, _, err = run(capsys, "tiny-model", "--kind", "gpt2", "--out", tmp_path / "m",
                       "--tokenizer-from", source, "--layers", "1")
    assert code == 0 and "causal LM (gpt2)" in err
    assert (tmp_path / "m" / "config.json").is_file()


def test_tiny_model_refuses_a_folder_without_tokenizer_files(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run(capsys, "tiny-model", "--out", tmp_path / "m", "--tokenizer-from", empty)
    assert code == 2 and "no tokenizer files" in err and "vocab.txt" in err
    assert not (tmp_path / "m").exists()


def test_tiny_model_help_says_no_config_is_needed(capsys):
    with pytest.raises(SystemExit):
        main(["tiny-model", "--help"])
    assert "no config.json needed" in " ".join(capsys.readouterr().out.split())


# -- the default template follows the task, and is printed ------------------------------------


def _args(model: object, **kw: object) -> argparse.Namespace:
    base = {"template": None, "task": None, "lang": None, "backbone": "auto",
            "trust_remote_code": False, "model": str(model)}
    return argparse.Namespace(**{**base, **kw})


def test_sentiment_records_get_the_sentiment_template(tiny_causal):
    data = str(SAMPLES / "en-scpos-adj-n.train.jsonl")
    choice = choose_template(_args(tiny_causal), ["Great food."], data)
    assert choice.text == "{text} It was {mask}" and not choice.generic
    assert "'Sentiment Adj and N'" in choice.source and "causal" in choice.source


@pytest.mark.parametrize(
    ("kw", "backbone", "expected"),
    [
        ({"task": "topic"}, "causal", "{text}\nThis news article is about {mask}"),
        ({"task": "sentiment"}, "masked", "{text} It was {mask}."),
        ({"task": "sentiment", "lang": "zh"}, "causal", "{text}\n这句话的评价是{mask}"),
        ({"template": "{text} Overall: {mask}"}, "causal", "{text} Overall: {mask}"),
    ],
)
def test_task_option_and_template_option(kw, backbone, expected):
    choice = choose_template(_args("unused", backbone=backbone, **kw), ["a text"], None)
    assert choice.text == expected and not choice.generic


def test_no_task_anywhere_gives_the_generic_template_with_a_warning(tmp_path):
    tsv = tmp_path / "train.tsv"
    tsv.write_text("positive\tgreat\nnegative\tawful\n", encoding="utf-8")
    assert data_task(str(tsv)) == (None, "")
    assert data_task(str(SAMPLES / "en-scnm.train.jsonl")) == (None, "")  # NER: no kind
    choice = choose_template(_args("m", backbone="causal"), ["great"], str(tsv))
    assert choice.generic and choice.text == "{text} This text is about {mask}"
    report = choice.report("mrekv train")
    assert "warning: that is the generic template" in report and "--task" in report
    assert "warning" not in TemplateChoice("{text} {mask}", "from --template").report("x")


def test_language_of_the_default_is_guessed_from_the_texts():
    choice = choose_template(_args("m", backbone="masked", task="sentiment"), ["很好吃。"], None)
    assert choice.text == "{text}这句话很{mask}。"


def test_train_prints_the_template_it_uses(tmp_path, capsys, tiny_causal):
    saved = tmp_path / "clf"
    code, _, err = run(capsys, "train", "--model", tiny_causal, "--train-mode", "frozen",
                       "--label-words", _label_words(tmp_path),
                       "--train", SAMPLES / "en-scpos-adj-n.train.jsonl", "--out", saved)
    assert code == 0, err
    assert "template '{text} It was {mask}'" in err and "warning" not in err
    config = json.loads((saved / "mrekv_config.json").read_text(encoding="utf-8"))
    assert "It was" in json.dumps(config["template"])


def test_train_warns_about_the_generic_template(tmp_path, capsys, tiny_causal):
    tsv = tmp_path / "train.tsv"
    tsv.write_text("".join(f"{e}\t{t}\n" for t, e in zip(*_texts(), strict=True)),
                   encoding="utf-8")
    code, _, err = run(capsys, "train", "--model", tiny_causal, "--train-mode", "frozen",
                       "--label-words", _label_words(tmp_path), "--train", tsv,
                       "--out", tmp_path / "clf")
    assert code == 0, err
    assert "This text is about {mask}" in err and "warning: that is the generic template" in err


def test_evaluate_with_a_model_dir_refuses_task(tmp_path, capsys):
    code, _, err = run(capsys, "evaluate", "--model-dir", tmp_path, "--task", "topic",
                       "--input", SAMPLES / "en-scnm.test.jsonl")
    assert code == 2 and "--task goes with --model" in err


def _texts() -> tuple[list[str], list[str]]:
    from mrekv_testing import sample_texts

    return sample_texts("en-scpos-adj-n.train")


def _label_words(tmp_path: Path) -> Path:
    path = tmp_path / "kv.json"
    path.write_text(json.dumps({"negative": ["bad", "dull"], "positive": ["good", "great"]}),
                    encoding="utf-8")
    return path


# -- --root says what the code does ----------------------------------------------------------


@pytest.mark.parametrize("command", ["mine", "probe", "build-mre"])
def test_root_help_names_the_real_fallbacks(command):
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    root = next(a for a in sub.choices[command]._actions if "--root" in a.option_strings)
    assert "$MREKV_DATASETS" in root.help and "~/.local/share/mrekv/datasets" in root.help
    assert "../shared" not in root.help
