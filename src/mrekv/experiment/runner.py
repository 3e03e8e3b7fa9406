"""Run an experiment: every cell of a config's grid, one result line per cell, resumable.

A cell is (dataset, model, template, method, shots, seed). Cells that cannot
vary are not repeated: zero-shot cells (``shots = 0``) run once, with the first
seed, because nothing in them is sampled; ``probe:*`` cells run once per dataset
(the probe depends on neither shots, seed, model nor template); ``finetune`` and
``peer:*`` have no zero-shot cell. Cells a dataset cannot run (``kpt`` without a
knowledge file, ``embedding:*`` / ``peer:setfit`` in a language the encoder does
not handle) are written as ``"status": "skipped"`` lines with the reason, so the
report can say so.

Each finished cell is appended to the results file at once (see
:mod:`mrekv.experiment.results`); a rerun skips every cell whose ``cell_key`` is
already there, so a run killed at any moment loses at most the cell in progress.
"""

from __future__ import annotations

import dataclasses
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from mrekv._version import __version__
from mrekv.errors import ConfigError
from mrekv.experiment.config import (
    EXACT_FAMILIES,
    LM_FAMILIES,
    ExperimentConfig,
    MethodSpec,
    ModelConfig,
    load_config,
    parse_method,
)
from mrekv.experiment.results import (
    RESULTS_FORMAT,
    append_line,
    finished_keys,
    indices_hash,
    repair,
    results_lock,
    stable_hash,
)
from mrekv.experiment.sections import FinetuneConfig


@dataclass(frozen=True)
class Cell:
    """One point of the grid (``model``/``template`` are None for model-free proxies)."""

    dataset: str
    method: MethodSpec
    shots: int
    seed: int | None
    model: str | None
    template: str | None
    skip_reason: str | None = None


def _settings(config: ExperimentConfig, spec: MethodSpec) -> dict[str, Any]:
    """The config sections that change a cell's result, by method family."""
    parts: dict[str, Any] = {"knowledge": dataclasses.asdict(config.knowledge)}
    if spec.words in ("mre-frequency", "mre-best"):
        parts["mining"] = dataclasses.asdict(config.mining)
    if spec.family in ("prompt", "finetune", *LM_FAMILIES):
        parts["training"] = dataclasses.asdict(config.training)
    if spec.family == "embedding":
        parts["embedding"] = dataclasses.asdict(config.embedding)
    if spec.family == "peer":
        parts["setfit"] = dataclasses.asdict(config.setfit)
    if spec.family == "finetune" and config.finetune != FinetuneConfig():
        parts["finetune"] = dataclasses.asdict(config.finetune)  # unset: keys stay as before
    return parts


def cell_key(config: ExperimentConfig, cell: Cell) -> str:
    """The key a finished cell is found by: hashes everything its result depends on."""
    dataset = next(d for d in config.datasets if d.name == cell.dataset)
    return stable_hash({
        "dataset": dataclasses.asdict(dataset),
        "method": cell.method.name,
        "shots": cell.shots,
        "seed": cell.seed,
        "model": cell.model,
        "template": cell.template,
        "settings": _settings(config, cell.method),
    }, 24)


