"""OpenPrompt's ``PromptDataLoader``, ``PromptModel`` and ``PromptForClassification``.

:class:`PromptDataLoader` wraps and tokenises every example once (template +
tokenizer wrapper, :mod:`mrekv.openprompt.plms`) and stacks the features into
batches. As OpenPrompt, every tensor keeps the wrapper's padding to
``max_seq_length`` (and, for T5, to ``decoder_max_length``);
``padding="longest"`` instead cuts a batch to its longest example (the padding is
masked out, so the numbers agree to float rounding, a few 1e-6 on the mask logits).

:class:`PromptModel` runs the template's ``process_batch`` (soft templates turn
``input_ids`` into ``inputs_embeds`` or add a prefix cache), calls the model with
the inputs it understands and hands the outputs to the template's
``post_processing_outputs``. :class:`PromptForClassification` reads the outputs at
``loss_ids == 1``: the mask of a masked LM, the token before it for a causal LM,
the sentinel of the decoder input for T5.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Literal, get_args

import torch
from torch import nn

from mrekv.errors import ConfigError, unknown_choice
from mrekv.openprompt.data_utils import InputExample, InputFeatures
from mrekv.openprompt.plms.mlm import MLMTokenizerWrapper
from mrekv.openprompt.plms.utils import TokenizerWrapper

Padding = Literal["max_length", "longest"]
PADDINGS: tuple[str, ...] = get_args(Padding)
#: Per-token features of the encoder input (cut together by ``padding="longest"``).
ENCODER_FIELDS = ("input_ids", "attention_mask", "soft_token_ids", "token_type_ids")
#: Every per-token feature a tokenizer wrapper may produce.
TOKEN_FIELDS = (*ENCODER_FIELDS, "loss_ids", "decoder_input_ids")
#: Batch keys that :class:`PromptModel` passes to the model when they are set.
MODEL_INPUTS = (
    "input_ids",
    "inputs_embeds",
    "attention_mask",
    "position_ids",
    "decoder_input_ids",
    "cache",
    "past_key_values",
)


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
        decoder_max_length: the decoder input's length for T5 wrappers (< 1: as short
            as it can be).
        predict_eos_token: also read the decoder's ``</s>`` (T5 wrappers).
        truncate_method: ``"tail"``, ``"head"`` or ``"balanced"``.
        drop_last: drop a last, smaller batch.
        padding: ``"max_length"`` (OpenPrompt: every example padded to
            ``max_seq_length``) or ``"longest"`` (a batch cut to its longest example).

    Raises:
        ConfigError: an unknown ``padding``, or an example that cannot be encoded (the
            message names its index).

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
        padding: str = "max_length",
        **kwargs: Any,
    ) -> None:
        if padding not in PADDINGS:
            raise ConfigError(unknown_choice("padding", padding, PADDINGS))
        if teacher_forcing:
            raise ConfigError("teacher_forcing (generation) is not supported by mrekv.openprompt")
        if batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
        self.raw_dataset = list(dataset)
        self.template = template
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.padding = padding
        if tokenizer_wrapper is None:
            if tokenizer is None:
                raise ConfigError("PromptDataLoader needs a tokenizer or a tokenizer_wrapper")
            tokenizer_wrapper = (tokenizer_wrapper_class or MLMTokenizerWrapper)(
                max_seq_length=max_seq_length,
                tokenizer=tokenizer,
                truncate_method=truncate_method,
                decoder_max_length=decoder_max_length,
                predict_eos_token=predict_eos_token,
                **kwargs,
            )
        self.tokenizer_wrapper = tokenizer_wrapper
        self.tensor_dataset: list[dict[str, Any]] = []
        for i, example in enumerate(self.raw_dataset):
            try:
                wrapped = template.wrap_one_example(example)
                features = self.tokenizer_wrapper.tokenize_one_example(wrapped, teacher_forcing)
            except ConfigError as err:
                raise ConfigError(f"example {i} (guid {example.guid!r}): {err}") from None
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
        masks = [sum(1 for v in f["loss_ids"] if v == 1) for f in feats]
        if any(m != masks[0] for m in masks):
            raise ConfigError("every example of a batch needs the same number of masks")
        out = InputFeatures()
        for key in TOKEN_FIELDS:
            if key in feats[0]:
                out[key] = torch.tensor([f[key] for f in feats], dtype=torch.long)
        if self.padding == "longest":
            width = int(out["attention_mask"].sum(dim=1).max())
            for key in ENCODER_FIELDS:
                if key in out:
                    out[key] = out[key][:, :width]
            if "decoder_input_ids" not in out:  # loss_ids are the encoder's
                out["loss_ids"] = out["loss_ids"][:, :width]
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

    template: Any  # a ManualTemplate or one of the soft templates (process_batch hooks)

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
        """The model's outputs (logits and hidden states) on ``batch``.

        The template's ``process_batch`` prepares the inputs (the batch itself is not
        modified) and its ``post_processing_outputs`` sees the outputs.
        """
        inputs = self.template.process_batch(batch)
        kwargs = {k: inputs[k] for k in MODEL_INPUTS if inputs.get(k) is not None}
        outputs = self.plm(**kwargs, output_hidden_states=True)
        return self.template.post_processing_outputs(outputs)


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

    def parallelize(self, device_map: Any = None) -> None:
        """Spread the model over several GPUs with its own ``parallelize``, as OpenPrompt does.

        Raises:
            NotImplementedError: the model has no ``parallelize`` (as in OpenPrompt);
                transformers 5 removed it from every model: load the model with
                ``device_map="auto"`` instead.
        """
        parallelize = getattr(self.plm, "parallelize", None)
        if not callable(parallelize):
            raise NotImplementedError(
                f"{type(self.plm).__name__} has no parallelize() (transformers 5 removed "
                "model parallelism from its models); load the model with device_map='auto' "
                "to spread it over several GPUs"
            )
        parallelize(device_map)
        self.device_map = getattr(self.plm, "device_map", device_map)

    def deparallelize(self) -> None:
        """Undo :meth:`parallelize` (the model's own ``deparallelize``)."""
        deparallelize = getattr(self.plm, "deparallelize", None)
        if not callable(deparallelize):
            raise NotImplementedError(f"{type(self.plm).__name__} has no deparallelize()")
        deparallelize()
        self.device_map = None
