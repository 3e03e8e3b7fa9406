"""The default frozen head: a frozen LM and a head centred on the verbalizer.

``PromptClassifier(train_mode="frozen")`` (``frozen_head="prior"``, the default;
``train_mode="prior"`` is the same) fits it. ``fit`` computes one read state per
text (:meth:`PromptClassifier.read_states`), the verbalizer's (calibrated) class
log-scores from it, and fits a :class:`~mrekv.prompt.prior_head.PriorHead` centred
on the verbalizer (no words, e.g. a soft verbalizer: a plain probe), its penalty
chosen by cross-validation within the training texts (dev texts, when given, join
them: they are labelled data of the same budget). With ``ngram_expert=True`` (the
default) a TF-IDF expert is pooled with the head, its weight chosen on the same
folds (:mod:`mrekv.prompt.ngram_expert`; weight 0 keeps the head alone).
``calibrate`` after ``fit`` moves the prior, so it refits on the same texts.
With a first-token verbalizer the prior is read from the same states, so fit and
predict cost one LM pass per text; other aggregates (``mean``, ``exact``...) need a
second pass for the verbalizer's own scores.
The head is saved beside the verbalizer (``prior_head.safetensors`` + its choice
in the config, the expert in ``ngram_expert.json``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from mrekv.errors import SaveFormatError
from mrekv.prompt.ngram_expert import NgramExpert, fit_pooled, log_softmax, oof_temperature
from mrekv.prompt.prior_head import HeadChoice, PriorHead

if TYPE_CHECKING:  # pragma: no cover
    import torch

HEAD_FILE = "prior_head.safetensors"
EXPERT_FILE = "ngram_expert.json"
_TENSORS = ("mean_", "std_", "coef_", "intercept_")


def _prior_scores(clf: Any, texts: Sequence[str], states: np.ndarray) -> np.ndarray | None:
    """``(n, C)`` calibrated class log-scores of the verbalizer (None: it has no words)."""
    import torch

    from mrekv.prompt.read_states import output_layer, word_scores

    verbalizer = clf.module_.verbalizer
    if not hasattr(verbalizer, "class_scores"):
        return None
    if verbalizer.aggregate == "first":
        weight, bias = output_layer(clf.module_.mlm)
        scores = torch.from_numpy(word_scores(states, weight, bias, verbalizer))
    else:
        scores = clf.word_scores(texts).float().cpu()
    with torch.no_grad():
        out = verbalizer.class_scores(scores.to(verbalizer.membership.device))
    return out.double().cpu().numpy()  # type: ignore[no-any-return]


def fit_prior_head(clf: Any, texts: Sequence[str], y: list[int],
                   dev: tuple[Sequence[str], list[int]] | None) -> list[dict[str, Any]]:
    """Fit ``clf.prior_head_`` (module docstring); return a one-entry history."""
    if dev is not None:
        texts, y = [*texts, *dev[0]], [*y, *dev[1]]
    states = clf.read_states(texts).double().cpu().numpy()
    prior = _prior_scores(clf, texts, states)
    # the verbalizer alone is the prior: a small penalty already tends to a probe, and a
    # probe candidate beside it made CV choose noisily at N = 16 (measured, budget sweep)
    priors: dict[str, np.ndarray | None] = (
        {"none": None} if prior is None else {"verbalizer": prior})
    unlabeled = getattr(clf, "unlabeled_states_", None)
    head = PriorHead(seed=clf.seed).fit(states[:, :-1], y, priors, len(clf.classes_),
                                        unlabeled_states=unlabeled,
                                        default_prior="verbalizer" if prior is not None else None)
    clf.prior_head_ = head
    clf.ngram_expert_, clf.ngram_weight_ = None, 0.0
    head.temperature_ = oof_temperature(head.oof_logits_, np.asarray(y))
    pooled: dict[str, Any] = {"beta": 0.0, "temperature": head.temperature_}
    if clf.ngram_expert:
        pooling = fit_pooled(head, texts, y, len(clf.classes_), clf.lang)
        clf.ngram_expert_, clf.ngram_weight_, pooled = (
            pooling.expert, pooling.beta, pooling.info)
        head.temperature_ = pooling.temperature
    clf.prior_fit_texts_ = (list(texts), list(y))  # calibrate() after fit refits on them
    assert head.choice_ is not None
    return [{"epoch": 0, "step": 0, "train_loss": None, "head": head.choice_.to_dict(),
             "ngram_expert": pooled}]


def prior_proba(clf: Any, texts: Sequence[str]) -> np.ndarray:
    """``(n, C)`` probabilities of the fitted head."""
    head: PriorHead = clf.prior_head_
    states = clf.read_states(texts).double().cpu().numpy()
    assert head.choice_ is not None
    prior = None if head.choice_.prior == "none" else _prior_scores(clf, texts, states)
    logits = head.decision_function(states[:, :-1], prior)
    expert: NgramExpert | None = getattr(clf, "ngram_expert_", None)
    if expert is not None:
        logits = logits + clf.ngram_weight_ * expert.log_proba(texts)
    return np.exp(log_softmax(logits / head.temperature_))  # type: ignore[no-any-return]


def head_config(head: PriorHead | None, ngram_weight: float = 0.0) -> dict[str, Any] | None:
    """What the saved config records of the head (None: not fitted)."""
    if head is None or head.choice_ is None:
        return None
    return {"choice": head.choice_.to_dict(), "prior_scale": head.prior_scale_,
            "ngram_weight": ngram_weight, "temperature": head.temperature_}


def expert_from_saved(config: dict[str, Any], path: Any) -> tuple[NgramExpert | None, float]:
    """The saved n-gram expert and its weight (``(None, 0.0)`` when the head has none).

    Raises:
        SaveFormatError: the weight is bad, or the expert file is missing or malformed.
    """
    from mrekv._json import load_json

    try:
        weight = float(config.get("ngram_weight", 0.0))
    except (TypeError, ValueError) as exc:
        raise SaveFormatError(f"{path}: bad 'ngram_weight': {exc}") from exc
    if not math.isfinite(weight) or weight < 0:
        raise SaveFormatError(f"{path}: 'ngram_weight' must be finite and >= 0, got {weight}")
    if weight == 0:
        return None, 0.0
    try:
        state = load_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SaveFormatError(f"{path}: cannot read the n-gram expert: {exc}") from exc
    try:
        return NgramExpert.from_state(state, str(path)), weight
    except ValueError as exc:
        raise SaveFormatError(str(exc)) from exc


def head_tensors(head: PriorHead) -> dict[str, torch.Tensor]:
    import torch

    return {name: torch.from_numpy(np.ascontiguousarray(getattr(head, name))) for name in _TENSORS}


def head_from_saved(config: dict[str, Any], tensors: dict[str, Any], where: str) -> PriorHead:
    """Rebuild a saved head; raise SaveFormatError naming ``where`` when it is incomplete."""
    missing = [n for n in _TENSORS if n not in tensors]
    if missing:
        raise SaveFormatError(f"{where}: prior head tensors missing: {missing}")
    try:
        c = config["choice"]
        penalty = math.inf if c["penalty"] == "inf" else float(c["penalty"])
        choice = HeadChoice(str(c["prior"]), penalty, c["cv_loss"], int(c["folds"]),
                            bool(c["kept_prior"]))
        scale = float(config["prior_scale"])
        temperature = float(config.get("temperature", 1.0))  # none saved before it existed
    except (KeyError, TypeError, ValueError) as exc:
        raise SaveFormatError(f"{where}: bad 'prior_head' entry: {exc}") from exc
    if not (math.isfinite(temperature) and temperature > 0):
        raise SaveFormatError(f"{where}: 'temperature' must be finite and > 0, got {temperature}")
    head = PriorHead(prior_scale_=scale, choice_=choice, temperature_=temperature)
    for name in _TENSORS:
        value = tensors[name].double().numpy()
        if not np.isfinite(value).all():
            raise SaveFormatError(f"{where}: prior head tensor {name} holds NaN or inf")
        setattr(head, name, value)
    return head
