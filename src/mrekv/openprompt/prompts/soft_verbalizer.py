"""OpenPrompt's ``SoftVerbalizer``: a copy of the MLM head whose last linear layer maps to classes.

The head is a deep copy of the model's last child module (``cls`` for BERT,
``lm_head`` for RoBERTa) with its last linear layer (``predictions.decoder``)
replaced by ``Linear(hidden, C, bias=False)``. Row ``c`` is the mean, over the
sub-tokens of class ``c``'s **first** label word, of that layer's weight rows
(the output embeddings). Only the first word is used, the multi-token handler
is ignored and the output bias is not carried over, as in OpenPrompt; the class
logits are ``head(h_mask)``, not normalised.

mrekv's native :class:`~mrekv.verbalizer.soft.SoftVerbalizer` instead averages
all words of a class, keeps the output bias and returns log-probabilities.
Both reuse the same trick, a copied MLM transform in front of a class head.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from mrekv.errors import ConfigError
from mrekv.openprompt.prompts.manual_verbalizer import ManualVerbalizer


class SoftVerbalizer(ManualVerbalizer):
    """OpenPrompt's ``SoftVerbalizer`` (module docstring).

    Args:
        tokenizer: the model's tokenizer.
        model: the pretrained masked LM whose head is copied.
        classes: the class names.
        num_classes: the number of classes when ``classes`` is None.
        label_words: as for :class:`ManualVerbalizer`; only each class's first word is used.
        prefix: put before each word.
        multi_token_handler: ignored (kept for OpenPrompt's signature).

    Raises:
        ConfigError: no model, or no linear last layer found in its head.

    Example:
        >>> v = SoftVerbalizer(tokenizer, plm, classes=["neg", "pos"],
        ...                    label_words=[["bad"], ["good"]])  # doctest: +SKIP
    """

    def __init__(
        self,
        tokenizer: Any = None,
        model: Any = None,
        classes: Sequence[Any] | None = None,
        num_classes: int | None = None,
        label_words: Any = None,
        prefix: str = " ",
        multi_token_handler: str = "first",
    ) -> None:
        if model is None:
            raise ConfigError("SoftVerbalizer needs the pretrained model (model=...)")
        super().__init__(
            tokenizer,
            classes=classes,
            num_classes=num_classes,
            prefix=prefix,
            multi_token_handler=multi_token_handler,
        )
        head_name = [name for name, _ in model.named_children()][-1]
        self.head: nn.Module = copy.deepcopy(getattr(model, head_name))
        path: list[str] = []
        parent, module = self.head, self.head
        while list(module.named_children()):
            name = [n for n, _ in module.named_children()][-1]
            path.append(name)
            parent, module = module, getattr(module, name)
        if not isinstance(module, nn.Linear) or module is self.head:
            raise ConfigError(
                f"the last layer of the model's head {head_name!r} is not a Linear layer"
            )
        self.head_last_layer_full_name = ".".join(path)
        self._head_parent = [parent]  # a list, so that nn.Module does not register it twice
        self.original_head_last_layer = module.weight.detach().clone()
        self.hidden_dims = module.in_features
        if label_words is not None:
            self.label_words = label_words

    @property
    def group_parameters_1(self) -> list[nn.Parameter]:
        """The copied head's parameters except its last layer (OpenPrompt's group 1)."""
        last = set(map(id, self.head_last_layer.parameters()))
        return [p for p in self.head.parameters() if id(p) not in last]

    @property
    def group_parameters_2(self) -> list[nn.Parameter]:
        """The new last layer's parameters (OpenPrompt's group 2)."""
        return list(self.head_last_layer.parameters())

    @property
    def head_last_layer(self) -> nn.Module:
        """The class layer ``Linear(hidden, num_classes, bias=False)``."""
        return getattr(self._head_parent[0], self.head_last_layer_full_name.split(".")[-1])  # type: ignore[no-any-return]

    def _set_words(self, lists: list[list[str]]) -> None:
        words = self.add_prefix(lists, self.prefix)
        self._label_words = words
        self._tensorize([[self._ids(ws[0])] for ws in words])
        ids, mask = self.label_words_ids[:, 0, :], self.words_ids_mask[:, 0, :]
        weight = self.original_head_last_layer.to(ids.device)
        rows = (weight[ids] * mask.unsqueeze(-1).to(weight.dtype)).sum(dim=1)
        rows = rows / mask.sum(dim=-1, keepdim=True).to(weight.dtype)
        layer = nn.Linear(self.hidden_dims, rows.shape[0], bias=False).to(weight.device)
        layer.weight = nn.Parameter(rows.clone(), requires_grad=True)
        setattr(self._head_parent[0], self.head_last_layer_full_name.split(".")[-1], layer)

    def gather_outputs(self, outputs: Any) -> torch.Tensor:
        """The last hidden states from the model's outputs."""
        return outputs.hidden_states[-1]  # type: ignore[no-any-return]

    def process_hiddens(self, hiddens: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        """``(batch, hidden)`` at the mask -> ``(batch, num_classes)`` logits."""
        return self.head(hiddens)  # type: ignore[no-any-return]

    def process_outputs(
        self, outputs: torch.Tensor, batch: Any = None, **kwargs: Any
    ) -> torch.Tensor:
        """The class logits from the hidden states at the mask (OpenPrompt's hook)."""
        return self.process_hiddens(outputs)

    def forward(self, hiddens: torch.Tensor) -> torch.Tensor:
        """Same as :meth:`process_hiddens`."""
        return self.process_hiddens(hiddens)

    def register_calibrate_logits(self, logits: torch.Tensor) -> None:
        """Not supported: OpenPrompt's SoftVerbalizer has no calibration.

        Raises:
            ConfigError: always.
        """
        raise ConfigError("SoftVerbalizer does not calibrate")
