"""PromptClassifier on causal LMs (Llama, Gemma 3, GPT-2): zero-shot, the head-only path,
batching, calibration, full and frozen training, the soft verbalizer, saving; backbone detection
and fast failures of load_lm."""

from __future__ import annotations

import json
import time
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from _prompt_standins import KEYWORDS, one_thread, synthetic_task

from mrekv.errors import ConfigError
from mrekv.models import check_model_reference, detect_backbone, load_lm
from mrekv.prompt.classifier import PromptClassifier
from mrekv.tiny_causal import KINDS
from mrekv.verbalizer.knowledgeable import KnowledgeableVerbalizer
from mrekv.verbalizer.label_words import LabelWords
from mrekv.verbalizer.manual import ManualVerbalizer
from mrekv.verbalizer.soft import SoftVerbalizer

CLASSES = list(KEYWORDS)  # sports, food, music
WORDS = {"sports": ["good", "fine"], "food": ["bad", "awful"], "music": ["great", "food"]}
TEMPLATE = "{text} It was {mask}"
TEXTS = ["the pizza was cold", "a guitar solo", "football on the radio", "it was a day"]
LONG = " ".join(["the vote on the bill was held in the senate and the house"] * 5)


@pytest.fixture(autouse=True, scope="module")
def _single_thread():
    yield from one_thread()


@pytest.fixture(scope="module")
def task():
    return synthetic_task(8, seed=0)


def make(folder, verbalizer=None, **kwargs):
    """A classifier on a fresh copy of the model in ``folder`` (training never leaks)."""
    options = {"template": TEMPLATE, "learning_rate": 3e-3, "verbalizer_learning_rate": 3e-2,
               "epochs": 10, "batch_size": 4, "progress": False, "seed": 0, "device": "cpu"}
    options.update(kwargs)
    if verbalizer is None and "classes" not in options:
        verbalizer = ManualVerbalizer(CLASSES, WORDS)
    return PromptClassifier(str(folder), verbalizer=verbalizer, **options)


def kpt(**kwargs):
    return KnowledgeableVerbalizer(LabelWords.from_lists(CLASSES, [WORDS[c] for c in CLASSES]),
                                   **kwargs)


def lm_state(clf):
    return {k: v.detach().clone() for k, v in clf.model_.state_dict().items()}


# -- backbones ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_detect_backbone_on_causal_models_and_configs(causal_lm, kind):
    model, _ = causal_lm(kind)
    assert detect_backbone(model) == "causal"
    assert detect_backbone(model.config) == "causal"


def test_detect_backbone_on_a_masked_model(tiny_mlm_dir):
    from transformers import AutoConfig, AutoModelForMaskedLM

    folder = tiny_mlm_dir("en")
    assert detect_backbone(AutoModelForMaskedLM.from_pretrained(folder)) == "masked"
    assert detect_backbone(AutoConfig.from_pretrained(folder)) == "masked"
    assert load_lm(folder)[2] == "masked"


def test_detect_backbone_refuses_an_unknown_model():
    with pytest.raises(ConfigError, match=r"pass backbone=\['masked', 'causal'\]"):
        detect_backbone(SimpleNamespace(model_type="t5", architectures=["T5Model"]))


def test_load_lm_reads_the_backbone_and_validates_the_choice(tiny_causal):
    model, tok, backbone = load_lm(tiny_causal["gpt2"])
    assert backbone == "causal" and not model.training
    assert type(model).__name__ == "GPT2LMHeadModel"
    with pytest.raises(ConfigError, match=r"'decoder'.*'auto', 'masked', 'causal'"):
        load_lm(tiny_causal["gpt2"], backbone="decoder")


@pytest.mark.parametrize("kind", KINDS)
def test_the_classifier_detects_a_causal_lm_and_uses_the_causal_default_template(
    tiny_causal, kind
):
    clf = PromptClassifier(str(tiny_causal[kind]), classes=CLASSES, progress=False, device="cpu")
    assert clf.backbone_ == "causal"
    assert clf.template_.text.endswith("{mask}")
    with pytest.raises(ConfigError, match=r"'\{text\} It was \{mask\}\.'.*causal"):
        PromptClassifier(str(tiny_causal[kind]), template="{text} It was {mask}.",
                         classes=CLASSES, progress=False, device="cpu")