def plan_cells(config: ExperimentConfig, langs: dict[str, str],
               has_kpt: dict[str, bool]) -> list[Cell]:
    """Every cell of the grid, in run order (dataset, method, shots, seed).

    Args:
        config: the experiment.
        langs: the language of each dataset.
        has_kpt: whether each dataset has a KPT knowledge file.
    """
    cells: list[Cell] = []
    first_seed = config.seeds[0]
    for dataset in config.datasets:
        lang = langs[dataset.name]
        for spec in config.method_specs:
            skip = None
            if spec.words == "kpt" and not has_kpt[dataset.name]:
                skip = "no KPT knowledge file for this dataset (kpt unset, or its file missing)"
            if spec.family == "embedding" and lang not in config.embedding.langs:
                skip = (f"the embedding encoder handles {', '.join(config.embedding.langs)} "
                        f"only, not {lang}")
            if spec.family == "peer" and lang not in config.setfit.langs:
                skip = f"the SetFit body handles {', '.join(config.setfit.langs)} only, not {lang}"
            if spec.family == "probe":
                cells.append(Cell(dataset.name, spec, 0, None, None, None, skip))
                continue
            if spec.family == "embedding":
                models: tuple[str | None, ...] = (config.embedding.encoder,)
                templates: tuple[str | None, ...] = (None,)
            elif spec.family == "peer":
                models, templates = (config.setfit.body,), (None,)
            else:
                models = tuple(config.model.for_lang(lang))
                templates = (None,) if spec.family == "finetune" else tuple(config.templates)
            for model in models:
                for template in templates:
                    for shots in config.shots:
                        if shots == 0 and spec.family in ("finetune", "peer"):
                            continue
                        if shots > 0 and spec.family in EXACT_FAMILIES:
                            continue  # exact scoring: zero-shot cells only (its cost)
                        seeds = (first_seed,) if shots == 0 else config.seeds
                        for seed in seeds:
                            cells.append(Cell(dataset.name, spec, shots, seed, model, template,
                                              skip))
    return cells


