"""In-context learning on the equal-budget samples: k demonstrations, then the test text.

What users of small causal LMs try first. A cell is a cell of the equal-budget
sweep (:mod:`mrekv.experiment.budget`): (dataset, model, template, N, seed), the
same ``BudgetData.build`` arguments, test texts and ``data.samples(budgets, seed)``,
so ``sample_hash`` equals the sweep's. The demonstrations come only from the
cell's N labelled texts; each is the dataset's template filled with a text and
answered with its class's first manual word, in the form the verbalizer scores
(``" good"`` after a space, ``"好"`` glued):

    <demo 1>\\n\\n<demo 2>\\n\\n ... <demo k>\\n\\n<the test text's template prompt>

The prediction is the manual verbalizer's class scores at the read position: the
prompt goes through :meth:`~mrekv.prompt.classifier.PromptClassifier.read_states`
(the template ``"{text}{mask}"``: the prompt is rendered here, the read position
is its last token, as for the sweep's own template) and
:meth:`~mrekv.experiment.budget.DatasetModel.class_scores`, the sweep's scoring path.

Choices (:class:`ICLSettings`, recorded under ``chosen`` on every line):

* k: ``per_class = max(1, min(max_per_class, max_total // n_classes))`` per class,
  defaults 2 and 8 (4 demonstrations for 2 classes, 8 for 4); a class with fewer
  texts in the sample gives what it has, so N <= k uses the whole sample;
* selection (``tfidf-knn-balanced``), per prompted text: for each class the
  ``per_class`` sample texts of that class nearest by TF-IDF cosine (the features
  of the sweep's ``tfidf-lr``, fitted on the N sample texts; ties: lower corpus id
  first), placed in increasing similarity so that the nearest is next to the
  text. This is how N beyond k helps;
* truncation: a demonstration text keeps its first ``demo_tokens`` (48) tokens; the
  test text is cut as in the zero-shot prompt (``training.max_length`` with the
  template); a prompt longer than ``max_length`` (1024) is an error, never cut;
* ``icl+calib``: the manual verbalizer calibrated (``calibrate_words``, as
  ``manual+calib``) on the 200 unlabelled calibration texts, each prompted with
  its own nearest demonstrations from the same sample, so the calibration prompts
  are distributed like the test prompts. The test passes are shared with ``icl``
  (cached), so it costs 200 passes per cell.

N = 0 is zero-shot (``manual+calib`` of the main sweep) and is skipped.

Cost: every prompt is its own LM pass of about k times the zero-shot tokens, and
prompts cannot share a prefix (the demonstrations differ per text). Measured with
``eval:smollm2-135m`` on 1 CPU thread of a 2-core machine shared with other jobs:
about 200 prompt tokens/s, i.e. ~1.5 prompts/s on sst2 (4 demonstrations, ~140
tokens a prompt) and ~0.4 prompts/s on agnews (8 demonstrations, ~510 tokens). An
(N, seed) pair, ``icl`` and ``icl+calib`` together (1000 test + 200 calibration
prompts), takes ~14 min on sst2 and ~55 min on agnews. So ~40 minutes buys about
three sst2 pairs; the default grid of ``scripts/run_budget_icl.py`` is sst2 x
``eval:smollm2-135m`` x N in {16, 64} x seeds {0, 1, 2} (~80 min) on all 1000 fixed
test texts, seed-major so that a stopped run covers both budgets. agnews (and
chnsenticorp with ``eval:gemma-3-270m``) run with ``--datasets`` / ``--models`` when
there is time. Each line is appended under the results lock and the prompts' read
states are cached in chunks of 32 (``<stem>.features/``), so an interrupted run
resumes mid-cell.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mrekv.errors import ConfigError, unknown_choice
from mrekv.experiment.budget import DatasetModel, sample_hash
from mrekv.experiment.budget_runner import (
    cell_key,
    cell_line,
    iter_units,
    open_dataset_model,
    open_unit,
    select_datasets,
)
from mrekv.experiment.results import append_line, finished_keys, results_lock, stable_hash

ICL_METHODS = ("icl", "icl+calib")
SELECTION = "tfidf-knn-balanced"


@dataclasses.dataclass(frozen=True)
class ICLSettings:
    """How many demonstrations, how long, and the prompt's layout (module docstring).

    Args:
        max_per_class: demonstrations per class at most.
        max_total: demonstrations per prompt at most (but at least one per class).
        demo_tokens: a demonstration text keeps its first ``demo_tokens`` tokens.
        max_length: the most tokens a prompt may have (special tokens included).
        separator: what goes between demonstrations and before the text.
    """

    max_per_class: int = 2
    max_total: int = 8
    demo_tokens: int = 48
    max_length: int = 1024
    separator: str = "\n\n"

    def __post_init__(self) -> None:
        for name in ("max_per_class", "max_total", "demo_tokens", "max_length"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"ICLSettings.{name} must be a positive integer, got {value!r}")

    def per_class(self, n_classes: int) -> int:
        """Demonstrations per class for a task of ``n_classes`` classes."""
        return max(1, min(self.max_per_class, self.max_total // n_classes))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _vectorizer(lang: str) -> Any:
    """The TF-IDF features of the sweep's ``tfidf-lr`` (en words 1-2, ja/zh characters 1-3)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    from mrekv.prompt.ngram_expert import vectorizer_params

    return TfidfVectorizer(**vectorizer_params(lang))


