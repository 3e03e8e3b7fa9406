"""Running the OpenPrompt golden cases (../shared/openprompt-golden) through mrekv.openprompt."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mrekv.errors import ConfigError
from mrekv.openprompt import PromptDataLoader, PromptForClassification
from mrekv.openprompt.data_utils import InputExample
from mrekv.openprompt.plms import MLMTokenizerWrapper
from mrekv.openprompt.prompts import (
    KnowledgeableVerbalizer,
    ManualTemplate,
    ManualVerbalizer,
    SoftVerbalizer,
)
from mrekv.openprompt.utils.calibrate import calibrate

GOLDEN = Path(__file__).resolve().parents[2].parent / "shared" / "openprompt-golden"

#: OpenPrompt's exception (where it crashed or called exit()) -> the mrekv error raised instead.
ERROR_KINDS: dict[str, type[BaseException]] = {
    "SystemExit": ConfigError,
    "RuntimeError": ConfigError,
    "KeyError": ConfigError,
    "IndexError": ConfigError,
    "ValueError": ConfigError,
}
#: What mrekv's message must mention, by OpenPrompt's exception.
ERROR_MESSAGES: dict[str, str] = {
    "SystemExit": "not a Python literal",
    "RuntimeError": 'no {"mask"}',
    "KeyError": "no meta key",
    "IndexError": "truncate_method|more than one label word",
    "ValueError": "max_seq_length|names the classes|drops every label word|cuts every label word",
}
#: Cases where OpenPrompt fails and mrekv deliberately works (documented deviations).
FIXED = {"manual_cal/error/backward_after_calibration", "kv/error/label_words_in_constructor"}

#: kind -> field -> largest |actual - expected| seen (reported at the end of the run).
MAX_DIFF: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))


def load_cases() -> list[dict[str, Any]]:
    path = GOLDEN / "cases.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def close(
    kind: str, field: str, actual: Any, expected: Any, tol: float, rtol: float | None = None
) -> None:
    """Assert ``actual`` ~ ``expected`` (atol = tol, rtol = rtol or tol); record the difference."""
    a = np.asarray(
        torch.as_tensor(actual).detach().cpu().numpy()
        if isinstance(actual, torch.Tensor)
        else actual,
        dtype=np.float64,
    )
    e = np.asarray(expected, dtype=np.float64)
    assert a.shape == e.shape, f"{field}: shape {a.shape} != {e.shape}"
    diff = float(np.max(np.abs(a - e))) if a.size else 0.0
    MAX_DIFF[kind][field] = max(MAX_DIFF[kind][field], diff)
    np.testing.assert_allclose(a, e, atol=tol, rtol=tol if rtol is None else rtol, err_msg=field)


def examples(rows: list[dict[str, Any]]) -> list[InputExample]:
    return [
        InputExample(
            guid=i,
            text_a=r.get("text_a", ""),
            text_b=r.get("text_b", ""),
            meta=r.get("meta", {}),
            label=r.get("label"),
        )
        for i, r in enumerate(rows)
    ]


def unprefixed(words: list[list[str]]) -> list[list[str]]:
    return [[w[1:] if w.startswith(" ") else w for w in ws] for ws in words]


class Runner:
    """The model, tokenizer and helpers shared by the cases."""

    def __init__(self, plm: Any, tokenizer: Any) -> None:
        self.plm = plm
        self.tok = tokenizer

    def loader(
        self, inputs: dict[str, Any], rows: list[dict[str, Any]], batch_size: int = 4
    ) -> PromptDataLoader:
        wrapper = inputs["wrapper"]
        return PromptDataLoader(
            dataset=examples(rows),
            template=ManualTemplate(self.tok, text=inputs["template"]["text"]),
            tokenizer=self.tok,
            tokenizer_wrapper_class=MLMTokenizerWrapper,
            max_seq_length=wrapper["max_seq_length"],
            batch_size=batch_size,
            shuffle=False,
            truncate_method=wrapper["truncate_method"],
        )

    def model(
        self, inputs: dict[str, Any], verbalizer: Any, plm: Any = None
    ) -> PromptForClassification:
        return PromptForClassification(
            plm=plm if plm is not None else self.plm,
            template=ManualTemplate(self.tok, text=inputs["template"]["text"]),
            verbalizer=verbalizer,
        )

    def classify(
        self,
        inputs: dict[str, Any],
        verbalizer: Any,
        rows: list[dict[str, Any]] | None = None,
        plm: Any = None,
    ) -> torch.Tensor:
        model = self.model(inputs, verbalizer, plm).eval()
        with torch.no_grad():
            return torch.cat([model(b) for b in self.loader(inputs, rows or inputs["examples"])])

    def support_logits(self, inputs: dict[str, Any], verbalizer: Any) -> torch.Tensor:
        return calibrate(
            self.model(inputs, verbalizer), self.loader(inputs, inputs["support_examples"])
        )

    def manual(self, spec: dict[str, Any]) -> ManualVerbalizer:
        return ManualVerbalizer(
            self.tok,
            classes=spec["classes"],
            label_words=spec["label_words"],
            prefix=spec.get("prefix", " "),
            multi_token_handler=spec.get("multi_token_handler", "first"),
            post_log_softmax=spec.get("post_log_softmax", True),
        )

    def knowledgeable(
        self, spec: dict[str, Any], label_words: Any = None
    ) -> KnowledgeableVerbalizer:
        v = KnowledgeableVerbalizer(
            self.tok,
            classes=spec["classes"],
            prefix=spec.get("prefix", " "),
            multi_token_handler=spec.get("multi_token_handler", "first"),
            candidate_frac=spec.get("candidate_frac", 0.5),
            max_token_split=spec.get("max_token_split", -1),
            pred_temp=spec.get("pred_temp", 1.0),
        )
        v.label_words = spec["label_words"] if label_words is None else label_words
        return v

    def soft(self, spec: dict[str, Any], plm: Any = None) -> SoftVerbalizer:
        return SoftVerbalizer(
            self.tok,
            model=plm if plm is not None else self.plm,
            classes=spec["classes"],
            label_words=spec["label_words"],
            prefix=spec.get("prefix", " "),
        )

    @staticmethod
    def set_weights(v: KnowledgeableVerbalizer, weights: list[list[float]]) -> None:
        v.label_words_weights.data = torch.tensor(weights, dtype=torch.float32)
