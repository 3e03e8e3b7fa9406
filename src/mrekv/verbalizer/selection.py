"""Choosing the mining method and top-k on held-out knowledge data (``mre-best``).

The knowledge split is cut (stratified, seeded) into a mining part and a
held-out part. Every candidate (method, k) is mined on the mining part only and
scored on the held-out part: by a caller's ``scorer`` (e.g. an LM's calibrated
zero-shot macro-F1) or, without one, by the model-free probe
(:func:`~mrekv.verbalizer.probe.probe_label_words`). The chosen method then
mines the whole knowledge split. Neither the test split nor the few-shot data
is ever seen; the record says what was chosen, from which scores, by what.

Two phases, so an LM pass can serve every candidate at once:
:func:`plan_selection` gives the candidates (their union of words is
:meth:`SelectionPlan.words`) and the held-out texts; :meth:`SelectionPlan.choose`
scores them. :func:`choose_label_words` does both.

Example:
    >>> words, record = choose_label_words(knowledge, lang="en")      # doctest: +SKIP
    >>> record["method"], record["top_k"], record["scored_by"]         # doctest: +SKIP
    ('chi2', 50, 'probe')
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mrekv.data.example import MREExample
from mrekv.errors import ConfigError, unknown_choice
from mrekv.verbalizer.label_words import LabelWords

METHODS: tuple[str, ...] = ("frequency", "tfidf", "pmi", "chi2")
TOP_KS: tuple[int, ...] = (10, 25, 50, 100)

#: ``scorer(label_words, texts, labels) -> score`` (higher is better).
Scorer = Callable[[LabelWords, Sequence[str], Sequence[str]], float]


@dataclass
class SelectionPlan:
    """The candidates of one selection and the held-out data they are scored on.

    Attributes:
        candidates: ``(method, k) -> LabelWords`` mined on the mining part.
        held_out: the held-out knowledge examples.
        final: ``method -> LabelWords`` (top ``max(top_ks)``) mined on the whole split.
        lang: the language.
    """

    candidates: dict[tuple[str, int], LabelWords]
    held_out: list[MREExample]
    final: dict[str, LabelWords]
    lang: str | None
    scores: dict[str, float] = field(default_factory=dict)

    def words(self) -> list[str]:
        """Every word of every candidate and final set (sorted, unique)."""
        out: set[str] = set()
        for lw in [*self.candidates.values(), *self.final.values()]:
            for ws in lw.as_lists():
                out.update(ws)
        return sorted(out)

    def choose(self, scorer: Scorer | None = None) -> tuple[LabelWords, dict[str, Any]]:
        """Score every candidate on the held-out part; return the chosen set and the record."""
        texts = [e.text for e in self.held_out]
        labels = [e.text_label for e in self.held_out]
        scored_by = "lm" if scorer is not None else "probe"
        if scorer is None:
            from mrekv.verbalizer.probe import probe_label_words

            def scorer(lw: LabelWords, t: Sequence[str], y: Sequence[str]) -> float:
                return float(probe_label_words(lw, list(t), list(y), self.lang).macro_f1)

        self.scores = {f"{m}@{k}": float(scorer(lw, texts, labels))
                       for (m, k), lw in self.candidates.items()}
        order = list(self.candidates)
        best = max(order, key=lambda mk: (self.scores[f"{mk[0]}@{mk[1]}"], -order.index(mk)))
        method, k = best
        record = {"method": method, "top_k": k, "scored_by": scored_by,
                  "held_out_size": len(texts), "scores": self.scores}
        chosen = self.final[method].top(k)
        chosen = LabelWords(chosen.classes, chosen.words,
                            {**chosen.provenance, "selection": record})
        return chosen, record


def plan_selection(
    knowledge: Sequence[MREExample],
    *,
    classes: Sequence[str] | None = None,
    lang: str | None = None,
    methods: Sequence[str] = METHODS,
    top_ks: Sequence[int] = TOP_KS,
    held_out: float = 0.3,
    max_held_out: int | None = 300,
    seed: int = 0,
    min_count: int = 1,
    split_name: str | None = None,
) -> SelectionPlan:
    """Cut the knowledge split and mine every candidate (see the module docstring).

    Raises:
        ConfigError: an unknown method, an empty ``top_ks``, a ``held_out`` outside
            (0, 1), or too few examples to hold any out.
    """
    from sklearn.model_selection import train_test_split

    from mrekv.verbalizer.mining import mine_label_words

    for m in methods:
        if m not in METHODS:
            raise ConfigError(unknown_choice("mining method", m, METHODS))
    if not top_ks or any(int(k) < 1 for k in top_ks):
        raise ConfigError(f"top_ks must be positive integers, got {list(top_ks)}")
    if not 0.0 < held_out < 1.0:
        raise ConfigError(f"held_out must be in (0, 1), got {held_out}")
    examples = list(knowledge)
    if len(examples) < 4:
        raise ConfigError(f"selection needs at least 4 knowledge examples, got {len(examples)}")
    labels = [e.text_label for e in examples]
    counts = {y: labels.count(y) for y in set(labels)}
    stratify = labels if min(counts.values()) >= 2 else None
    mine_idx, held_idx = train_test_split(
        list(range(len(examples))), test_size=held_out, random_state=seed, stratify=stratify
    )
    if max_held_out is not None and len(held_idx) > max_held_out:
        held_idx = _stratified_cap(held_idx, labels, max_held_out, seed)
    mine_part = [examples[i] for i in sorted(mine_idx)]
    biggest = max(int(k) for k in top_ks)
    options = dict(classes=classes, lang=lang, min_count=min_count)
    candidates: dict[tuple[str, int], LabelWords] = {}
    final: dict[str, LabelWords] = {}
    for m in methods:
        mined = mine_label_words(mine_part, m, biggest, split_name=f"{split_name}:mining-part",
                                 **options)  # type: ignore[arg-type]
        for k in sorted({int(k) for k in top_ks}):
            candidates[(m, k)] = mined.top(k)
        final[m] = mine_label_words(examples, m, biggest, split_name=split_name,
                                    **options)  # type: ignore[arg-type]
    return SelectionPlan(candidates, [examples[i] for i in sorted(held_idx)], final, lang)


def _stratified_cap(indices: Sequence[int], labels: Sequence[str], limit: int,
                    seed: int) -> list[int]:
    from sklearn.model_selection import train_test_split

    picked, _ = train_test_split(
        list(indices), train_size=limit, random_state=seed,
        stratify=[labels[i] for i in indices] if _strat_ok(indices, labels, limit) else None,
    )
    return sorted(picked)


def _strat_ok(indices: Sequence[int], labels: Sequence[str], limit: int) -> bool:
    present = [labels[i] for i in indices]
    return min(present.count(y) for y in set(present)) >= 2 and limit >= len(set(present))


def choose_label_words(
    knowledge: Sequence[MREExample],
    *,
    scorer: Scorer | None = None,
    **options: Any,
) -> tuple[LabelWords, dict[str, Any]]:
    """Choose the mining method and top-k on held-out knowledge data; mine with them.

    Args:
        knowledge: the knowledge split (word-labelled MRE examples).
        scorer: ``scorer(label_words, texts, labels) -> score`` on held-out texts
            (e.g. an LM's calibrated zero-shot macro-F1); None: the model-free probe.
        **options: :func:`plan_selection`'s options (classes, lang, methods, top_ks,
            held_out, max_held_out, seed, min_count, split_name).

    Returns:
        ``(label_words, record)``: the words mined on the whole knowledge split with
        the chosen method, cut to the chosen k, and what was chosen from which scores.
    """
    return plan_selection(knowledge, **options).choose(scorer)
