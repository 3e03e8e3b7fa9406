"""Which template a prompt command uses, and the line that tells the user.

``--template`` wins. Otherwise the template is the language's default for the
model's backbone (masked: a cloze sentence; causal: ``{mask}`` last) and the
data's task kind: ``--task`` when given, else ``sentiment`` when every MMM
record read carries a sentiment task word (``Sentiment Adj and N``...), else
``generic``, which fits neither sentiment nor topic data well and is therefore
reported with a warning.
"""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mrekv.data.example import guess_lang

#: The values of ``--task`` (the task kinds of :func:`mrekv.default_template`).
TASKS = ("sentiment", "topic", "generic")
#: How many MMM records are read to tell the data's task.
_PEEK = 200


@dataclass(frozen=True)
class TemplateChoice:
    """The template a command uses and why.

    Attributes:
        text: the template text.
        source: where it came from, e.g. ``"--template"`` or ``"causal LM, en, --task sentiment"``.
        generic: True when it is the generic default (no task named anywhere).
    """

    text: str
    source: str
    generic: bool = False

    def report(self, command: str) -> str:
        """The stderr line(s) of ``command`` (``"mrekv train"``) naming the template."""
        line = f"{command}: template {self.text!r} ({self.source})"
        if self.generic:
            line += (f"\n{command}: warning: that is the generic template; pass --task "
                     "sentiment or --task topic (or --template) for one that fits the data")
        return line


def choose_template(args: argparse.Namespace, texts: Sequence[str],
                    data: str | None = None) -> TemplateChoice:
    """The template of a prompt model for ``args`` and its labelled data.

    Args:
        args: the parsed command line (``template``, ``task``, ``lang``, ``model``,
            ``backbone``, ``trust_remote_code``).
        texts: the data's texts (their language picks the default without ``--lang``).
        data: the data file; its MMM task words name the task without ``--task``.

    Raises:
        MrekvError: the model's backbone cannot be told (e.g. a folder without config).
    """
    if args.template:
        return TemplateChoice(args.template, "from --template")
    from mrekv.prompt.template import default_template

    backbone = model_backbone(args.model, args.backbone,
                              trust_remote_code=getattr(args, "trust_remote_code", False))
    lang = args.lang or guess_lang(texts[:_PEEK])
    task, why = getattr(args, "task", None), "--task"
    if task is None and data is not None:
        task, why = data_task(data)
    kind = task or "generic"
    source = f"the {backbone} LM default for {lang!r}, task {kind!r}"
    source += f" from {why}" if task else " (no task named)"
    return TemplateChoice(default_template(lang, kind, backbone=backbone).text, source,
                          generic=task is None)


def data_task(path: str) -> tuple[str | None, str]:
    """``("sentiment", why)`` when the MMM records of ``path`` carry sentiment task words.

    Only the first records are read; a TSV or plain file names no task.
    """
    if Path(path).suffix not in {".json", ".jsonl"}:
        return None, ""
    from mrekv.data.mmm import read_mmm

    words = {e.task.value for e in itertools.islice(read_mmm(path), _PEEK)}
    if words and all(w.startswith("Sentiment") for w in words):
        listed = ", ".join(repr(w) for w in sorted(words))
        return "sentiment", f"the records' task word {listed} in {path}"
    return None, ""


def model_backbone(model: str, backbone: str = "auto", *, trust_remote_code: bool = False) -> str:
    """``"masked"`` or ``"causal"``: ``backbone`` unless it is ``"auto"``, else the model's config.

    A ``.gguf`` file is a causal LM; other models are told from their config
    (read without loading weights).
    """
    if backbone != "auto":
        return backbone
    if model.endswith(".gguf"):
        return "causal"
    from transformers import AutoConfig

    from mrekv.model_source import hub_load
    from mrekv.models import detect_backbone

    config = hub_load(model, "configuration", AutoConfig.from_pretrained,
                      trust_remote_code=trust_remote_code)
    return detect_backbone(config)
