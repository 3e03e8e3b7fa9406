"""The verbalizer interface: masked-LM outputs at the mask position(s) -> class scores.

Every verbalizer is a ``torch.nn.Module`` with the same shape, so the prompt
classifier can use any of them:

* ``input_kind`` says what the classifier must feed ``forward``: ``"logits"``
  (the MLM's vocabulary logits at the mask positions, shape
  ``(batch, num_masks, vocab_size)``) or ``"hidden"`` (the last hidden states at
  the mask positions, shape ``(batch, num_masks, hidden_size)``).
* ``prepare(tokenizer, model)`` tokenizes the label words once (and, for the
  soft verbalizer, reads the model's output embeddings). It must be called
  before ``forward``; calling it again with the same tokenizer changes nothing
  learned.
* ``num_masks`` is how many ``[MASK]`` tokens the template must hold for one
  ``{mask}`` slot (1 unless the multi-mask mode is used).
* ``forward(mask_inputs)`` returns class scores of shape ``(batch, num_classes)``
  in log space (higher is better); ``softmax`` of them gives probabilities and
  ``cross_entropy`` trains them.
* ``to_config()`` gives everything needed to rebuild it (label words, learned
  word weights, calibration prior, options) as JSON-ready data, and
  :func:`mrekv.verbalizer.registry.verbalizer_from_config` rebuilds it from
  the ``type`` a subclass names in ``config_type``.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import torch
from torch import nn

InputKind = Literal["logits", "hidden"]


class Verbalizer(nn.Module):
    """Base class of every verbalizer (see the module docstring for the contract)."""

    input_kind: ClassVar[InputKind] = "logits"
    #: the ``type`` written in configs (see :mod:`mrekv.verbalizer.registry`).
    config_type: ClassVar[str] = ""

    def __init__(self, classes: tuple[str, ...] | list[str]) -> None:
        super().__init__()
        self.classes: tuple[str, ...] = tuple(classes)

    @property
    def num_classes(self) -> int:
        """How many classes the verbalizer scores."""
        return len(self.classes)

    @property
    def num_masks(self) -> int:
        """How many mask tokens one ``{mask}`` slot of the template must hold (1 by default)."""
        return 1

    def prepare(self, tokenizer: Any, model: Any | None = None) -> Verbalizer:
        """Tokenize the label words with ``tokenizer``; return self."""
        raise NotImplementedError

    def forward(self, mask_inputs: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        """(batch, num_masks, vocab_size or hidden_size) -> (batch, num_classes) log-scores."""
        raise NotImplementedError

    def calibrate(self, mask_inputs: torch.Tensor) -> Verbalizer:
        """Set a calibration prior from unlabeled texts' mask inputs; return self.

        Raises:
            NotImplementedError: this verbalizer has no calibration.
        """
        raise NotImplementedError(f"{type(self).__name__} does not support calibration")

    def words_kept(self) -> dict[str, int]:
        """How many label words each class uses (after tokenization and refinement)."""
        raise NotImplementedError

    def to_config(self) -> dict[str, Any]:
        """JSON-ready data that ``verbalizer_from_config`` turns back into this verbalizer."""
        raise NotImplementedError

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Verbalizer:
        """Rebuild a verbalizer from :meth:`to_config` data."""
        raise NotImplementedError