def nearest_demonstrations(sample_texts: Sequence[str], sample_labels: Sequence[str],
                           queries: Sequence[str], classes: Sequence[str], per_class: int,
                           lang: str) -> list[list[int]]:
    """Per query, the class-balanced nearest sample texts, nearest last.

    For each class, the ``per_class`` texts of that class with the highest TF-IDF cosine
    to the query (fitted on ``sample_texts``; ties: lower position first); the picked
    ones are ordered by increasing cosine (ties: higher position first).

    Returns:
        per query, positions into ``sample_texts``.

    Raises:
        ValueError: no sample texts.
    """
    if not sample_texts:
        raise ValueError("in-context learning needs labelled texts (budget > 0)")
    vec = _vectorizer(lang).fit(sample_texts)
    # rows are L2-normalised, so the dot product is the cosine
    sim = (vec.transform(list(queries)) @ vec.transform(list(sample_texts)).T).toarray()
    members = [[j for j, y in enumerate(sample_labels) if y == c] for c in classes]
    out = []
    for row in sim:
        picked = [j for group in members
                  for j in sorted(group, key=lambda j: (-row[j], j))[:per_class]]
        out.append(sorted(picked, key=lambda j: (row[j], -j)))
    return out


def answer_words(verbalizer: Any, tokenizer: Any) -> list[str]:
    """Per class, its first kept manual word as the verbalizer scores it (``" good"``)."""
    from mrekv.verbalizer.tokens import tokenize_word

    out = []
    for c in range(verbalizer.num_classes):
        word, ids = next((w, t) for w, k, t in zip(verbalizer.flat_words, verbalizer.word_class,
                                                     verbalizer.word_token_ids, strict=True)
                         if k == c and t)
        spaced = tokenize_word(tokenizer, word, leading_space=True)[: len(ids)] == list(ids)
        out.append((" " if spaced else "") + word)
    return out


def cut(tokenizer: Any, text: str, n_tokens: int) -> tuple[str, bool]:
    """``text`` cut to its first ``n_tokens`` tokens, and whether it was cut."""
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    if len(ids) <= n_tokens:
        return text, False
    return tokenizer.decode(ids[:n_tokens]), True


