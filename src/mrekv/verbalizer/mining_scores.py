"""The score functions of label-word mining: pure functions of count matrices.

Score functions take count matrices of shape ``(num_classes, num_words)`` and
return scores of the same shape (higher = more associated with the class):

* ``frequency``: occurrences of the word with the class (the MRE paper's WLI-KV).
* ``tfidf``: each class is one document; scikit-learn's ``TfidfTransformer``
  (smooth idf, l2-normalised rows) on the class x word count matrix.
* ``pmi``: smoothed positive PMI on example (document) counts, weighted by log count:
  ``max(0, log p(c|w) / p(c)) * log(1 + df(w, c))`` with
  ``p(c|w) = (df(w, c) + alpha) / (df(w) + alpha * K)`` and ``p(c) = N_c / N``,
  where ``df`` counts examples, ``K`` classes and ``N`` examples. The smoothing and
  the log-count weight keep words seen once from topping the list.
* ``chi2``: scikit-learn's ``chi2`` on the word presence matrix against each class
  one-vs-rest, signed: positive when the word occurs in more examples of the class
  than expected (``df(w, c) > df(w) * N_c / N``), negative otherwise. Only positively
  associated words are kept.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def frequency_scores(class_counts: np.ndarray) -> np.ndarray:
    """Frequency scores: the counts themselves.

    Args:
        class_counts: occurrences of each word with each class, ``(num_classes, num_words)``.

    Returns:
        Float scores, ``(num_classes, num_words)``.
    """
    return np.asarray(class_counts, dtype=np.float64).copy()


def tfidf_scores(class_counts: Any) -> np.ndarray:
    """Class-as-document TF-IDF (scikit-learn ``TfidfTransformer``, smooth idf, l2 rows).

    ``idf(w) = ln((1 + K) / (1 + n_classes_with(w))) + 1``; ``tfidf = count * idf``,
    then each class row is scaled to unit l2 norm.

    Args:
        class_counts: ``(num_classes, num_words)`` occurrence counts (dense or scipy sparse).

    Returns:
        ``(num_classes, num_words)`` dense scores.
    """
    from scipy.sparse import csr_matrix, issparse
    from sklearn.feature_extraction.text import TfidfTransformer

    counts = class_counts if issparse(class_counts) else np.asarray(class_counts, dtype=float)
    transformer = TfidfTransformer(norm="l2", use_idf=True, smooth_idf=True, sublinear_tf=False)
    return np.asarray(transformer.fit_transform(csr_matrix(counts, dtype=float)).toarray())


def pmi_matrix(
    class_doc_counts: np.ndarray, class_sizes: np.ndarray, *, alpha: float = 1.0
) -> np.ndarray:
    """Smoothed pointwise mutual information ``log p(c|w) / p(c)`` on example counts.

    Args:
        class_doc_counts: ``df(w, c)``, examples of class c containing w, ``(K, V)``.
        class_sizes: ``N_c``, examples per class, ``(K,)``.
        alpha: additive smoothing of ``df(w, c)`` (0 gives the plain PMI).

    Returns:
        ``(K, V)`` PMI values (natural log; ``-inf`` where ``df(w, c) = alpha = 0``).
    """
    df = np.asarray(class_doc_counts, dtype=np.float64)
    sizes = np.asarray(class_sizes, dtype=np.float64)
    k = df.shape[0]
    p_c = sizes / sizes.sum()
    p_c_given_w = (df + alpha) / (df.sum(axis=0, keepdims=True) + alpha * k)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(p_c_given_w / p_c[:, None])


def pmi_scores(
    class_doc_counts: np.ndarray, class_sizes: np.ndarray, *, alpha: float = 1.0
) -> np.ndarray:
    """Positive smoothed PMI weighted by log count: ``max(0, PMI) * log(1 + df(w, c))``.

    Args:
        class_doc_counts: ``(K, V)`` example counts ``df(w, c)``.
        class_sizes: ``(K,)`` examples per class.
        alpha: additive smoothing (see :func:`pmi_matrix`).

    Returns:
        ``(K, V)`` non-negative scores.
    """
    df = np.asarray(class_doc_counts, dtype=np.float64)
    pmi = np.nan_to_num(pmi_matrix(df, class_sizes, alpha=alpha), nan=0.0, neginf=0.0)
    return np.maximum(pmi, 0.0) * np.log1p(df)


def chi2_scores(presence: Any, class_ids: np.ndarray, num_classes: int) -> np.ndarray:
    """Signed one-vs-rest chi-squared statistic of each word for each class.

    Args:
        presence: ``(num_examples, V)`` word presence matrix (0/1, dense or scipy sparse).
        class_ids: ``(num_examples,)`` class index of each example.
        num_classes: ``K``.

    Returns:
        ``(K, V)``: scikit-learn's ``chi2`` of the word against "class c vs the rest",
        positive when the word is over-represented in c, negative when under-represented.
    """
    from sklearn.feature_selection import chi2

    class_ids = np.asarray(class_ids)
    n = class_ids.shape[0]
    doc_freq = np.asarray(presence.sum(axis=0), dtype=np.float64).ravel()
    out = np.zeros((num_classes, doc_freq.shape[0]))
    for c in range(num_classes):
        in_class = class_ids == c
        size = int(in_class.sum())
        if size == 0 or size == n:
            continue
        stat, _ = chi2(presence, in_class.astype(np.int64))
        observed = np.asarray(presence[in_class].sum(axis=0), dtype=np.float64).ravel()
        expected = doc_freq * size / n
        out[c] = np.where(observed > expected, 1.0, -1.0) * np.nan_to_num(stat)
    return out
