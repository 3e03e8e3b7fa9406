"""API shapes that OpenPrompt's own tutorial scripts and template files use (issue 19)."""

from __future__ import annotations

from pathlib import Path

import pytest
from torch import nn

from mrekv.errors import ConfigError
from mrekv.openprompt import PromptForClassification
from mrekv.openprompt.data_utils import InputExample
from mrekv.openprompt.prompts import ManualTemplate
from mrekv.openprompt.prompts.manual_template import parse_template


def _texts(template: ManualTemplate, example: InputExample) -> list[str]:
    pieces, _ = template.wrap_one_example(example)
    return [p["text"] for p in pieces]


def test_post_processing_written_as_a_lambda_in_the_block():
    # OpenPrompt evaluates each block, so its template files write the lambda as code.
    text = (
        '{"placeholder":"text_b","post_processing": lambda x:x+"!"} then '
        '{"placeholder":"text_a"} {"mask"}'
    )
    pieces = parse_template(text)
    assert pieces[0]["post_processing"] == 'lambda x:x+"!"'
    template = ManualTemplate(None, text=text)
    example = InputExample(guid=0, text_a="first", text_b="second")
    assert _texts(template, example) == ["second!", " then", " first", "<mask>"]


def test_lambda_block_from_a_template_file(tmp_path: Path):
    path = tmp_path / "templates.txt"
    path.write_text(
        '{"placeholder":"text_a"} {"mask"}\n'
        ' q: {"placeholder":"text_b", "shortenable": False,'
        ' "post_processing": lambda s: s.upper()} {"mask"}\n',
        encoding="utf-8",
    )
    template = ManualTemplate(None).from_file(str(path), choice=1)
    example = InputExample(guid=0, text_a="a", text_b="loud")
    assert _texts(template, example) == [" q:", " LOUD", "<mask>"]
    assert template.wrap_one_example(example)[0][1]["shortenable_ids"] == 0


def test_string_post_processing_still_works():
    template = ManualTemplate(
        None, text='{"placeholder":"text_a", "post_processing": "lambda x: x[:2]"} {"mask"}'
    )
    assert _texts(template, InputExample(guid=0, text_a="abcdef"))[0] == "ab"


@pytest.mark.parametrize(
    "block",
    [
        '{"placeholder":"text_a", "shortenable": false}',  # JSON boolean: still refused
        '{"placeholder": lambda x: x}',  # code only where post_processing is
        '{"placeholder":"text_a", "post_processing": print}',  # a name, not a lambda
        '{"placeholder":"text_a", **{"mask": None}}',
    ],
)
def test_other_code_in_a_block_is_still_refused(block: str):
    with pytest.raises(ConfigError, match="not a Python literal"):
        parse_template(block + ' {"mask"}')


class _Plm(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.layer = nn.Linear(2, 2)
        self.calls: list[object] = []

    def parallelize(self, device_map: object = None) -> None:
        self.calls.append(device_map)
        self.device_map = {"layers": device_map}

    def deparallelize(self) -> None:
        self.calls.append("undo")


def test_parallelize_delegates_to_the_model():
    model = PromptForClassification(plm=_Plm(), template=nn.Identity(), verbalizer=nn.Identity())
    model.parallelize({0: [0]})
    assert model.plm.calls == [{0: [0]}]
    assert model.device_map == {"layers": {0: [0]}}
    model.deparallelize()
    assert model.plm.calls[-1] == "undo" and model.device_map is None


def test_parallelize_without_model_support_is_not_implemented():
    model = PromptForClassification(
        plm=nn.Linear(2, 2), template=nn.Identity(), verbalizer=nn.Identity()
    )
    with pytest.raises(NotImplementedError, match="device_map='auto'"):
        model.parallelize()
