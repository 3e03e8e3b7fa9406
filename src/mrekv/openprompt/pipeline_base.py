"""OpenPrompt's ``PromptDataLoader``, ``PromptModel`` and ``PromptForClassification``.

:class:`PromptDataLoader` wraps and tokenises every example once (template +
tokenizer wrapper, :mod:`mrekv.openprompt.plms`), then cuts batches with
mrekv's batching (:func:`mrekv.prompt.batching.collate`): a batch is padded to
its longest example, not to ``max_seq_length`` as OpenPrompt does. The
padding is masked out, so the numbers agree to float rounding (a few 1e-6 on
the mask logits).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import torch
from torch import nn

from mrekv.errors import ConfigError
from mrekv.openprompt.data_utils import InputExample, InputFeatures
from mrekv.openprompt.plms.mlm import MLMTokenizerWrapper
from mrekv.openprompt.plms.utils import TokenizerWrapper
from mrekv.prompt.batching import collate


class PromptDataLoader:
    """Examples -> batches of :class:`~mrekv.openprompt.data_utils.InputFeatures`.

    Args:
        dataset: the examples.
        template: a template with ``wrap_one_example``.
        tokenizer_wrapper: a ready tokenizer wrapper (then ``tokenizer`` and the
            wrapper options are not needed).
        tokenizer: the model's tokenizer.
        verbalizer: unused (OpenPrompt's signature).
        tokenizer_wrapper_class: e.g. ``MLMTokenizerWrapper`` (from
            :func:`~mrekv.openprompt.plms.load_plm`).
        max_seq_length: the longest allowed input.
        batch_size: examples per batch.
        shuffle: a new random order (``torch``'s global RNG) on every pass.
        teacher_forcing: must be False (generation is not supported).
        truncate_method: ``"tail"``, ``"head"`` or ``"balanced"``.
        drop_last: drop a last, smaller batch.

    Raises:
        ConfigError: an example that cannot be encoded (the message names its index).

    Example:
        >>> loader = PromptDataLoader(dataset=examples, template=template, tokenizer=tokenizer,
        ...     tokenizer_wrapper_class=Wrapper, batch_size=4)  # doctest: +SKIP
    """

    def __init__(
        self,
        dataset: Sequence[InputExample],
        template: Any,
        tokenizer_wrapper: TokenizerWrapper | None = None,
        tokenizer: Any = None,
        tokenizer_wrapper_class: type[TokenizerWrapper] | None = None,
        verbalizer: Any = None,
        max_seq_length: int = 512,
        batch_size: int = 1,
        shuffle: bool = False,
        teacher_forcing: bool = False,
        decoder_max_length: int = -1,
        predict_eos_token: bool = False,
        truncate_method: str = "tail",
        drop_last: bool = False,
        **kwargs: Any,
    ) -> None:
        if teacher_forcing:
            raise ConfigError("teacher_forcing (generation) is not supported by mrekv.openprompt")
        if batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
        self.raw_dataset = list(dataset)
        self.template = template
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        if tokenizer_wrapper is None:
            if tokenizer is None:
                raise ConfigError("PromptDataLoader needs a tokenizer or a tokenizer_wrapper")
            tokenizer_wrapper = (tokenizer_wrapper_class or MLMTokenizerWrapper)(
                max_seq_length=max_seq_length,
                tokenizer=tokenizer,
                truncate_method=truncate_method,
                **kwargs,
            )
        self.tokenizer_wrapper = tokenizer_wrapper
        self.pad_id = int(tokenizer_wrapper.tokenizer.pad_token_id or 0)
        self.tensor_dataset: list[dict[str, Any]] = []
        for i, example in enumerate(self.raw_dataset):
            try:
                wrapped = template.wrap_one_example(example)
                features = self.tokenizer_wrapper.tokenize_one_example(wrapped, teacher_forcing)
            except ConfigError as err:
                raise ConfigError(f"example {i} (guid {example.guid!r}): {err}") from None
            length = sum(features["attention_mask"])
            features["input_ids"] = features["input_ids"][:length]
            features["loss_ids"] = features["loss_ids"][:length]
            self.tensor_dataset.append(features)

    def __len__(self) -> int:
        full, rest = divmod(len(self.tensor_dataset), self.batch_size)
        return full + (1 if rest and not self.drop_last else 0)

    def __iter__(self) -> Iterator[InputFeatures]:
        n = len(self.tensor_dataset)
        order = torch.randperm(n).tolist() if self.shuffle else list(range(n))
        for start in range(0, n, self.batch_size):
            indices = order[start : start + self.batch_size]
            if self.drop_last and len(indices) < self.batch_size:
                break
            yield self._batch(indices)

    def _batch(self, indices: list[int]) -> InputFeatures:
        feats = [self.tensor_dataset[i] for i in indices]
        masks = [[p for p, v in enumerate(f["loss_ids"]) if v == 1] for f in feats]
        if any(len(m) != len(masks[0]) for m in masks):
            raise ConfigError("every example of a batch needs the same number of masks")
        batch = collate(
            list(range(len(feats))),
            [f["input_ids"] for f in feats],
            self.pad_id,
            mask_positions=masks,
        )
        width = batch.input_ids.shape[1]
        loss_ids = torch.zeros_like(batch.input_ids)
        for row, f in enumerate(feats):
            loss_ids[row, : len(f["loss_ids"])] = torch.tensor(f["loss_ids"])
        out = InputFeatures(
            input_ids=batch.input_ids,
            attention_mask=batch.attention_mask,
            loss_ids=loss_ids[:, :width],
        )
        labels = [f.get("label") for f in feats]
        if all(label is not None for label in labels):
            out["label"] = torch.tensor(labels, dtype=torch.long)
        out["guid"] = [f.get("guid") for f in feats]
        return out


class PromptModel(nn.Module):
    """The pretrained model run on a batch of prompts.

    Args:
        plm: the pretrained LM.
        template: the template.
        freeze_plm: set ``requires_grad=False`` on the model's parameters.
        plm_eval_mode: also keep the model in eval mode (no dropout) while training.

    Example:
        >>> model = PromptModel(plm, template)  # doctest: +SKIP
    """

    def __init__(
        self,
        plm: nn.Module,
        template: nn.Module,
        freeze_plm: bool = False,
        plm_eval_mode: bool = False,
    ) -> None:
        super().__init__()
        self.plm = plm
        self.template = template
        self.freeze_plm = freeze_plm
        self.plm_eval_mode = plm_eval_mode
        if freeze_plm or plm_eval_mode:
            for p in self.plm.parameters():
                p.requires_grad = False

    def train(self, mode: bool = True) -> PromptModel:
        """Train mode, except for the model with ``plm_eval_mode``."""
        super().train(mode)
        if self.plm_eval_mode:
            self.plm.train(False)
        return self

    def forward(self, batch: Any) -> Any:
        """The model's outputs (logits and hidden states) on ``batch``."""
        return self.plm(
            input_ids=batch["input_ids"],
            attention_mask=batch["attention_mask"],
            output_hidden_states=True,
        )


def extract_at_mask(outputs: torch.Tensor, batch: Any) -> torch.Tensor:
    """Rows of ``outputs`` ``(batch, seq, d)`` at ``loss_ids == 1``: ``(batch, d)`` for one mask."""
    positions = batch["loss_ids"] > 0
    counts = positions.sum(dim=1)
    if not bool((counts == counts[0]).all()) or int(counts[0]) == 0:
        raise ConfigError("every example needs the same number (>= 1) of masks")
    selected = outputs[positions].view(outputs.shape[0], int(counts[0]), outputs.shape[-1])
    return selected[:, 0, :] if int(counts[0]) == 1 else selected


class PromptForClassification(nn.Module):
    """Template + pretrained model + verbalizer: class scores for a batch.

    Args:
        plm: the pretrained LM.
        template: the template.
        verbalizer: a verbalizer of :mod:`mrekv.openprompt.prompts`.
        freeze_plm: do not train the model's parameters.
        plm_eval_mode: keep the model in eval mode while training.

    Example:
        >>> model = PromptForClassification(plm, template, verbalizer)  # doctest: +SKIP
        >>> logits = model(batch)  # (batch, num_classes)  # doctest: +SKIP
    """

    def __init__(
        self,
        plm: nn.Module,
        template: nn.Module,
        verbalizer: nn.Module,
        freeze_plm: bool = False,
        plm_eval_mode: bool = False,
    ) -> None:
        super().__init__()
        self.prompt_model = PromptModel(plm, template, freeze_plm, plm_eval_mode)
        self.verbalizer: Any = verbalizer

    @property
    def plm(self) -> nn.Module:
        """The pretrained model."""
        return self.prompt_model.plm

    @property
    def template(self) -> nn.Module:
        """The template."""
        return self.prompt_model.template

    @property
    def device(self) -> torch.device:
        """The device of the model's parameters."""
        return next(self.plm.parameters()).device

    def forward(self, batch: Any) -> torch.Tensor:
        """``(batch, num_classes)`` class scores."""
        outputs = self.verbalizer.gather_outputs(self.prompt_model(batch))
        if isinstance(outputs, tuple):
            outputs = outputs[0]
        scores: torch.Tensor = self.verbalizer.process_outputs(
            extract_at_mask(outputs, batch), batch=batch
        )
        return scores

    def forward_without_verbalize(self, batch: Any) -> torch.Tensor:
        """``(batch, vocab)`` logits at the mask."""
        return extract_at_mask(self.prompt_model(batch).logits, batch)
