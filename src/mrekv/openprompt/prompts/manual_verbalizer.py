"""OpenPrompt's ``ManualVerbalizer``, scored with OpenPrompt's formulas on mrekv's verbalizer math.

Class ``c`` has the words ``w = 1..n_c``, each a list of sub-token ids; the
classes are padded to the longest with dummy slots. For the mask logits ``z``:

* ``s[c, w] = handler(z[t_1..t_k])`` (:func:`mrekv.verbalizer.kpt.project_logits`),
  ``-10000`` added at dummy slots (:meth:`ManualVerbalizer.project`);
* ``post_log_softmax=True`` (default): ``p = softmax`` over the words of **all**
  classes together, optionally calibrated (below), and
  ``score_c = (1/n_c) sum_w log p[c, w]``, the mean of log-probabilities
  (mrekv's native :class:`~mrekv.verbalizer.manual.ManualVerbalizer` takes the
  log of the mean probability instead);
* ``post_log_softmax=False``: ``score_c = (1/n_c) sum_w s[c, w]``.

Calibration (:meth:`register_calibrate_logits` with the mean mask logits ``m``
of unlabeled texts): the prior is ``q = softmax(s(m))``, the distribution of the
mean logits (mrekv's ``prior="mean-logits"``), and ``p' = (p / q) / Z``.

The scores are :func:`mrekv.verbalizer.knowledgeable.label_word_log_probs`
(with OpenPrompt's ``log(p + 1e-15)`` smoothing, ``eps=1e-15``) averaged with
:func:`~mrekv.verbalizer.knowledgeable.class_word_weights`. Unlike OpenPrompt,
calibration does not divide a tensor in place, so ``backward()`` works after
:meth:`register_calibrate_logits`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from mrekv.errors import ConfigError, SaveFormatError
from mrekv.verbalizer.kpt import project_logits
from mrekv.verbalizer.kv_math import (
    class_word_weights,
    label_word_log_probs,
    label_word_prior,
)

HANDLERS = ("first", "mean", "max")


def read_words_file(path: str | Path, choice: int = 0) -> Any:
    """Word lists from an OpenPrompt verbalizer file, as OpenPrompt's ``from_file`` reads them.

    ``.txt``: groups of lines separated by blank lines, ``choice`` picks a group,
    each line is one class split on ``","`` only (so ``", word"`` keeps its
    space, and a trailing comma gives an empty word, scored as OpenPrompt does).
    ``.json``: a list of word lists or a dict class -> words, taken as it is
    (a list of such, for several groups, is indexed by ``choice``).

    Raises:
        SaveFormatError: an unreadable file, or no group ``choice``.
    """
    path = Path(path)
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise SaveFormatError(f"cannot read verbalizer file {path}: {err}") from None
        if isinstance(data, list) and data and all(isinstance(g, dict) for g in data):
            if choice >= len(data):
                raise SaveFormatError(f"{path}: has {len(data)} group(s), no choice={choice}")
            data = data[choice]
        return data
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise SaveFormatError(f"cannot read verbalizer file {path}: {err}") from None
    groups: list[list[str]] = [[]]
    for line in lines:
        line = line.strip()
        if not line:
            if groups[-1]:
                groups.append([])
            continue
        groups[-1].append(line)
    groups = [g for g in groups if g]
    if choice >= len(groups):
        raise SaveFormatError(f"{path}: has {len(groups)} group(s) of lines, no choice={choice}")
    return [line.split(",") for line in groups[choice]]


class ManualVerbalizer(nn.Module):
    """OpenPrompt's ``ManualVerbalizer`` (formulas in the module docstring).

    Args:
        tokenizer: the model's tokenizer.
        classes: the class names (or give ``num_classes``).
        num_classes: the number of classes when ``classes`` is None.
        label_words: one word per class, a list of word lists in class order, or a
            dict class -> word(s) (reordered to ``classes``).
        prefix: put before each word (``"<!>word"`` means no prefix).
        multi_token_handler: ``"first"``, ``"mean"`` or ``"max"``.
        post_log_softmax: score by mean log-probability (True) or mean raw logit.

    Raises:
        ConfigError: dict keys that are not the classes, a wrong number of word
            lists, or an unknown handler.

    Example:
        >>> v = ManualVerbalizer(tokenizer, classes=["neg", "pos"],
        ...                      label_words=[["bad"], ["good", "great"]])  # doctest: +SKIP
    """

    label_words_ids: torch.Tensor
    words_ids_mask: torch.Tensor
    label_words_mask: torch.Tensor

    def __init__(
        self,
        tokenizer: Any = None,
        classes: Sequence[Any] | None = None,
        num_classes: int | None = None,
        label_words: Any = None,
        prefix: str = " ",
        multi_token_handler: str = "first",
        post_log_softmax: bool = True,
    ) -> None:
        super().__init__()
        if multi_token_handler not in HANDLERS:
            raise ConfigError(
                f"unknown multi_token_handler {multi_token_handler!r}; valid choices: {HANDLERS!r}"
            )
        self.tokenizer = tokenizer
        self.classes = list(classes) if classes is not None else None
        self.num_classes = len(self.classes) if self.classes is not None else num_classes
        self.prefix = prefix
        self.multi_token_handler = multi_token_handler
        self.post_log_softmax = post_log_softmax
        self._calibrate_logits: torch.Tensor | None = None
        self._label_words: list[list[str]] = []
        self.register_buffer("label_words_ids", torch.zeros((0, 1, 1), dtype=torch.long))
        self.register_buffer("words_ids_mask", torch.zeros((0, 1, 1), dtype=torch.long))
        self.register_buffer("label_words_mask", torch.zeros((0, 1), dtype=torch.long))
        if label_words is not None:
            self.label_words = label_words

    # ------------------------------------------------------------------ words

    @property
    def label_words(self) -> list[list[str]]:
        """The words of each class, with their prefix (set with any accepted form)."""
        return self._label_words

    @label_words.setter
    def label_words(self, label_words: Any) -> None:
        """Set (and tokenize) the words; see the class docstring for the accepted forms."""
        self._set_words(self._word_lists(label_words))

    def _word_lists(self, label_words: Any) -> list[list[str]]:
        if isinstance(label_words, Mapping):
            if self.classes is None or set(label_words) != set(self.classes):
                raise ConfigError(
                    f"label_words names the classes {sorted(map(str, label_words))!r}, "
                    f"but the verbalizer's classes are {self.classes!r}"
                )
            label_words = [label_words[c] for c in self.classes]
        lists = [[ws] if isinstance(ws, str) else list(ws) for ws in label_words]
        if self.num_classes is None:
            self.num_classes = len(lists)
        if len(lists) != self.num_classes:
            raise ConfigError(f"{len(lists)} word lists for {self.num_classes} classes")
        return lists

    @staticmethod
    def add_prefix(label_words: Sequence[Sequence[str]], prefix: str) -> list[list[str]]:
        """``prefix + word`` for each word; a word starting with ``<!>`` gets no prefix."""
        return [[w[3:] if w.startswith("<!>") else prefix + w for w in ws] for ws in label_words]

    def _set_words(self, lists: list[list[str]]) -> None:
        words = self.add_prefix(lists, self.prefix)
        self._label_words = words
        self._tensorize([[self._ids(w) for w in ws] for ws in words])

    def _ids(self, word: str) -> list[int]:
        if self.tokenizer is None:
            raise ConfigError("the verbalizer needs a tokenizer to set label words")
        return list(self.tokenizer(word, add_special_tokens=False)["input_ids"])

    def _tensorize(self, ids: list[list[list[int]]]) -> None:
        for c, rows in enumerate(ids):
            if not rows:
                raise ConfigError(f"class {self._class_name(c)!r} has no label word")
        width = max(len(rows) for rows in ids)
        depth = max([len(t) for rows in ids for t in rows] + [1])
        tok = torch.zeros((len(ids), width, depth), dtype=torch.long)
        tmask = torch.zeros_like(tok)
        wmask = torch.zeros((len(ids), width), dtype=torch.long)
        for c, rows in enumerate(ids):
            for w, t in enumerate(rows):
                tok[c, w, : len(t)] = torch.tensor(t, dtype=torch.long)
                tmask[c, w, : len(t)] = 1
                wmask[c, w] = 1
        device = self.label_words_mask.device
        self.label_words_ids = tok.to(device)
        self.words_ids_mask = tmask.to(device)
        self.label_words_mask = wmask.to(device)

    def _class_name(self, c: int) -> Any:
        return self.classes[c] if self.classes is not None else c

    def from_file(self, path: str | Path, choice: int = 0) -> ManualVerbalizer:
        """Set the label words from an OpenPrompt verbalizer file; return self.

        Read with :func:`read_words_file`.
        """
        self.label_words = read_words_file(path, choice)
        return self

    # ------------------------------------------------------------------ scoring

    def project(self, logits: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        """``(batch, vocab)`` mask logits -> ``(batch, C, W)`` word scores (dummies get -10000)."""
        if logits.dim() == 3:  # several masks: the verbalizer reads the first
            logits = logits[:, 0, :]
        c, w, t = self.label_words_ids.shape
        flat = project_logits(
            logits,
            self.label_words_ids.reshape(c * w, t),
            self.words_ids_mask.reshape(c * w, t),
            self.multi_token_handler,
        ).reshape(-1, c, w)
        return flat - 10000 * (1 - self.label_words_mask.to(flat.dtype))

    def _prior(self) -> torch.Tensor | None:
        if self._calibrate_logits is None:
            return None
        scores = self.project(self._calibrate_logits.unsqueeze(0)).reshape(1, -1)
        return label_word_prior(scores, self.label_words_mask.reshape(-1).bool())

    def _scores(self, word_scores: torch.Tensor, weight_logits: torch.Tensor) -> torch.Tensor:
        """``(B, C, W)`` word scores and ``(C, W)`` weight logits -> ``(B, C)`` class scores."""
        c, w = self.label_words_mask.shape
        active = self.label_words_mask.reshape(-1).bool()
        membership = torch.zeros((c, c * w), dtype=torch.bool, device=active.device)
        for k in range(c):
            membership[k, k * w : (k + 1) * w] = True
        weights = class_word_weights(weight_logits.reshape(-1), membership, active)
        flat = word_scores.reshape(word_scores.shape[0], -1)
        if not self.post_log_softmax:
            return torch.where(active, flat, 0.0) @ weights.t()
        log_p = label_word_log_probs(flat, active, self._prior(), eps=1e-15)
        return log_p @ weights.t()

    def process_logits(self, logits: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        """``(batch, vocab)`` mask logits -> ``(batch, num_classes)`` class scores."""
        return self._scores(
            self.project(logits), torch.zeros_like(self.label_words_mask, dtype=torch.float32)
        )

    def process_outputs(
        self, outputs: torch.Tensor, batch: Any = None, **kwargs: Any
    ) -> torch.Tensor:
        """The class scores from the mask logits (OpenPrompt's hook)."""
        return self.process_logits(outputs, batch=batch, **kwargs)

    def gather_outputs(self, outputs: Any) -> torch.Tensor:
        """The vocabulary logits from the model's outputs."""
        return outputs.logits  # type: ignore[no-any-return]

    def forward(self, logits: torch.Tensor) -> torch.Tensor:
        """Same as :meth:`process_logits`."""
        return self.process_logits(logits)

    def register_calibrate_logits(self, logits: torch.Tensor) -> None:
        """Calibrate with the mean mask logits ``(vocab,)`` of unlabeled texts.

        ``(N, vocab)`` logits are averaged first.
        """
        logits = logits.detach()
        self._calibrate_logits = logits.mean(dim=0) if logits.dim() == 2 else logits