class DemonstrationPrompts:
    """Renders the ICL prompts of one (dataset, model, template).

    Args:
        template: the dataset's causal template (``{mask}`` last).
        tokenizer: the LM's tokenizer.
        answers: per class, the demonstrated answer (:func:`answer_words`).
        settings: the demonstrations' count and lengths.
        text_tokens: the most tokens of a prompted (test or calibration) text.
    """

    def __init__(self, template: Any, tokenizer: Any, answers: list[str],
                 settings: ICLSettings, text_tokens: int) -> None:
        from mrekv.prompt.causal_template import check_causal

        check_causal(template)
        self.template, self.tokenizer = template, tokenizer
        self.answers, self.settings, self.text_tokens = answers, settings, text_tokens

    def render(self, text: str, answer: str = "") -> str:
        """The template before ``{mask}`` filled with ``text`` (right-stripped), then ``answer``."""
        from mrekv.prompt.template_parts import apply_strip

        pieces = [apply_strip(text, p.strip) if p.kind == "text" else
                  "" if p.kind == "text_b" else p.value for p in self.template._parts[:-1]]
        return "".join(pieces).rstrip() + answer

    def build(self, texts: Sequence[str], sample_texts: Sequence[str], sample_y: Sequence[int],
              neighbours: Sequence[Sequence[int]]) -> tuple[list[str], dict[str, Any]]:
        """One prompt per text, with its demonstrations (positions into the sample).

        Returns:
            the prompts and their statistics (lengths, how many texts were cut).

        Raises:
            ValueError: a prompt is longer than ``settings.max_length`` (names the text).
        """
        from mrekv.prompt.causal_template import prefix_ids

        s = self.settings
        demos = [cut(self.tokenizer, t, s.demo_tokens) for t in sample_texts]
        shown = [self.render(text, self.answers[y]) for (text, _), y in
                 zip(demos, sample_y, strict=True)]
        queries = [cut(self.tokenizer, t, self.text_tokens) for t in texts]
        prompts = [s.separator.join([*(shown[j] for j in near), self.render(q)])
                   for (q, _), near in zip(queries, neighbours, strict=True)]
        head = len(prefix_ids(self.tokenizer))
        lengths = [head + len(ids) for ids in
                   self.tokenizer(prompts, add_special_tokens=False)["input_ids"]]
        too_long = [j for j, n in enumerate(lengths) if n > s.max_length]
        if too_long:
            j = too_long[0]
            raise ValueError(f"text {j}: its prompt has {lengths[j]} tokens but ICLSettings."
                             f"max_length is {s.max_length}; lower demo_tokens or max_total")
        used = [j for near in neighbours for j in near]
        return prompts, {
            "prompt_tokens_mean": round(float(np.mean(lengths)), 1),
            "prompt_tokens_max": int(max(lengths)),
            "demos_cut": round(float(np.mean([demos[j][1] for j in used])), 4) if used else 0.0,
            "texts_cut": int(sum(c for _, c in queries)),
        }


@dataclasses.dataclass
class ICLModel:
    """A (dataset, model, template) of the sweep with its ICL prompts' classifier and cache."""

    dm: DatasetModel
    prompter: DemonstrationPrompts
    cache: Any
    settings: ICLSettings


def open_icl_model(exp: Any, dm: DatasetModel, settings: ICLSettings, out: Path,
                   model_name: str, progress: bool) -> ICLModel:
    """The ICL classifier (same LM objects as ``dm``) and its read-state cache."""
    from mrekv.experiment.lm_cells import WordScoreCache, union_classifier
    from mrekv.prompt.causal_template import prefix_ids
    from mrekv.prompt.template import Template

    clf = dm.classifier
    if clf.backbone_ != "causal":
        raise ConfigError(f"in-context learning needs a causal LM; {model_name!r} is "
                          f"{clf.backbone_}")
    wide = dataclasses.replace(exp, training=dataclasses.replace(
        exp.training, max_length=settings.max_length))
    icl_clf = union_classifier(clf.model_, clf.tokenizer_, "causal", Template("{text}{mask}"),
                               ["the"], "first", wide, dm.lang)
    template = clf.template_
    fixed = "".join(p.value for p in template._parts if p.kind == "literal").rstrip()
    text_tokens = exp.training.max_length - len(prefix_ids(clf.tokenizer_)) - len(
        clf.tokenizer_(fixed, add_special_tokens=False)["input_ids"])
    answers = answer_words(dm.manual_verbalizer(), clf.tokenizer_)
    prompter = DemonstrationPrompts(template, clf.tokenizer_, answers, settings, text_tokens)
    hidden = int(dm.weight.shape[1])
    key = f"{dm.data.prepared.name}-icl-" + stable_hash(
        {"model": model_name, "template": template.text, "max_length": settings.max_length}, 16)
    cache = WordScoreCache(icl_clf, [f"h{i}" for i in range(hidden)] + ["lse"],
                           out.with_name(out.stem + ".features") / key, progress,
                           compute=icl_clf.read_states)
    return ICLModel(dm, prompter, cache, settings)


