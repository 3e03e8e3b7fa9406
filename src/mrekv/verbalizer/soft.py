"""SoftVerbalizer: a trainable class head on the mask's hidden state (WARP / OpenPrompt style).

``forward`` takes the last hidden states at the mask, ``(batch, num_masks,
hidden)`` (``input_kind = "hidden"``), and returns
``log_softmax(head(transform(h_mask)))``, ``(batch, num_classes)``.

Initialisation in :meth:`SoftVerbalizer.prepare` (needs the model):

* ``transform`` is a deep copy of the MLM head's transform when it can be
  found, so the class head starts where the MLM's vocabulary head is:
  BERT-like ``cls.predictions.transform``; RoBERTa / XLM-R ``lm_head.dense`` +
  GELU + ``lm_head.layer_norm``; DistilBERT ``vocab_transform`` + GELU +
  ``vocab_layer_norm``. Otherwise (or with ``use_mlm_transform=False``) identity.
* row ``c`` of the head's weight is the mean over the class's label words of
  the mean of their sub-tokens' rows of ``model.get_output_embeddings().weight``
  (the bias likewise from the output bias, when the model has one). Without
  label words (``label_words=None``) the class names themselves are used as
  words; a class none of whose words tokenize gets a random row
  (``normal(0, 0.02)``, seeded by ``seed``).

The head and transform are copies: training them does not change the MLM.
They are saved through ``state_dict()`` (the classifier writes it to a
safetensors file); ``to_config()`` holds only the words and options, so
loading is ``from_config`` -> ``prepare(tokenizer, model)`` -> ``load_state_dict``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from mrekv.errors import ConfigError
from mrekv.verbalizer.base import Verbalizer
from mrekv.verbalizer.label_words import LabelWords
from mrekv.verbalizer.tokens import LeadingSpace, check_leading_space, tokenize_words


def find_mlm_transform(model: Any) -> nn.Module | None:
    """A deep copy of the MLM head's hidden -> hidden transform, or None if not found."""
    predictions = getattr(getattr(model, "cls", None), "predictions", None)
    if predictions is not None and isinstance(getattr(predictions, "transform", None), nn.Module):
        return copy.deepcopy(predictions.transform)
    lm_head = getattr(model, "lm_head", None)
    dense = getattr(lm_head, "dense", None)
    norm = getattr(lm_head, "layer_norm", None)
    if isinstance(dense, nn.Linear) and isinstance(norm, nn.LayerNorm):
        return nn.Sequential(copy.deepcopy(dense), nn.GELU(), copy.deepcopy(norm))
    dense = getattr(model, "vocab_transform", None)
    norm = getattr(model, "vocab_layer_norm", None)
    if isinstance(dense, nn.Linear) and isinstance(norm, nn.LayerNorm):
        return nn.Sequential(copy.deepcopy(dense), nn.GELU(), copy.deepcopy(norm))
    return None


def _word_lists(
    classes: Sequence[str],
    label_words: LabelWords | Sequence[Sequence[str]] | Mapping[str, Any] | None,
) -> list[list[str]] | None:
    if label_words is None:
        return None
    if isinstance(label_words, LabelWords):
        if list(label_words.classes) != list(classes):
            raise ConfigError(
                f"label words are for classes {label_words.classes!r}, not {tuple(classes)!r}"
            )
        return label_words.as_lists()
    if isinstance(label_words, Mapping):
        missing = [c for c in classes if c not in label_words]
        if missing or len(label_words) != len(classes):
            raise ConfigError(f"label words must name exactly the classes {list(classes)!r}")
        return [list(label_words[c]) for c in classes]
    lists = [[ws] if isinstance(ws, str) else list(ws) for ws in label_words]
    if len(lists) != len(classes):
        raise ConfigError(f"{len(classes)} classes but {len(lists)} word lists")
    return lists


