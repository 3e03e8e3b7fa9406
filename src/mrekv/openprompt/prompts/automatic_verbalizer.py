"""OpenPrompt's ``AutomaticVerbalizer``: label words searched from labelled few-shot data.

The search of Schick, Schmid & Schütze (2020, "Automatically identifying words that
can serve as labels for few-shot text classification"), as OpenPrompt implements it:

1. **Collect.** While :attr:`AutomaticVerbalizer.accumulate` is True, every labelled
   batch that passes through :meth:`AutomaticVerbalizer.process_logits` adds its mask
   distributions ``q_n = softmax(z_n)`` over the whole vocabulary and its labels ``y_n``
   to a buffer (detached; a batch without labels is an error).
2. **Candidates** (:func:`candidate_ids`): for class ``c``, the ``num_candidates`` tokens
   with the largest ``sum_{n: y_n = c} log(q_n[t] + 1e-15)`` (all tokens when
   ``num_candidates <= 0``).
3. **Scores** (:func:`word_scores`) of each candidate ``t`` for class ``c``, with
   ``m_n = [y_n = c]`` and ``s_n = (1 - m_n) * r`` where ``r = sum_n m_n / sum_n (1 - m_n)``
   with ``balance`` and ``r = 1`` without, and ``l(x) = log(x + 1e-15)``:

   * ``"llr"`` (log likelihood ratio, the default):
     ``sum_n m_n (l(q_n) - l(1 - q_n)) + sum_n s_n (l(1 - q_n) - l(q_n))``;
   * ``"ce"`` (cross entropy): ``sum_n m_n l(q_n) + sum_n s_n l(1 - q_n)``.

4. **Words.** Class ``c`` keeps its ``label_word_num_per_class`` best candidates:
   :attr:`AutomaticVerbalizer.label_words_ids` ``(C, k)`` token ids. Words are not
   made unique across classes.

:meth:`AutomaticVerbalizer.optimize_to_initialize` runs 2-4 on the buffer and empties
it; after ``num_searches`` searches the verbalizer stops collecting. Scoring then
follows OpenPrompt: ``p`` = softmax of the mask logits over the ``C * k`` label words
together (calibrated as :class:`~mrekv.openprompt.prompts.ManualVerbalizer` when
:meth:`register_calibrate_logits` was called), class score ``(1/k) sum_w log(p_cw + 1e-15)``.
Before the first search the class scores are 0 (OpenPrompt returns random numbers).

Every step is a pure function of tensors, testable on hand-computed numbers; the
buffer is never edited in place.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, get_args

import torch
from torch import nn

from mrekv.errors import ConfigError, unknown_choice
from mrekv.verbalizer.kv_math import label_word_log_probs, label_word_prior

ScoreFct = Literal["llr", "ce"]
SCORE_FCTS: tuple[str, ...] = get_args(ScoreFct)
EPS = 1e-15


def candidate_ids(
    probs: torch.Tensor, labels: torch.Tensor, num_classes: int, num_candidates: int
) -> list[torch.Tensor]:
    """Step 2: per class, the token ids with the largest summed log-probability.

    Args:
        probs: ``(N, V)`` mask distributions.
        labels: ``(N,)`` class indices.
        num_classes: ``C``.
        num_candidates: how many per class (``<= 0``: all ``V`` tokens, in id order).

    Returns:
        ``C`` tensors of token ids, best first.

    Example:
        >>> probs = torch.tensor([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]])
        >>> [c.tolist() for c in candidate_ids(probs, torch.tensor([0, 1]), 2, 2)]
        [[0, 1], [2, 1]]
    """
    if num_candidates <= 0:
        return [torch.arange(probs.shape[-1], device=probs.device) for _ in range(num_classes)]
    log_probs = torch.log(probs + EPS)
    out = []
    for c in range(num_classes):
        member = (labels == c).to(log_probs.dtype).unsqueeze(-1)
        score = (log_probs * member).sum(dim=0)
        out.append(torch.argsort(score, descending=True)[:num_candidates])
    return out


def word_scores(
    probs: torch.Tensor, member: torch.Tensor, score_fct: str = "llr", balance: bool = True
) -> torch.Tensor:
    """Step 3: the score of each column of ``probs`` as a label word of one class.

    Args:
        probs: ``(N, K)`` the candidates' probabilities at the mask.
        member: ``(N,)`` 1.0 for the class's examples, 0.0 for the others.
        score_fct: ``"llr"`` or ``"ce"`` (formulas in the module docstring).
        balance: rescale the other classes' examples to the class's count.

    Returns:
        ``(K,)`` scores, higher is better.

    Raises:
        ConfigError: an unknown ``score_fct``.

    Example:
        >>> p = torch.tensor([[0.5], [0.25]])
        >>> round(float(word_scores(p, torch.tensor([1.0, 0.0]))[0]), 4)  # log 1 + log 3
        1.0986
    """
    if score_fct not in SCORE_FCTS:
        raise ConfigError(unknown_choice("score_fct", score_fct, SCORE_FCTS))
    member = member.to(probs.dtype)
    others = 1 - member
    scale = others * (member.sum() / others.sum()) if balance else others
    log_p, log_not_p = torch.log(probs + EPS), torch.log(1 - probs + EPS)
    if score_fct == "llr":
        positive = (log_p * member[:, None]).sum(0) - (log_not_p * member[:, None]).sum(0)
        negative = (log_not_p * scale[:, None]).sum(0) - (log_p * scale[:, None]).sum(0)
    else:
        positive = (log_p * member[:, None]).sum(0)
        negative = (log_not_p * scale[:, None]).sum(0)
    return positive + negative


def find_label_words(
    probs: torch.Tensor,
    labels: torch.Tensor,
    num_classes: int,
    words_per_label: int = 1,
    num_candidates: int = 1000,
    score_fct: str = "llr",
    balance: bool = True,
) -> torch.Tensor:
    """Steps 2-4: ``(C, words_per_label)`` label-word token ids (module docstring).

    Raises:
        ConfigError: a class with no example in ``labels``, or fewer candidates than
            ``words_per_label``.

    Example:
        >>> probs = torch.tensor([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]])
        >>> find_label_words(probs, torch.tensor([0, 1]), 2, num_candidates=2).tolist()
        [[0], [2]]
    """
    present = set(labels.tolist())
    missing = [c for c in range(num_classes) if c not in present]
    if missing:
        raise ConfigError(
            f"no collected example of class(es) {missing}: the label-word search needs "
            "labelled examples of every class"
        )
    candidates = candidate_ids(probs, labels, num_classes, num_candidates)
    rows = []
    for c, ids in enumerate(candidates):
        if len(ids) < words_per_label:
            raise ConfigError(
                f"label_word_num_per_class={words_per_label} is more than the "
                f"{len(ids)} candidates (num_candidates={num_candidates})"
            )
        scores = word_scores(probs[:, ids], (labels == c).to(probs.dtype), score_fct, balance)
        rows.append(ids[torch.argsort(scores, descending=True)[:words_per_label]])
    return torch.stack(rows)


class AutomaticVerbalizer(nn.Module):
    """OpenPrompt's ``AutomaticVerbalizer`` (module docstring).

    Args:
        tokenizer: the model's tokenizer (turns the found ids into words).
        num_candidates: candidates per class (``<= 0``: the whole vocabulary).
        label_word_num_per_class: label words kept per class.
        num_searches: how many times :meth:`optimize_to_initialize` searches.
        score_fct: ``"llr"`` or ``"ce"``.
        balance: balance the other classes' examples against the class's.
        num_classes: the number of classes (or give ``classes``).
        classes: the class names.
        init_using_split: kept for OpenPrompt's signature.

    Raises:
        ConfigError: an unknown ``score_fct``, ``num_searches < 1``, or no class count.

    Example:
        >>> v = AutomaticVerbalizer(tokenizer, num_candidates=1000,
        ...     label_word_num_per_class=3, num_searches=1, score_fct="llr",
        ...     balance=True, num_classes=2)  # doctest: +SKIP
        >>> with torch.no_grad():  # doctest: +SKIP
        ...     for batch in train_loader:
        ...         model(batch)               # collects the mask distributions
        >>> v.optimize_to_initialize()        # doctest: +SKIP
        >>> v.label_words                     # doctest: +SKIP
    """

    label_words_ids: torch.Tensor

    def __init__(
        self,
        tokenizer: Any = None,
        num_candidates: int = 1000,
        label_word_num_per_class: int = 1,
        num_searches: int = 1,
        score_fct: str = "llr",
        balance: bool = True,
        num_classes: int | None = None,
        classes: Sequence[Any] | None = None,
        init_using_split: str = "train",
        **kwargs: Any,
    ) -> None:
        super().__init__()
        if score_fct not in SCORE_FCTS:
            raise ConfigError(unknown_choice("score_fct", score_fct, SCORE_FCTS))
        if num_searches < 1:
            raise ConfigError(f"num_searches must be >= 1, got {num_searches}")
        if label_word_num_per_class < 1:
            raise ConfigError(
                f"label_word_num_per_class must be >= 1, got {label_word_num_per_class}"
            )
        self.classes = list(classes) if classes is not None else None
        if (
            self.classes is not None
            and num_classes is not None
            and num_classes != len(self.classes)
        ):
            raise ConfigError(f"num_classes={num_classes} but {len(self.classes)} classes given")
        count = len(self.classes) if self.classes is not None else num_classes
        if count is None or count < 2:
            raise ConfigError("AutomaticVerbalizer needs num_classes (>= 2) or classes")
        self.num_classes = int(count)
        self.tokenizer = tokenizer
        self.num_candidates = num_candidates
        self.label_word_num_per_class = label_word_num_per_class
        self.num_searches = num_searches
        self.score_fct = score_fct
        self.balance = balance
        self.init_using_split = init_using_split
        self.search_id = 0
        self.accumulate_step = 0
        self.accumulate = True
        self.probs_buffer: torch.Tensor | None = None
        self.labels_buffer: torch.Tensor | None = None
        self._calibrate_logits: torch.Tensor | None = None
        self.register_buffer("label_words_ids", torch.zeros((0, 1), dtype=torch.long))

    # ------------------------------------------------------------------ search

    def record(self, logits: torch.Tensor, labels: torch.Tensor) -> None:
        """Add ``(batch, vocab)`` mask logits and their ``(batch,)`` labels to the buffer.

        OpenPrompt calls this ``register_buffer``, a name that ``nn.Module`` already uses.
        """
        probs = torch.softmax(logits.detach(), dim=-1)
        labels = labels.detach().reshape(-1).to(probs.device)
        if self.probs_buffer is None or self.labels_buffer is None:
            self.probs_buffer, self.labels_buffer = probs, labels
        else:
            self.probs_buffer = torch.cat([self.probs_buffer, probs])
            self.labels_buffer = torch.cat([self.labels_buffer, labels])

    def optimize(self) -> None:
        """Does nothing (OpenPrompt's hook, called after optimizer steps)."""

    def optimize_to_initialize(self) -> None:
        """Search the label words from the collected logits (once per search, ``num_searches``).

        After the last search the verbalizer stops collecting; later calls keep the words.

        Raises:
            ConfigError: nothing was collected, or a class has no collected example.
        """
        if self.search_id >= self.num_searches:
            return
        if self.probs_buffer is None or self.labels_buffer is None:
            raise ConfigError(
                "AutomaticVerbalizer has collected no logits: run the PromptForClassification "
                "on labelled training batches before optimize_to_initialize()"
            )
        ids = find_label_words(
            self.probs_buffer,
            self.labels_buffer,
            self.num_classes,
            words_per_label=self.label_word_num_per_class,
            num_candidates=self.num_candidates,
            score_fct=self.score_fct,
            balance=self.balance,
        )
        self.label_words_ids = ids.to(self.label_words_ids.device)
        self.probs_buffer, self.labels_buffer = None, None
        self.search_id += 1
        if self.search_id == self.num_searches:
            self.accumulate = False

    @property
    def label_words(self) -> list[list[str]]:
        """The found words of each class (tokenizer tokens), empty lists before the first search.

        Raises:
            ConfigError: words were found but the verbalizer has no tokenizer.
        """
        if self.label_words_ids.numel() == 0:
            return [[] for _ in range(self.num_classes)]
        if self.tokenizer is None:
            raise ConfigError(
                "the verbalizer needs a tokenizer to turn its label word ids into words"
            )
        return [
            list(self.tokenizer.convert_ids_to_tokens(row.tolist())) for row in self.label_words_ids
        ]

    # ------------------------------------------------------------------ scoring

    def project(self, logits: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        """``(batch, vocab)`` -> ``(batch, C, k)`` logits of the label words."""
        return logits[:, self.label_words_ids]

    def process_logits(self, logits: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        """``(batch, vocab)`` mask logits -> ``(batch, C)`` class scores; collects while searching.

        Raises:
            ConfigError: a batch without labels while collecting.
        """
        if logits.dim() == 3:  # several masks: the verbalizer reads the first
            logits = logits[:, 0, :]
        if self.accumulate:
            batch = kwargs.get("batch")
            labels = None if batch is None else batch.get("label")
            if labels is None:
                raise ConfigError(
                    "AutomaticVerbalizer is collecting logits for its label-word search and "
                    "needs labelled batches; call optimize_to_initialize() before predicting"
                )
            self.accumulate_step += 1
            self.record(logits, labels)
        if self.label_words_ids.numel() == 0:
            return torch.zeros(
                (logits.shape[0], self.num_classes), device=logits.device, requires_grad=True
            )
        c, k = self.label_words_ids.shape
        scores = self.project(logits).reshape(-1, c * k)
        active = torch.ones(c * k, dtype=torch.bool, device=logits.device)
        log_p = label_word_log_probs(scores, active, self._prior(active), eps=EPS)
        return log_p.reshape(-1, c, k).mean(dim=-1)

    def _prior(self, active: torch.Tensor) -> torch.Tensor | None:
        if self._calibrate_logits is None:
            return None
        scores = self.project(self._calibrate_logits.unsqueeze(0)).reshape(1, -1)
        return label_word_prior(scores, active)

    def process_outputs(
        self, outputs: torch.Tensor, batch: Any = None, **kwargs: Any
    ) -> torch.Tensor:
        """The class scores from the mask logits (OpenPrompt's hook)."""
        return self.process_logits(outputs, batch=batch, **kwargs)

    def gather_outputs(self, outputs: Any) -> torch.Tensor:
        """The vocabulary logits from the model's outputs."""
        return outputs.logits  # type: ignore[no-any-return]

    def forward(self, logits: torch.Tensor, batch: Any = None) -> torch.Tensor:
        """Same as :meth:`process_logits`."""
        return self.process_logits(logits, batch=batch)

    def register_calibrate_logits(self, logits: torch.Tensor) -> None:
        """Calibrate with the mean mask logits ``(vocab,)`` (or ``(N, vocab)``, averaged)."""
        logits = logits.detach()
        self._calibrate_logits = logits.mean(dim=0) if logits.dim() == 2 else logits

    def from_file(self, path: Any, choice: int = 0) -> AutomaticVerbalizer:
        """Not possible: the words are learned.

        Raises:
            ConfigError: always.
        """
        raise ConfigError(
            "AutomaticVerbalizer learns its label words; it cannot read them from a file"
        )