def run_icl_cell(model: ICLModel, method: str, ids: list[int]) -> dict[str, Any]:
    """One ICL cell: test probabilities, what was chosen, and each test text's demonstrations.

    Returns:
        ``proba`` ``(n_test, n_classes)``, ``info`` (for ``chosen``) and ``demonstrations``
        (per test text, the corpus ids shown).
    """
    import torch

    from mrekv.experiment.budget import _softmax
    from mrekv.prompt.read_states import word_scores

    if method not in ICL_METHODS:
        raise ConfigError(unknown_choice("ICL method", method, ICL_METHODS))
    start = time.perf_counter()
    dm, data = model.dm, model.dm.data
    sample_texts = data.texts(ids)
    y = [dm.classes.index(c) for c in data.labels(ids)]
    per_class = model.settings.per_class(len(dm.classes))

    def prompt(texts: list[str]) -> tuple[np.ndarray, list[list[int]], dict[str, Any]]:
        near = nearest_demonstrations(sample_texts, [dm.classes[k] for k in y], texts,
                                      dm.classes, per_class, dm.lang)
        prompts, stats = model.prompter.build(texts, sample_texts, y, near)
        return model.cache.scores(prompts), near, stats

    test_states, near, stats = prompt(data.texts(data.test_ids))
    verbalizer = dm.manual_verbalizer()
    info: dict[str, Any] = {
        "k": int(max(len(n) for n in near)), "per_class": per_class, "selection": SELECTION,
        "order": "increasing similarity (nearest last)", "answers": model.prompter.answers,
        "truncation": {"demo_tokens": model.settings.demo_tokens,
                       "text_tokens": model.prompter.text_tokens,
                       "max_length": model.settings.max_length}, **stats}
    if method == "icl+calib":
        calib_states, _, calib_stats = prompt(data.texts(data.calibration_ids))
        verbalizer.calibrate_words(torch.from_numpy(
            word_scores(calib_states, dm.weight, dm.bias, verbalizer)))
        info["calibration"] = {"texts": len(data.calibration_ids),
                               "demonstrations": "own nearest, same sample",
                               "prompt_tokens_mean": calib_stats["prompt_tokens_mean"]}
    proba = _softmax(dm.class_scores(verbalizer, test_states))
    info["method_s"] = round(time.perf_counter() - start, 3)
    return {"proba": proba, "info": info,
            "demonstrations": [[ids[j] for j in n] for n in near]}


def run_budget_icl(
    config: str | Path, output: str | Path, *, budgets: Sequence[int] = (16, 64),
    seeds: Sequence[int] = (0, 1, 2), max_test: int = 1000,
    methods: Sequence[str] = ICL_METHODS, datasets: Sequence[str] | None = None,
    models: Sequence[str] | None = None, settings: ICLSettings | None = None,
    progress: bool = True,
) -> Path:
    """Run every ICL (dataset, model, seed, budget, method) cell not yet in ``output``.

    Lines have the sweep's ``cell`` / ``test-set`` format
    (:func:`~mrekv.experiment.budget_runner.run_budget_sweep`); a cell's key also
    holds the settings, so changed settings never count as done.

    Returns:
        the results file.
    """
    from mrekv.experiment.config import load_config

    settings = settings or ICLSettings()
    for m in methods:
        if m not in ICL_METHODS:
            raise ConfigError(unknown_choice("ICL method", m, ICL_METHODS))
    exp = load_config(config)
    out = Path(output)
    out.parent.mkdir(parents=True, exist_ok=True)
    configs = select_datasets(exp, datasets)
    with results_lock(out):
        done = finished_keys(out)
        for cfg, prepared, data, model_name in iter_units(exp, configs, max_test, models):
            dm = open_dataset_model(exp, cfg, prepared, data, model_name, out, progress)
            icl = open_icl_model(exp, dm, settings, out, model_name, progress)
            common, gold = open_unit(out, done, exp, cfg, prepared, data, model_name,
                                     dm.classifier.template_.text)
            for seed in seeds:
                for n, ids in data.samples(budgets, seed).items():
                    if n == 0:
                        continue  # zero-shot: manual+calib of the main sweep
                    for method in methods:
                        # the settings are part of the key: a changed setting reruns
                        cell = {"method": method, "budget": n, "seed": seed,
                                "sample_hash": sample_hash(ids), "icl": settings.to_dict()}
                        key = cell_key(common, cell)
                        if key in done:
                            continue
                        began, lm_before = time.perf_counter(), icl.cache.seconds
                        result = run_icl_cell(icl, method, ids)
                        append_line(out, cell_line(
                            common, cell, result["proba"], gold, knowledge_source="budget",
                            n_calibration=len(data.calibration_ids),
                            chosen={**result["info"], "settings": settings.to_dict()},
                            timings={"lm_pass_s": round(icl.cache.seconds - lm_before, 3),
                                     "total_s": round(time.perf_counter() - began, 3)}))
                        done.add(key)
            del dm, icl
    return out