def test_a_bad_train_mode_is_named(tiny_causal):
    with pytest.raises(ConfigError, match=r"'partial'.*'full', 'frozen'"):
        make(tiny_causal["llama"], train_mode="partial")


# -- zero-shot scoring ----------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_zero_shot_probabilities_sum_to_one(tiny_causal, kind):
    clf = make(tiny_causal[kind])
    proba = clf.predict_proba(TEXTS)
    assert proba.shape == (len(TEXTS), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)
    assert (proba > 0).all()
    assert set(clf.predict(TEXTS)) <= set(CLASSES)


@pytest.mark.parametrize("kind", KINDS)
def test_the_head_at_the_last_position_equals_a_full_forward(tiny_causal, kind):
    clf = make(tiny_causal[kind])
    assert clf.module_.head_name == "lm_head"
    texts = [*TEXTS, LONG]
    picked = clf.mask_inputs(texts)  # (n, 1, vocab), head-only path, batched and padded
    tok, model = clf.tokenizer_, clf.model_
    expected = []
    with torch.no_grad():
        for text in texts:
            ids = torch.tensor([tok(f"{text} It was")["input_ids"]])
            assert ids.shape[1] < clf.args.max_length  # not truncated
            expected.append(model(input_ids=ids).logits[:, -1])
    expected_logits = torch.stack(expected)  # (n, 1, vocab)
    torch.testing.assert_close(picked, expected_logits, rtol=1e-4, atol=1e-4)
    proba = torch.softmax(clf.verbalizer_(expected_logits).double(), dim=-1).numpy()
    np.testing.assert_allclose(clf.predict_proba(texts), proba, rtol=1e-4, atol=1e-6)
    clf.module_.head_name = None  # the full forward + gather fallback
    torch.testing.assert_close(clf.mask_inputs(texts), picked, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("kind", KINDS)
def test_a_text_scores_the_same_alone_and_padded_in_a_batch(tiny_causal, kind):
    clf = make(tiny_causal[kind], eval_batch_size=8)
    alone = np.vstack([clf.predict_proba([t]) for t in TEXTS])
    with_long = clf.predict_proba([LONG, *TEXTS])[1:]
    np.testing.assert_allclose(with_long, alone, rtol=1e-5, atol=1e-6)
    reversed_ = clf.predict_proba(TEXTS[::-1])[::-1]
    np.testing.assert_allclose(reversed_, alone, rtol=1e-5, atol=1e-6)


def test_word_scores_and_features_have_one_column_per_label_word(tiny_causal):
    clf = make(tiny_causal["llama"])
    scores = clf.word_scores(TEXTS)
    assert scores.shape == (len(TEXTS), 6)
    assert (scores <= 0).all()
    torch.testing.assert_close(clf.features(TEXTS), scores)
    class_scores = clf.verbalizer_.class_scores(scores)
    expected = torch.softmax(class_scores.double(), dim=-1).numpy()
    np.testing.assert_allclose(clf.predict_proba(TEXTS), expected, rtol=1e-5)


# -- calibration ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_manual_calibration_divides_by_the_class_prior(tiny_causal, kind):
    clf = make(tiny_causal[kind])
    before = clf.predict_proba(TEXTS)
    assert clf.calibrate(TEXTS) is clf
    prior = clf.verbalizer_.prior
    assert prior.shape == (3,) and prior.sum().item() == pytest.approx(1.0, abs=1e-5)
    expected = np.exp(np.log(before) - np.log(prior.numpy())[None, :])
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(clf.predict_proba(TEXTS), expected, rtol=1e-4)


@pytest.mark.parametrize("aggregate", ["first", "exact"])
def test_knowledgeable_calibration_sets_a_word_prior(tiny_causal, aggregate):
    clf = make(tiny_causal["gemma3"], verbalizer=kpt(aggregate=aggregate))
    before = clf.predict_proba(TEXTS)
    clf.calibrate([*TEXTS, LONG])
    prior = clf.verbalizer_.prior
    assert prior.shape == (6,) and (prior > 0).all()
    assert prior.sum().item() == pytest.approx(1.0, abs=1e-5)
    after = clf.predict_proba(TEXTS)
    np.testing.assert_allclose(after.sum(axis=1), 1.0, atol=1e-12)
    assert not np.allclose(after, before)


def test_the_soft_verbalizer_cannot_be_calibrated(tiny_causal):
    clf = make(tiny_causal["llama"], classes=CLASSES)
    assert isinstance(clf.verbalizer_, SoftVerbalizer)
    with pytest.raises(NotImplementedError):
        clf.calibrate(TEXTS)


# -- training -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_full_training_learns_a_keyword_task(tiny_causal, task, kind):
    texts, labels = task
    clf = make(tiny_causal[kind])
    before = lm_state(clf)
    assert clf.fit(texts, labels) is clf
    losses = [h["train_loss"] for h in clf.history_ if h.get("train_loss") is not None]
    assert len(losses) == 10 and losses[-1] < losses[0] / 2
    assert clf.score(texts, labels) >= 0.9
    after = clf.model_.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)


