"""ManualVerbalizer: one or a few hand-picked words per class.

Class score = log of the mean probability of the class's words at the mask:
``score_c = log( (1/n_c) * sum_{w in c} exp(s_w) )`` where ``s_w`` is the word's
log-score (:func:`~mrekv.verbalizer.tokens.word_log_probs`; for a multi-token
word under ``mean`` aggregation ``exp(s_w)`` is the geometric mean of its
sub-token probabilities) and ``n_c`` the number of the class's words that
survived tokenization. ``softmax`` over the class scores gives probabilities.

Optional contextual calibration (Zhao et al. 2021): ``calibrate(mask_inputs)``
stores the mean class distribution ``prior`` over unlabeled texts; afterwards
``score_c = log_softmax(score - log prior)_c``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from mrekv.errors import ConfigError
from mrekv.verbalizer.tokens import LabelWordVerbalizer, LeadingSpace


def manual_class_scores(word_scores: torch.Tensor, membership: torch.Tensor) -> torch.Tensor:
    """Log of the mean word probability of each class.

    Args:
        word_scores: ``(batch, W)`` word log-scores (``-inf`` for a dropped word).
        membership: ``(C, W)`` bool, True where word ``w`` is a (kept) word of class ``c``.

    Returns:
        ``(batch, C)`` class log-scores.

    Example:
        >>> s = torch.log(torch.tensor([[0.2, 0.4, 0.1]]))
        >>> m = torch.tensor([[True, True, False], [False, False, True]])
        >>> manual_class_scores(s, m).exp()
        tensor([[0.3000, 0.1000]])
    """
    expanded = torch.where(membership.unsqueeze(0), word_scores.unsqueeze(1), float("-inf"))
    count = membership.sum(dim=-1).clamp_min(1).to(word_scores.dtype)
    return torch.logsumexp(expanded, dim=-1) - torch.log(count)


def _class_prior(scores: torch.Tensor) -> torch.Tensor:
    prior = torch.softmax(scores, dim=-1).mean(dim=0)
    return prior.clamp_min(torch.finfo(prior.dtype).tiny)


class ManualVerbalizer(LabelWordVerbalizer):
    """A verbalizer with a few fixed words per class (scores in the module docstring).

    Args:
        classes: the class names, in the classifier's order.
        words: for each class, its words: a list of lists in class order, or a
            mapping from class name to words.
        aggregate: ``"first"``, ``"mean"``, ``"max"``, ``"multi-mask"`` (masked LMs) or
            ``"exact"`` / ``"exact-mean"`` (causal LMs; see :mod:`mrekv.verbalizer.tokens`).
        max_word_tokens: use only a word's first sub-tokens (``None``: all).
        leading_space: tokenize words in their after-a-space form (True), glued to
            the previous token (False), or by script (``"auto"``: a space for Latin-script
            words, none for Japanese / Chinese ones).

    Example:
        >>> v = ManualVerbalizer(["neg", "pos"], {"neg": ["bad"], "pos": ["good", "great"]})
        >>> v.prepare(tokenizer)                                  # doctest: +SKIP
        >>> v(mask_logits).softmax(-1)                            # doctest: +SKIP
    """

    config_type = "manual"
    prior: torch.Tensor | None

    def __init__(
        self,
        classes: Sequence[str],
        words: Sequence[Sequence[str]] | Mapping[str, Sequence[str]],
        *,
        aggregate: str = "first",
        max_word_tokens: int | None = None,
        leading_space: LeadingSpace = "auto",
    ) -> None:
        classes = list(classes)
        if isinstance(words, Mapping):
            missing = [c for c in classes if c not in words]
            extra = [c for c in words if c not in classes]
            if missing or extra:
                raise ConfigError(
                    f"words and classes disagree: classes without words {missing!r}, "
                    f"words for unknown classes {extra!r}"
                )
            word_lists = [list(words[c]) for c in classes]
        else:
            word_lists = [[ws] if isinstance(ws, str) else list(ws) for ws in words]
        super().__init__(
            classes,
            word_lists,
            aggregate=aggregate,
            max_word_tokens=max_word_tokens,
            leading_space=leading_space,
        )
        self.register_buffer("prior", None, persistent=False)

    def class_scores(self, word_scores: torch.Tensor) -> torch.Tensor:
        """``(batch, W)`` word log-scores -> ``(batch, num_classes)`` class log-scores."""
        scores = manual_class_scores(word_scores, self.membership & self.active())
        if self.prior is not None:
            scores = torch.log_softmax(scores - torch.log(self.prior), dim=-1)
        return scores

    @torch.no_grad()
    def calibrate_words(self, word_scores: torch.Tensor) -> ManualVerbalizer:
        """Set the class prior from unlabeled texts' word log-scores ``(N, W)``."""
        if word_scores.shape[0] == 0:
            raise ValueError("calibrate needs at least one unlabeled text")
        scores = manual_class_scores(word_scores, self.membership & self.active())
        self.prior = _class_prior(scores)
        return self

    def to_config(self) -> dict[str, Any]:
        """JSON-ready classes, words, options and calibration prior (see :meth:`from_config`)."""
        return {
            "type": self.config_type,
            "classes": list(self.classes),
            "words": [self.words_of(c) for c in range(self.num_classes)],
            **self._word_options(),
            "prior": None if self.prior is None else self.prior.cpu().tolist(),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ManualVerbalizer:
        """Rebuild from :meth:`to_config` data; an unknown key is a :class:`ConfigError`."""
        allowed = {
            "type",
            "classes",
            "words",
            "aggregate",
            "max_word_tokens",
            "leading_space",
            "prior",
        }
        unknown = set(config) - allowed
        if unknown:
            raise ConfigError(
                f"unknown manual verbalizer keys {sorted(unknown)!r}; "
                f"valid keys: {sorted(allowed)!r}"
            )
        v = cls(
            config["classes"],
            config["words"],
            aggregate=config.get("aggregate", "first"),
            max_word_tokens=config.get("max_word_tokens"),
            leading_space=config.get("leading_space", "auto"),
        )
        if config.get("prior") is not None:
            prior = torch.tensor(config["prior"], dtype=torch.float32)
            if prior.shape != (v.num_classes,):
                raise ConfigError(f"prior has {prior.numel()} values for {v.num_classes} classes")
            v.prior = prior
        return v
