"""OpenPrompt's ``KnowledgeableVerbalizer`` (KPT), on mrekv's KPT rules and verbalizer math.

Setting ``label_words`` (also inside :meth:`~KnowledgeableVerbalizer.register_calibrate_logits`
and :func:`mrekv.openprompt.kpt.tfidf_filter`) runs one pass of KPT's shared-word
removal (:func:`mrekv.verbalizer.kpt.drop_shared_words`: strings are compared
before the prefix is added), then each word becomes ``prefix + word.lstrip(" ")``
and, with ``max_token_split = N > 0``, words of more than N sub-tokens are dropped.

Scores: ``score_c = sum_w a[c, w] * log p[c, w]`` with ``p`` as in
:class:`~mrekv.openprompt.prompts.ManualVerbalizer` (optionally calibrated) and
``a[c, .] = softmax_w(pred_temp * theta[c, w])`` in eval mode, ``softmax_w(theta[c, w])``
in train mode, over the class's words; ``theta`` is ``label_words_weights``.

:meth:`~KnowledgeableVerbalizer.register_calibrate_logits` also applies KPT's
frequency cut (:func:`mrekv.verbalizer.kpt.vocab_rank_cut` with
``candidate_frac``). Differences from OpenPrompt, on purpose:

* the learned ``label_words_weights`` of the words that remain are kept
  (OpenPrompt resets them all to 0 there);
* passing ``label_words=`` to the constructor works (OpenPrompt raises AttributeError);
* a class left without words raises :class:`~mrekv.errors.ConfigError`
  (OpenPrompt: ``ValueError: max() arg is an empty sequence``);
* the caller's lists are not modified.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from mrekv.errors import ConfigError
from mrekv.openprompt.prompts.manual_verbalizer import ManualVerbalizer
from mrekv.verbalizer.kpt import shared_word_keep, vocab_rank_cut


class KnowledgeableVerbalizer(ManualVerbalizer):
    """OpenPrompt's ``KnowledgeableVerbalizer`` (module docstring).

    Args:
        tokenizer: the model's tokenizer.
        classes: the class names.
        prefix: put before each word.
        multi_token_handler: ``"first"``, ``"mean"`` or ``"max"``.
        max_token_split: drop words of more sub-tokens than this (``-1``: keep all).
        verbalizer_lr: kept for OpenPrompt's signature (KPT scripts read it).
        candidate_frac: share of the vocabulary cut by :meth:`register_calibrate_logits`.
        pred_temp: temperature of the word weights in eval mode.
        label_words: the word lists (may also be set later, as KPT's scripts do).
        num_classes: the number of classes when ``classes`` is None.

    Raises:
        ConfigError: as :class:`ManualVerbalizer`, or a class left without words.

    Example:
        >>> v = KnowledgeableVerbalizer(tokenizer, classes=classes, candidate_frac=0.5,
        ...                             pred_temp=1.0).from_file("kv.txt")  # doctest: +SKIP
    """

    def __init__(
        self,
        tokenizer: Any = None,
        classes: Sequence[Any] | None = None,
        prefix: str = " ",
        multi_token_handler: str = "first",
        max_token_split: int = -1,
        verbalizer_lr: float = 5e-2,
        candidate_frac: float = 0.5,
        pred_temp: float = 1.0,
        label_words: Any = None,
        num_classes: int | None = None,
        **kwargs: Any,
    ) -> None:
        self.max_token_split = max_token_split
        self.verbalizer_lr = verbalizer_lr
        self.candidate_frac = candidate_frac
        self.pred_temp = pred_temp
        super().__init__(
            tokenizer,
            classes=classes,
            num_classes=num_classes,
            prefix=prefix,
            multi_token_handler=multi_token_handler,
            **kwargs,
        )
        self.label_words_weights = nn.Parameter(torch.zeros((0, 1)), requires_grad=True)
        if label_words is not None:
            self.label_words = label_words

    @staticmethod
    def add_prefix(label_words: Sequence[Sequence[str]], prefix: str) -> list[list[str]]:
        """``prefix + word.lstrip(" ")`` for each word."""
        return [[prefix + w.lstrip(" ") for w in ws] for ws in label_words]

    def _set_words(self, lists: list[list[str]], old: list[list[int]] | None = None) -> None:
        """Dedup, prefix, split-filter and tokenize ``lists``.

        ``old[c][i]``: the index in the current words of class ``c`` that word ``i``
        of ``lists`` was, to carry its learned weight over (None: all weights 0).
        """
        keep = shared_word_keep(lists)
        lists = [[ws[i] for i in k] for ws, k in zip(lists, keep, strict=True)]
        origin = (
            None if old is None else [[o[i] for i in k] for o, k in zip(old, keep, strict=True)]
        )
        words = self.add_prefix(lists, self.prefix)
        ids = [[self._ids(w) for w in ws] for ws in words]
        if self.max_token_split > 0:
            short = [[i for i, t in enumerate(ts) if len(t) <= self.max_token_split] for ts in ids]
            words = [[ws[i] for i in k] for ws, k in zip(words, short, strict=True)]
            ids = [[ts[i] for i in k] for ts, k in zip(ids, short, strict=True)]
            if origin is not None:
                origin = [[o[i] for i in k] for o, k in zip(origin, short, strict=True)]
            for c, ws in enumerate(words):
                if not ws:
                    raise ConfigError(
                        f"max_token_split={self.max_token_split} drops every label word of class "
                        f"{self._class_name(c)!r}"
                    )
        previous = (
            self.label_words_weights.detach() if hasattr(self, "label_words_weights") else None
        )
        self._label_words = words
        self._tensorize(ids)
        weights = torch.zeros(
            self.label_words_mask.shape, dtype=torch.float32, device=self.label_words_mask.device
        )
        if origin is not None and previous is not None:
            for c, row in enumerate(origin):
                for i, j in enumerate(row):
                    weights[c, i] = previous[c, j]
        self.label_words_weights = nn.Parameter(weights, requires_grad=True)

    def _current_indices(self) -> list[list[int]]:
        return [list(range(len(ws))) for ws in self._label_words]

    def set_words_keeping_weights(self, keep: Sequence[Sequence[int]]) -> None:
        """Keep word ``keep[c]`` (indices, in the given order) of each class, with their weights.

        The kept lists are set again as KPT does (one more shared-word pass).

        Raises:
            ConfigError: a class left without words.
        """
        for c, k in enumerate(keep):
            if not k:
                raise ConfigError(f"no label word of class {self._class_name(c)!r} is left")
        lists = [[ws[i] for i in k] for ws, k in zip(self._label_words, keep, strict=True)]
        self._set_words(lists, [list(k) for k in keep])

    def process_logits(self, logits: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        """``(batch, vocab)`` mask logits -> ``(batch, num_classes)`` class scores."""
        theta = (
            self.label_words_weights if self.training else self.pred_temp * self.label_words_weights
        )
        return self._scores(self.project(logits), theta)

    def register_calibrate_logits(self, logits: torch.Tensor) -> None:
        """Calibrate with the mean mask logits ``(vocab,)`` and apply KPT's frequency cut.

        The ``int(candidate_frac * vocab)`` ids of lowest mean logit are cut; a word
        with any sub-token among them is dropped; the rest are set again (one more
        shared-word pass) keeping their learned weights.

        Raises:
            ConfigError: the cut leaves a class without words.
        """
        super().register_calibrate_logits(logits)
        assert self._calibrate_logits is not None
        c, w, t = self.label_words_ids.shape
        cut = vocab_rank_cut(
            self._calibrate_logits,
            self.label_words_ids.reshape(c * w, t),
            self.words_ids_mask.reshape(c * w, t).bool(),
            self.candidate_frac,
        ).reshape(c, w)
        keep = [
            [i for i in range(len(ws)) if not bool(cut[k, i])]
            for k, ws in enumerate(self._label_words)
        ]
        for k, kept in enumerate(keep):
            if not kept:
                raise ConfigError(
                    f"candidate_frac={self.candidate_frac} cuts every label word of class "
                    f"{self._class_name(k)!r}; use a smaller candidate_frac"
                )
        self.set_words_keeping_weights(keep)