@pytest.mark.parametrize("kind", KINDS)
def test_frozen_training_leaves_the_lm_bit_identical_and_moves_word_weights(
    tiny_causal, task, kind
):
    texts, labels = task
    clf = make(tiny_causal[kind], verbalizer=kpt(), train_mode="frozen",
               frozen_head="word-weights", epochs=20)
    before = lm_state(clf)
    logits = clf.verbalizer_.word_logits.detach().clone()
    start = clf.score(texts, labels)
    clf.fit(texts, labels)
    after = clf.model_.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not torch.equal(clf.verbalizer_.word_logits.detach(), logits)
    assert all(p.requires_grad for p in clf.model_.parameters())  # frozen by not training it
    losses = [h["train_loss"] for h in clf.history_ if h.get("train_loss") is not None]
    assert losses[-1] < losses[0]
    assert clf.score(texts, labels) >= start


def test_frozen_training_with_dev_data_keeps_the_best_dev_state(tiny_causal, task):
    texts, labels = task
    clf = make(tiny_causal["llama"], verbalizer=kpt(), train_mode="frozen",
               frozen_head="word-weights", epochs=5)
    clf.fit(texts, labels, texts[:6], labels[:6])
    scores = [h["dev_score"] for h in clf.history_ if h.get("dev_score") is not None]
    assert scores and clf.score(texts[:6], labels[:6]) == pytest.approx(max(scores))


def test_frozen_training_of_a_manual_verbalizer_changes_nothing(tiny_causal, task):
    texts, labels = task
    clf = make(tiny_causal["gpt2"], train_mode="frozen", frozen_head="word-weights")
    before = clf.predict_proba(TEXTS)
    clf.fit(texts, labels)
    assert "no trainable parameters" in clf.history_[0]["note"]
    np.testing.assert_array_equal(clf.predict_proba(TEXTS), before)


@pytest.mark.parametrize("train_mode", ["full", "frozen"])
def test_the_soft_verbalizer_trains_on_a_causal_lm(tiny_causal, task, train_mode):
    texts, labels = task
    clf = PromptClassifier(str(tiny_causal["llama"]), template=TEMPLATE, train_mode=train_mode,
                           learning_rate=3e-3, verbalizer_learning_rate=1e-2, epochs=10,
                           batch_size=4, progress=False, seed=0, device="cpu")
    before = lm_state(clf)
    clf.fit(texts, labels)  # no verbalizer: a soft one over the labels seen
    assert isinstance(clf.verbalizer_, SoftVerbalizer)
    assert clf.classes_ == tuple(sorted(CLASSES))
    features = clf.features(TEXTS)
    assert features.shape == (len(TEXTS), 1, clf.model_.config.hidden_size)
    frozen = all(torch.equal(before[k], v) for k, v in clf.model_.state_dict().items())
    assert frozen == (train_mode == "frozen")
    losses = [h["train_loss"] for h in clf.history_ if h.get("train_loss") is not None]
    assert losses[-1] < losses[0]
    # a random 2-layer LM's frozen state at "was" carries little of the keyword
    assert clf.score(texts, labels) >= (0.9 if train_mode == "full" else 0.5)