class SoftVerbalizer(Verbalizer):
    """A trainable class head initialised from label words (module docstring).

    Args:
        classes: the class names.
        label_words: :class:`LabelWords`, one word list per class, a mapping
            class -> words, or None (use the class names).
        leading_space: tokenize words in their after-a-space form (True), glued to
            the previous token (False), or by script (``"auto"``: a space for Latin-script
            words, none for Japanese / Chinese ones).
        use_mlm_transform: start from a copy of the MLM head's transform.
        seed: seed of the random rows of classes without usable words.

    Example:
        >>> v = SoftVerbalizer(["neg", "pos"], [["bad"], ["good"]])
        >>> v.prepare(tokenizer, model)                                  # doctest: +SKIP
        >>> v(hidden_at_mask).shape                                      # doctest: +SKIP
        torch.Size([8, 2])
    """

    input_kind = "hidden"
    config_type = "soft"

    def __init__(
        self,
        classes: Sequence[str],
        label_words: LabelWords | Sequence[Sequence[str]] | Mapping[str, Any] | None = None,
        *,
        leading_space: LeadingSpace = "auto",
        use_mlm_transform: bool = True,
        seed: int = 0,
    ) -> None:
        super().__init__(list(classes))
        self.words = _word_lists(self.classes, label_words)
        self.leading_space = check_leading_space(leading_space)
        self.use_mlm_transform = bool(use_mlm_transform)
        self.seed = int(seed)
        self.transform: nn.Module | None = None
        self.head: nn.Linear | None = None
        self._kept: dict[str, int] = {}

    def _class_words(self) -> list[list[str]]:
        return self.words if self.words is not None else [[c] for c in self.classes]

    def prepare(self, tokenizer: Any, model: Any | None = None) -> SoftVerbalizer:
        """Build the transform and head from ``model`` (once; later calls change nothing)."""
        if self.head is not None:
            return self
        if model is None:
            raise ConfigError("SoftVerbalizer.prepare needs the masked LM (model=...)")
        hidden = int(model.config.hidden_size)
        transform = find_mlm_transform(model) if self.use_mlm_transform else None
        embeddings = model.get_output_embeddings()
        weight = embeddings.weight.detach().float().cpu()
        bias = getattr(embeddings, "bias", None)
        if bias is None:
            bias = getattr(getattr(getattr(model, "cls", None), "predictions", None), "bias", None)
        bias = None if bias is None else bias.detach().float().cpu()
        if weight.shape[1] != hidden and transform is None:
            weight = None  # e.g. a factorised output layer: no usable rows
        generator = torch.Generator().manual_seed(self.seed)
        rows, biases = [], []
        self._kept = {}
        for name, words in zip(self.classes, self._class_words(), strict=True):
            ids = [
                i for i in tokenize_words(tokenizer, words, leading_space=self.leading_space) if i
            ]
            self._kept[name] = len(ids) if weight is not None else 0
            if weight is None or not ids:
                dim = hidden if weight is None else weight.shape[1]
                rows.append(torch.randn(dim, generator=generator) * 0.02)
                biases.append(torch.zeros(()))
                continue
            rows.append(torch.stack([weight[list(t)].mean(dim=0) for t in ids]).mean(dim=0))
            biases.append(
                torch.zeros(())
                if bias is None
                else torch.stack([bias[list(t)].mean() for t in ids]).mean()
            )
        init = torch.stack(rows)
        head = nn.Linear(init.shape[1], self.num_classes)
        head.weight = nn.Parameter(init)
        head.bias = nn.Parameter(torch.stack(biases))
        device = next(model.parameters()).device
        self.transform = (transform if transform is not None else nn.Identity()).float().to(device)
        self.head = head.to(device)
        return self

    def forward(self, mask_inputs: torch.Tensor) -> torch.Tensor:
        """``(batch, num_masks, hidden)`` -> ``(batch, num_classes)`` log-probabilities."""
        if self.head is None or self.transform is None:
            raise RuntimeError("call SoftVerbalizer.prepare(tokenizer, model) before forward")
        if mask_inputs.dim() != 3:
            raise ValueError(f"expected (batch, num_masks, hidden), got {tuple(mask_inputs.shape)}")
        hidden = mask_inputs[:, 0, :].to(self.head.weight.dtype)
        return torch.log_softmax(self.head(self.transform(hidden)), dim=-1)

    def calibrate(self, mask_inputs: torch.Tensor) -> SoftVerbalizer:
        """Not supported: a trained head needs no calibration prior."""
        raise NotImplementedError(
            "SoftVerbalizer does not calibrate; use KnowledgeableVerbalizer or ManualVerbalizer"
        )

    def words_kept(self) -> dict[str, int]:
        """How many words of each class initialised its head row (after :meth:`prepare`)."""
        if self._kept:
            return dict(self._kept)
        return {c: len(ws) for c, ws in zip(self.classes, self._class_words(), strict=True)}

    def to_config(self) -> dict[str, Any]:
        """JSON-ready classes, words and options; the trained head is in ``state_dict()``."""
        return {
            "type": self.config_type,
            "classes": list(self.classes),
            "words": self.words,
            "leading_space": self.leading_space,
            "use_mlm_transform": self.use_mlm_transform,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> SoftVerbalizer:
        """Rebuild from :meth:`to_config` data (then ``prepare`` and ``load_state_dict``).

        Raises:
            ConfigError: an unknown key.
        """
        allowed = {"type", "classes", "words", "leading_space", "use_mlm_transform", "seed"}
        unknown = set(config) - allowed
        if unknown:
            raise ConfigError(
                f"unknown soft verbalizer keys {sorted(unknown)!r}; valid keys: {sorted(allowed)!r}"
            )
        return cls(
            config["classes"],
            config.get("words"),
            leading_space=config.get("leading_space", "auto"),
            use_mlm_transform=config.get("use_mlm_transform", True),
            seed=config.get("seed", 0),
        )