@lru_cache(maxsize=1)
def git_commit() -> str | None:
    """The commit of the mrekv checkout (``git rev-parse HEAD``), or None outside git."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent,
                             capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


class _Context:
    """Caches shared by the cells of one run (datasets, label words, models, encoder)."""

    def __init__(self, config: ExperimentConfig, cache_dir: Path) -> None:
        self.config = config
        self.cache_dir = cache_dir
        self.datasets: dict[str, Any] = {}
        self.label_words: dict[tuple[str, str], Any] = {}
        self.models: dict[tuple[str, str], str] = {}
        self.encoder: Any = None
        self.loaded: dict[str, tuple[Any, Any, str]] = {}
        self.lm_data: dict[tuple[str, str, str], Any] = {}
        self.progress = True

    def lm_dataset(self, dataset: str, model: str, template: str) -> Any:
        """The shared frozen-LM state of a (dataset, model, template) (see lm_cells)."""
        from mrekv.experiment.lm_cells import LMDataset
        from mrekv.experiment.templates import lm_template

        key = (dataset, model, template)
        if key not in self.lm_data:
            path = self.model(model, dataset)
            if path not in self.loaded:
                from mrekv.models import load_lm

                if len(self.loaded) >= 2:  # keep at most two models in memory
                    gone = self.loaded.pop(next(iter(self.loaded)))[0]
                    self.lm_data = {k: v for k, v in self.lm_data.items() if v.model is not gone}
                self.loaded[path] = load_lm(path)
            loaded = self.loaded[path]
            data = self.datasets[dataset]
            self.lm_data[key] = LMDataset(
                data, self.config, model, loaded, template,
                lm_template(template, data, loaded[2]),
                self.cache_dir.with_name(self.cache_dir.name.replace(".models", ".features")),
                self.progress,
            )
        return self.lm_data[key]

    def words(self, dataset: str, words: str) -> Any:
        from mrekv.experiment.methods import build_label_words

        if (dataset, words) not in self.label_words:
            data = self.datasets[dataset]
            self.label_words[(dataset, words)] = build_label_words(words, data, self.config)
        return self.label_words[(dataset, words)]

    def model(self, name: str, dataset: str) -> str:
        from mrekv.experiment.methods import resolve_model

        if (name, dataset) not in self.models:
            self.models[(name, dataset)] = resolve_model(
                name, self.datasets[dataset], self.config, self.cache_dir)
        return self.models[(name, dataset)]

    def get_encoder(self) -> Any:
        if self.encoder is None:
            from mrekv.embedding import SentenceEncoder

            name = self.config.embedding.encoder
            model = None if name == "default" else self.config.resolve(name) or name
            self.encoder = SentenceEncoder(model, batch_size=self.config.embedding.batch_size)
        return self.encoder


def _execute(cell: Cell, ctx: _Context) -> dict[str, Any]:
    from mrekv.experiment import methods
    from mrekv.experiment.lm_cells import run_lm

    config = ctx.config
    data = ctx.datasets[cell.dataset]
    spec = cell.method
    start = time.perf_counter()
    label_words: Any = None
    if spec.words in ("manual", "kpt", "mre-frequency", "mre-best") and \
            spec.family not in LM_FAMILIES:
        label_words = ctx.words(cell.dataset, spec.words)
    split = None if cell.seed is None else data.few_shot(cell.shots, cell.seed, config)
    extra: dict[str, Any] = {}
    if spec.family in LM_FAMILIES:
        state = ctx.lm_dataset(cell.dataset, str(cell.model), str(cell.template))
        label_words = state.label_words(str(spec.words))
        outcome = run_lm(spec, label_words, state, data, split, config)
        if spec.words == "mre-best" and state.selection is not None:
            extra["selection"] = state.selection
        extra["calibration_source"] = "knowledge split (unlabeled), fixed per dataset"
    elif spec.family == "probe":
        outcome = methods.run_probe(label_words, data)
    elif spec.family == "embedding":
        outcome = methods.run_embedding(label_words, data, split, ctx.get_encoder(), config)
    elif spec.family == "peer":
        from mrekv.experiment.peer import run_setfit

        outcome = run_setfit(data, split, config)
    else:
        model = ctx.model(str(cell.model), cell.dataset)
        outcome = methods.run_classifier(spec, label_words, data, split, model,
                                         str(cell.template), config)
    fewshot = None
    if split is not None:
        fewshot = {"train_size": len(split.train), "dev_size": len(split.dev),
                   "train_hash": indices_hash(split.train), "dev_hash": indices_hash(split.dev)}
    knowledge: dict[str, Any] | None = None  # soft / finetune: no label words at all
    if spec.words in ("mre-frequency", "mre-best"):
        knowledge = data.knowledge_info(config)  # mined: the split that fed the verbalizer
    elif spec.words in ("manual", "kpt"):  # not mined from any data split
        source = label_words.provenance.get("file", "class names") if spec.words == "kpt" \
            else "class names / config"
        knowledge = {"name": f"{spec.words}: {source}", "size": 0, "hash": None}
    return {
        "metrics": outcome.metrics,
        "label_words_per_class": outcome.label_words_per_class,
        "knowledge": knowledge,
        "fewshot": fewshot,
        "timings": {**{k: round(v, 4) for k, v in outcome.timings.items()},
                    "total_s": round(time.perf_counter() - start, 4)},
        **extra,
    }


def _record(cell: Cell, key: str, ctx: _Context, lang: str, body: dict[str, Any],
            status: str) -> dict[str, Any]:
    config = ctx.config
    spec = cell.method
    return {
        "format": RESULTS_FORMAT,
        "experiment": config.name,
        "smoke": config.smoke,
        "status": status,
        "cell_key": key,
        "dataset": cell.dataset,
        "lang": lang,
        "method": spec.name,
        "family": spec.family,
        "verbalizer": spec.words,
        "calibrated": spec.calibrated,
        "proxy": spec.proxy,
        "shots": cell.shots,
        "seed": cell.seed,
        "model": cell.model,
        "template": cell.template,
        **body,
        "config_hash": stable_hash(config.to_dict()),
        "mrekv_version": __version__,
        "git_commit": git_commit(),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def run_experiment(
    config_path: str | Path,
    *,
    output: str | Path | None = None,
    resume: bool = True,
    progress: bool = True,
    model: str | None = None,
    shard: tuple[int, int] | None = None,
    methods: list[str] | None = None,
    datasets: list[str] | None = None,
) -> Path:
    """Run every cell of an experiment config and return the results file.

    Args:
        config_path: a ``.toml`` or ``.json`` experiment config.
        output: the results file (JSON Lines); default the config's ``output``
            (relative to the config file).
        resume: skip cells already in the results file (by ``cell_key``); False
            moves an existing results file aside (``<name>.<time>.bak``) and starts over.
        progress: show a progress bar over cells with the estimated time left.
        model: a model id or folder replacing the config's ``model`` section.
        shard: ``(i, n)``: run only the i-th of n interleaved parts of the grid (a
            part is a whole (dataset, model) group, so LM passes are not repeated);
            its results go to ``<output stem>.shard-<i>-of-<n>.jsonl`` unless
            ``output`` is given. ``experiment report`` reads several files.
        methods: run only these methods of the config (the cells keep their keys,
            so a later full run skips them).
        datasets: run only the cells of these datasets of the config (names as in
            the results' ``dataset`` field), in this order.

    Returns:
        The path of the results file.

    Raises:
        ConfigError: a bad config, or a knowledge source that would leak (it shares
            texts with the test set or the few-shot pool).
        ResultsLockedError: another process is writing the same results file.

    Example:
        >>> run_experiment("experiments/quick.toml")   # doctest: +SKIP
        PosixPath('.../runs/quick.jsonl')
    """
    from tqdm.auto import tqdm

    from mrekv.experiment.methods import kpt_path, prepare_dataset

    config = load_config(config_path)
    if model is not None:
        config = dataclasses.replace(config, model=ModelConfig(ids=(model,)))
    out = Path(output) if output is not None else config.resolve(config.output)
    assert out is not None
    if shard is not None:
        index, count = shard
        if not 0 <= index < count:
            raise ConfigError(f"shard {index}/{count}: need 0 <= i < n")
        if output is None:
            out = out.with_name(f"{out.stem}.shard-{index}-of-{count}{out.suffix}")
    wanted = None
    if methods is not None:
        wanted = {parse_method(m).name for m in methods}
        unknown = sorted(wanted - set(config.methods))
        if unknown:
            raise ConfigError(f"methods {unknown} are not in the config; its methods: "
                              f"{list(config.methods)}")
    names = [d.name for d in config.datasets]
    if datasets is not None:
        unknown = sorted(set(datasets) - set(names))
        if unknown:
            raise ConfigError(f"datasets {unknown} are not in the config; its datasets: {names}")
    with results_lock(out):  # one writer per file: no twice-run cells, no repair of its lines
        if out.exists() and not resume:
            out.rename(out.with_name(f"{out.name}.{int(time.time())}.bak"))
        repair(out)
        done = finished_keys(out)
        ctx = _Context(config, out.parent / f"{out.stem}.models")
        for dataset in config.datasets:  # load all first: a leaking config is refused up front
            ctx.datasets[dataset.name] = prepare_dataset(dataset, config)
        langs = {name: data.lang for name, data in ctx.datasets.items()}
        has_kpt = {name: kpt_path(data, config) is not None for name, data in ctx.datasets.items()}
        cells = [(cell, cell_key(config, cell)) for cell in plan_cells(config, langs, has_kpt)]
        if wanted is not None:
            cells = [(c, k) for c, k in cells if c.method.name in wanted]
        if datasets is not None:
            rank = {name: i for i, name in enumerate(datasets)}
            cells = sorted(((c, k) for c, k in cells if c.dataset in rank),
                           key=lambda ck: rank[ck[0].dataset])
        if shard is not None:
            groups = list(dict.fromkeys((c.dataset, c.model) for c, _ in cells))
            mine = {g for i, g in enumerate(groups) if i % shard[1] == shard[0]}
            cells = [(c, k) for c, k in cells if (c.dataset, c.model) in mine]
        pending = [(cell, key) for cell, key in cells if key not in done]
        # run a (dataset, model) group's cells together: one model load and LM cache per group
        running = dict.fromkeys((c.dataset, c.model) for c, _ in pending)
        order = {g: i for i, g in enumerate(running)}
        pending.sort(key=lambda ck: order[(ck[0].dataset, ck[0].model)])
        ctx.progress = progress
        bar = tqdm(pending, desc=config.name, unit="cell", disable=not progress, dynamic_ncols=True)
        for cell, key in bar:
            bar.set_postfix_str(f"{cell.dataset} {cell.method.name} k={cell.shots} s={cell.seed}")
            if cell.skip_reason is not None:
                body: dict[str, Any] = {"skip_reason": cell.skip_reason, "metrics": None}
                append_line(out, _record(cell, key, ctx, langs[cell.dataset], body, "skipped"))
                continue
            body = _execute(cell, ctx)
            append_line(out, _record(cell, key, ctx, langs[cell.dataset], body, "ok"))
        return out