# -- saving ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "train_mode", "aggregate"),
    [("llama", "full", "first"), ("gemma3", "frozen", "exact"), ("gpt2", "full", "mean")],
)
def test_save_and_load_round_trip(tiny_causal, task, tmp_path, kind, train_mode, aggregate):
    texts, labels = task
    clf = make(tiny_causal[kind], verbalizer=kpt(aggregate=aggregate), train_mode=train_mode,
               max_steps=3)
    clf.fit(texts, labels).calibrate(TEXTS)
    clf.save_pretrained(tmp_path / "clf")
    config = json.loads((tmp_path / "clf" / "mrekv_config.json").read_text(encoding="utf-8"))
    assert config["backbone"] == "causal" and config["train_mode"] == train_mode
    assert config["verbalizer"]["aggregate"] == aggregate
    loaded = PromptClassifier.from_pretrained(tmp_path / "clf", device="cpu", progress=False)
    assert loaded.backbone_ == "causal" and loaded.train_mode == train_mode
    assert type(loaded.model_).__name__ == type(clf.model_).__name__
    assert loaded.template_.text == TEMPLATE
    np.testing.assert_allclose(loaded.predict_proba(TEXTS), clf.predict_proba(TEXTS),
                               rtol=1e-6, atol=1e-9)
    torch.testing.assert_close(loaded.verbalizer_.prior, clf.verbalizer_.prior)


def test_a_folder_saved_before_causal_lms_loads_as_masked(tiny_mlm_dir, tmp_path):
    clf = PromptClassifier(str(tiny_mlm_dir("en")), template="{text} It was {mask}.",
                           verbalizer={"neg": ["bad"], "pos": ["good"]}, progress=False,
                           device="cpu")
    assert clf.backbone_ == "masked"
    clf.save_pretrained(tmp_path / "old")
    config_file = tmp_path / "old" / "mrekv_config.json"
    config = json.loads(config_file.read_text(encoding="utf-8"))
    assert config.pop("backbone") == "masked" and config.pop("train_mode") == "full"
    config.pop("checksums")  # old folders have none
    config_file.write_text(json.dumps(config), encoding="utf-8")
    loaded = PromptClassifier.from_pretrained(tmp_path / "old", device="cpu", progress=False)
    assert loaded.backbone_ == "masked" and loaded.train_mode == "full"
    np.testing.assert_allclose(loaded.predict_proba(TEXTS), clf.predict_proba(TEXTS), rtol=1e-6)


# -- loading fails fast ---------------------------------------------------------------


@pytest.mark.parametrize("name", ["./no-such-dir", "../no/such/dir", "~/no-such-mrekv-model"])
def test_a_missing_folder_fails_at_once(name):
    start = time.perf_counter()
    with pytest.raises(FileNotFoundError, match="no such file or folder"):
        load_lm(name)
    assert time.perf_counter() - start < 2


def test_a_missing_gguf_file_fails_at_once(tmp_path):
    from mrekv.gguf import convert_gguf

    start = time.perf_counter()
    with pytest.raises(FileNotFoundError, match="missing.gguf"):
        load_lm(tmp_path / "missing.gguf")
    with pytest.raises(FileNotFoundError, match="missing.gguf"):
        load_lm("missing.gguf")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        convert_gguf(tmp_path / "missing.gguf")
    with pytest.raises(FileNotFoundError):
        PromptClassifier(str(tmp_path / "missing.gguf"), classes=CLASSES)
    assert time.perf_counter() - start < 2


def test_an_uncached_hub_id_fails_quickly_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.perf_counter()
    with pytest.raises(FileNotFoundError, match=r"HF_HUB_OFFLINE.*--local-dir"):
        load_lm("mrekv-tests/no-such-model-4f2a")
    with pytest.raises(FileNotFoundError, match="not in the local Hugging Face cache"):
        check_model_reference("no-such-model-4f2a")
    assert time.perf_counter() - start < 5
