"""OpenPrompt's ``MixedTemplate``: hard text and trainable soft tokens in one template.

The language is :class:`~mrekv.openprompt.prompts.ManualTemplate`'s plus soft blocks:

* ``{"soft"}`` (or ``{"soft": None}``): one new soft token, randomly initialised
  (``nn.Embedding``'s default, N(0, 1), as OpenPrompt);
* ``{"soft": "It was"}``: one soft token per sub-token of ``add_prefix_space + "It was"``,
  each initialised from that sub-token's input embedding;
* ``{"soft": None, "duplicate": n}``: ``n`` new random soft tokens, or one token
  used ``n`` times with ``"same": True``;
* ``"soft_id": k`` (an int > 0) names a block's soft tokens; a later block with the
  same ``soft_id`` (e.g. ``{"soft_id": 1}``) reuses them (the same embeddings).

Soft tokens are numbered 1, 2, ... in order of first use (``soft_token_ids``, 0 for
hard pieces); e.g. ``{"soft": None} {"soft": "the", "soft_id": 1} {"soft": None}
{"soft": "it", "soft_id": 3} {"soft_id": 1} {"soft": "was"} {"mask"}`` (with one
sub-token per word) gives ``[1, 2, 3, 4, 2, 5, 0]``. The tokenizer wrappers encode a
soft token as the placeholder id 0 and carry ``soft_token_ids`` in the features;
:meth:`MixedTemplate.process_batch` then replaces those positions' input embeddings
by rows of :attr:`MixedTemplate.soft_embedding` (``nn.Embedding(1 + n, hidden)``),
so the model is called with ``inputs_embeds``.

``model.get_input_embeddings()`` is kept as the submodule ``raw_embedding``, as in
OpenPrompt, so ``template.named_parameters()`` lists it: optimise
``[p for n, p in template.named_parameters() if "raw_embedding" not in n]`` to
train only the soft tokens.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from mrekv.errors import ConfigError
from mrekv.openprompt.data_utils import InputExample, InputFeatures
from mrekv.openprompt.prompts.manual_template import _KEYS, ManualTemplate

SOFT_KEYS = ("soft", "soft_id", "duplicate", "same")


def expand_soft_pieces(
    pieces: list[dict[str, Any]], tokenize: Any
) -> tuple[list[dict[str, Any]], dict[int, int], int]:
    """Expand the soft blocks of parsed pieces into one piece per soft token (module docstring).

    Args:
        pieces: parsed template pieces.
        tokenize: ``text -> (token ids, surface forms)`` for word-initialised soft tokens.

    Returns:
        ``(pieces, init, n)``: the pieces, each with ``soft_token_ids`` (0 for hard
        pieces); soft id -> the vocabulary id whose embedding initialises it; the
        number of soft tokens.

    Raises:
        ConfigError: a ``soft_id`` that is not an int > 0, a bad ``duplicate``, or
            soft text that tokenizes to nothing.

    Example:
        >>> tok = lambda text: ([7], [text.strip()])
        >>> out, init, n = expand_soft_pieces(
        ...     [{"soft": None}, {"soft": "the", "soft_id": 1, "add_prefix_space": " "},
        ...      {"soft_id": 1}, {"mask": None}], tok)
        >>> [p["soft_token_ids"] for p in out], init, n
        ([1, 2, 2, 0], {2: 7}, 2)
    """
    out: list[dict[str, Any]] = []
    init: dict[int, int] = {}
    named: dict[int, list[int]] = {}
    count = 0
    for piece in pieces:
        if "soft" not in piece and "soft_id" not in piece:
            out.append({**piece, "soft_token_ids": 0})
            continue
        name = piece.get("soft_id")
        if name is not None:
            if not isinstance(name, int) or isinstance(name, bool) or name <= 0:
                raise ConfigError(f"soft_id must be an integer > 0, got {name!r} in {piece!r}")
            if name in named:
                out.extend({"soft": "", "soft_token_ids": i} for i in named[name])
                continue
        soft = piece.get("soft")
        if soft is None:
            times = piece.get("duplicate", 1)
            if not isinstance(times, int) or isinstance(times, bool) or times < 1:
                raise ConfigError(f"duplicate must be an integer >= 1, got {times!r} in {piece!r}")
            if piece.get("same", False):
                ids = [count + 1] * times
                count += 1
            else:
                ids = list(range(count + 1, count + times + 1))
                count += times
            out.extend({"soft": "", "soft_token_ids": i} for i in ids)
        else:
            token_ids, surfaces = tokenize(piece.get("add_prefix_space", "") + str(soft))
            if not token_ids:
                raise ConfigError(f"soft text {soft!r} tokenizes to no token")
            ids = list(range(count + 1, count + len(token_ids) + 1))
            count += len(token_ids)
            init.update(zip(ids, token_ids, strict=True))
            out.extend(
                {"soft": surface, "soft_token_ids": i}
                for i, surface in zip(ids, surfaces, strict=True)
            )
        if name is not None:
            named[name] = ids
    return out, init, count


class MixedTemplate(ManualTemplate):
    """OpenPrompt's ``MixedTemplate`` (the soft-token language is in the module docstring).

    Args:
        model: the pretrained model (its input embeddings initialise the soft tokens).
        tokenizer: the model's tokenizer.
        text: the template string.
        placeholder_mapping: template placeholder -> example field.

    Raises:
        ConfigError: a malformed template (see :func:`expand_soft_pieces`).

    Example:
        >>> t = MixedTemplate(model=plm, tokenizer=tokenizer,
        ...     text='{"placeholder":"text_a"} {"soft": "It was"} {"mask"}.')  # doctest: +SKIP
        >>> t.soft_token_ids  # doctest: +SKIP
        [0, 1, 2, 0, 0]
    """

    registered_inputflag_names = ["soft_token_ids", "loss_ids", "shortenable_ids"]
    template_keys = (*_KEYS, *SOFT_KEYS)

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        text: str | list[dict[str, Any]] | None = None,
        placeholder_mapping: dict[str, str] | None = None,
    ) -> None:
        super().__init__(tokenizer=tokenizer, placeholder_mapping=placeholder_mapping)
        self.raw_embedding: nn.Embedding = model.get_input_embeddings()
        self.embedding_size = int(self.raw_embedding.weight.shape[-1])
        self.soft_token_ids: list[int] = []
        self.num_soft_token = 0
        if text is not None:
            self.text = text  # type: ignore[assignment]

    def on_text_set(self, pieces: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Expand the soft blocks and build fresh soft-token parameters."""
        expanded, init, count = expand_soft_pieces(pieces, self._tokenize_soft)
        self.soft_token_ids = [p["soft_token_ids"] for p in expanded]
        self.num_soft_token = count
        self.generate_parameters(init)
        return expanded

    def _tokenize_soft(self, text: str) -> tuple[list[int], list[str]]:
        ids = list(self.tokenizer(text, add_special_tokens=False)["input_ids"])
        return ids, list(self.tokenizer.convert_ids_to_tokens(ids))

    def generate_parameters(self, init: dict[int, int]) -> None:
        """Set ``soft_embedding``; row ``i`` is soft token ``i``, copied as ``init`` says."""
        weight = self.raw_embedding.weight
        embedding = nn.Embedding(1 + self.num_soft_token, self.embedding_size)
        embedding = embedding.to(device=weight.device, dtype=weight.dtype)
        with torch.no_grad():
            for soft_id, token_id in init.items():
                embedding.weight[soft_id] = weight[token_id]
        self.soft_embedding = embedding

    def get_default_soft_token_ids(self) -> list[int]:
        """The soft id of every piece (0 for hard pieces), as OpenPrompt's method."""
        return list(self.soft_token_ids)

    def _fill(self, piece: dict[str, Any], example: InputExample) -> str:
        if "soft" in piece:
            return str(piece["soft"])
        return super()._fill(piece, example)

    def _soft_ids(self, batch: InputFeatures) -> torch.Tensor:
        soft = batch.get("soft_token_ids")
        if soft is None:
            raise ConfigError(
                "the batch has no soft_token_ids: build the PromptDataLoader with this template"
            )
        return soft  # type: ignore[no-any-return]

    def process_batch(self, batch: InputFeatures) -> InputFeatures:
        """``input_ids`` -> ``inputs_embeds`` with the soft tokens' embeddings at their positions.

        Returns:
            A new batch (the given one is not modified) whose ``input_ids`` is None and
            whose ``inputs_embeds`` is ``(batch, seq, hidden)``.
        """
        embeds = self.raw_embedding(batch["input_ids"])
        soft = self._soft_ids(batch)
        embeds = torch.where((soft > 0).unsqueeze(-1), self.soft_embedding(soft), embeds)
        out = InputFeatures(batch)
        out["input_ids"] = None
        out["inputs_embeds"] = embeds
        return out
