"""OpenPrompt's ``openprompt.data_utils.utils``: :class:`InputExample` and :class:`InputFeatures`.

Both are also importable from :mod:`mrekv.openprompt.data_utils`, as in OpenPrompt.
"""

from __future__ import annotations

import copy
import json
from dataclasses import asdict, dataclass, field
from typing import Any

import torch

__all__ = ["InputExample", "InputFeatures"]


@dataclass
class InputExample:
    """One raw example, as OpenPrompt's ``InputExample``.

    Args:
        guid: a unique id (any JSON value).
        text_a: the first text.
        text_b: the second text (``""`` when absent).
        label: the class index, or None.
        meta: extra fields a template can read with ``{"meta": "<key>"}``.
        tgt_text: a target text (generation; unused by classification).

    Example:
        >>> InputExample(guid=0, text_a="a fine film", label=1).text_b
        ''
    """

    guid: Any = None
    text_a: str = ""
    text_b: str = ""
    label: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    tgt_text: str | list[str] | None = None

    def __post_init__(self) -> None:
        self.text_a = "" if self.text_a is None else self.text_a
        self.text_b = "" if self.text_b is None else self.text_b
        self.meta = {} if self.meta is None else self.meta

    def to_dict(self) -> dict[str, Any]:
        """A deep copy of the fields as a dict."""
        return copy.deepcopy(asdict(self))

    def to_json_string(self) -> str:
        """The fields as a JSON string."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    def keys(self, keep_none: bool = False) -> list[str]:
        """The field names (those not None unless ``keep_none``)."""
        return [k for k, v in asdict(self).items() if keep_none or v is not None]


class InputFeatures(dict):  # type: ignore[type-arg]
    """A batch (or one example) of tensors, read as ``batch["input_ids"]`` or ``batch.input_ids``.

    Example:
        >>> f = InputFeatures(input_ids=torch.tensor([[101, 102]]))
        >>> f.input_ids.shape
        torch.Size([1, 2])
    """

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def to(self, device: str | torch.device) -> InputFeatures:
        """This batch with every tensor moved to ``device`` (returns self)."""
        for key, value in self.items():
            if isinstance(value, torch.Tensor):
                self[key] = value.to(device)
        return self

    def cuda(self, device: int | str | None = None) -> InputFeatures:
        """This batch on the GPU (``device`` as ``torch.Tensor.cuda``)."""
        for key, value in self.items():
            if isinstance(value, torch.Tensor):
                self[key] = value.cuda(device)
        return self
