"""OpenPrompt's ``SoftVerbalizer``: a copy of the MLM head whose last linear layer maps to classes.

The head is a deep copy of the model's last child module (``cls`` for BERT,
``lm_head`` for RoBERTa) with its last linear layer (``predictions.decoder``)
replaced by ``Linear(hidden, C, bias=False)``; when that child is itself a
linear layer (GPT-2's ``lm_head``), the head is just the new layer. The class
logits are ``head(h_mask)``, not normalised.

The new layer starts as OpenPrompt's does:

* **without label words** it keeps ``torch``'s default random initialisation
  (drawn from the global RNG when the verbalizer is built, as in OpenPrompt), so
  ``SoftVerbalizer(tokenizer, plm, num_classes=4)`` scores ``(batch, 4)``;
* **with label words** row ``c`` is the mean, over the sub-tokens of class ``c``'s
  **first** label word, of the replaced layer's weight rows (the output
  embeddings). Only the first word is used, the multi-token handler is ignored
  and the output bias is not carried over.

``label_words_ids`` / ``label_words_mask`` have OpenPrompt's layout: ``(C, T)``,
one row per class holding the sub-token ids of its first word, padded with 0 to
the longest (``T = 1`` when every first word is one token), and the mask 1 at
real sub-tokens.

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
        model: the pretrained LM whose head is copied.
        classes: the class names.
        num_classes: the number of classes when ``classes`` is None.
        label_words: as for :class:`ManualVerbalizer`; only each class's first word
            is used, to initialise the class layer (None: random initialisation).
        prefix: put before each word.
        multi_token_handler: ignored (kept for OpenPrompt's signature).

    Raises:
        ConfigError: no model, neither classes, num_classes nor label words, no
            linear last layer in the model's head, or a first label word with no
            sub-token.

    Example:
        >>> v = SoftVerbalizer(tokenizer, plm, classes=["neg", "pos"],
        ...                    label_words=[["bad"], ["good"]])  # doctest: +SKIP
        >>> SoftVerbalizer(tokenizer, plm, num_classes=4).head_last_layer  # doctest: +SKIP
        Linear(in_features=768, out_features=4, bias=False)
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
        if self.num_classes is None and label_words is None:
            raise ConfigError("SoftVerbalizer needs classes, num_classes or label_words")
        head_name = [name for name, _ in model.named_children()][-1]
        original = getattr(model, head_name)
        path: list[str] = []
        last: nn.Module
        if isinstance(original, nn.Linear):
            last = original  # the head is the output layer itself: no copy needed
            self.head: nn.Module = nn.Identity()  # until the class layer is installed
        else:
            self.head = copy.deepcopy(original)
            last = self.head
            while list(last.named_children()) and not isinstance(last, nn.Linear):
                name = [n for n, _ in last.named_children()][-1]
                path.append(name)
                last = getattr(last, name)
            if not isinstance(last, nn.Linear):
                raise ConfigError(
                    f"the last layer of the model's head {head_name!r} is not a Linear layer"
                )
        self.head_last_layer_full_name = ".".join(path)
        self.original_head_last_layer = last.weight.detach()  # as OpenPrompt: no copy
        self.hidden_dims = last.in_features
        if self.num_classes is not None:
            # built (randomly initialised) now, as OpenPrompt does, even when label words
            # follow: the global RNG then moves exactly as under OpenPrompt
            self._install(self._new_layer(int(self.num_classes), init=True))
        if label_words is not None:
            self.label_words = label_words

    # ------------------------------------------------------------------ the class layer

    def _new_layer(self, num_classes: int, init: bool) -> nn.Linear:
        weight = self.original_head_last_layer
        if init:
            return nn.Linear(
                self.hidden_dims, num_classes, bias=False, device=weight.device, dtype=weight.dtype
            )
        return torch.nn.utils.skip_init(
            nn.Linear,
            self.hidden_dims,
            num_classes,
            bias=False,
            device=weight.device,
            dtype=weight.dtype,
        )

    def _install(self, layer: nn.Linear) -> None:
        if not self.head_last_layer_full_name:
            self.head = layer
            return
        *parents, name = self.head_last_layer_full_name.split(".")
        parent = self.head.get_submodule(".".join(parents)) if parents else self.head
        setattr(parent, name, layer)

    @property
    def head_last_layer(self) -> nn.Module:
        """The class layer ``Linear(hidden, num_classes, bias=False)``."""
        if not self.head_last_layer_full_name:
            return self.head
        return self.head.get_submodule(self.head_last_layer_full_name)

    @property
    def group_parameters_1(self) -> list[nn.Parameter]:
        """The copied head's parameters except its last layer (OpenPrompt's group 1)."""
        last = set(map(id, self.head_last_layer.parameters()))
        return [p for p in self.head.parameters() if id(p) not in last]

    @property
    def group_parameters_2(self) -> list[nn.Parameter]:
        """The class layer's parameters (OpenPrompt's group 2)."""
        return list(self.head_last_layer.parameters())

    def _set_words(self, lists: list[list[str]]) -> None:
        words = self.add_prefix(lists, self.prefix)
        ids = [self._ids(ws[0]) for ws in words]
        for c, t in enumerate(ids):
            if not t:
                raise ConfigError(
                    f"the first label word {words[c][0]!r} of class {self._class_name(c)!r} "
                    "has no sub-token"
                )
        self._label_words = words
        depth = max(len(t) for t in ids)
        device = self.label_words_ids.device
        tok = torch.tensor([t + [0] * (depth - len(t)) for t in ids], dtype=torch.long)
        mask = torch.tensor([[1] * len(t) + [0] * (depth - len(t)) for t in ids])
        self.label_words_ids = tok.to(device)
        self.label_words_mask = mask.to(device)
        self.words_ids_mask = self.label_words_mask  # the same token mask (no word axis here)
        weight = self.original_head_last_layer
        rows = weight[tok.to(weight.device)] * mask.to(weight).unsqueeze(-1)
        rows = rows.sum(dim=1) / mask.to(weight).sum(dim=-1, keepdim=True)
        layer = self.head_last_layer
        if not (isinstance(layer, nn.Linear) and layer.weight.shape == rows.shape):
            layer = self._new_layer(rows.shape[0], init=False)
            self._install(layer)
        assert isinstance(layer, nn.Linear)
        # in place, as OpenPrompt: an optimizer built earlier keeps the same parameter
        layer.weight.data = rows.to(layer.weight.device, layer.weight.dtype).clone()

    # ------------------------------------------------------------------ scoring

    def gather_outputs(self, outputs: Any) -> torch.Tensor:
        """The last hidden states from the model's outputs (the decoder's, for seq2seq)."""
        decoder = getattr(outputs, "decoder_hidden_states", None)
        if decoder is not None:
            return decoder[-1]  # type: ignore[no-any-return]
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

    def project(self, logits: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        """Not available: a SoftVerbalizer reads hidden states, not vocabulary logits.

        Raises:
            ConfigError: always.
        """
        raise ConfigError("SoftVerbalizer scores hidden states; use process_hiddens")

    def process_logits(self, logits: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        """Not available: a SoftVerbalizer reads hidden states, not vocabulary logits.

        Raises:
            ConfigError: always.
        """
        raise ConfigError("SoftVerbalizer scores hidden states; use process_hiddens")

    def register_calibrate_logits(self, logits: torch.Tensor) -> None:
        """Not supported: OpenPrompt's SoftVerbalizer has no calibration.

        Raises:
            ConfigError: always.
        """
        raise ConfigError("SoftVerbalizer does not calibrate")
