"""Report sections for frozen-LM cells (``lm:*``, ``lm-exact*:*``): the real-model tables.

* which models (name, size, kind) produced the numbers, stated first;
* a headline table per (dataset, model): calibrated zero-shot macro-F1 of manual,
  KPT, mre-frequency (WLI-KV) and mre-best, and their means at the largest k;
* exact multi-token scoring (whole-word and per-token log-probabilities) against
  first-sub-token scoring (paired zero-shot cells);
* why mined words lose: the share of a verbalizer's words whose first sub-token
  also starts a word of another class, and of multi-token words.

Everything is read from result lines only.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from mrekv.experiment.config import EXACT_FAMILIES, LM_FAMILIES

WORDS = ("manual", "kpt", "mre-frequency", "mre-best")


def is_lm(record: dict[str, Any]) -> bool:
    return record.get("family") in LM_FAMILIES


def describe_models(records: Sequence[dict[str, Any]]) -> list[str]:
    """One line per model of the LM cells (registry facts for ``eval:`` models)."""
    from mrekv.eval_models import EVAL_MODELS, PREFIX

    lines = []
    for model in sorted({str(r.get("model")) for r in records if is_lm(r)}):
        entry = EVAL_MODELS.get(model[len(PREFIX):]) if model.startswith(PREFIX) else None
        if entry is not None:
            lines.append(f"- `{model}`: {entry.file} ({entry.parameters} parameters, causal LM, "
                         f"languages {', '.join(entry.langs)}; installed by `{entry.install}`)")
        else:
            lines.append(f"- `{model}`")
    return lines


def _mean(values: Sequence[float]) -> str:
    return f"{100 * statistics.fmean(values):.1f}" if values else "–"


def headline_table(records: Sequence[dict[str, Any]]) -> list[str]:
    """Calibrated macro-F1 per (dataset, model): zero-shot, and mean over seeds at max k."""
    cells: dict[tuple[Any, ...], list[float]] = defaultdict(list)
    for r in records:
        if r.get("family") == "lm" and r.get("calibrated"):
            cells[(r["lang"], r["dataset"], r["model"], r["verbalizer"], r["shots"])].append(
                float(r["metrics"]["macro_f1"]))
    groups = sorted({k[:3] for k in cells})
    if not groups:
        return []
    top_k = max(k[4] for k in cells)
    header = ["lang", "dataset", "model", *(f"{w} 0-shot" for w in WORDS),
              *(f"{w} {top_k}-shot" for w in WORDS if top_k > 0)]
    rows = []
    for lang, dataset, model in groups:
        zero = [_mean(cells.get((lang, dataset, model, w, 0), [])) for w in WORDS]
        few = [_mean(cells.get((lang, dataset, model, w, top_k), [])) for w in WORDS] \
            if top_k > 0 else []
        rows.append([lang, dataset, f"`{model}`", *zero, *few])
    return _table(header, rows)


def exact_table(records: Sequence[dict[str, Any]]) -> list[str]:
    """``lm-exact:X`` / ``lm-exact-mean:X`` against ``lm:X`` on the same zero-shot cells."""
    index = {(r["dataset"], r["model"], r["method"]): r for r in records
             if is_lm(r) and r["shots"] == 0}
    rows = []
    for (dataset, model, method), r in sorted(index.items()):
        family, _, words = method.partition(":")
        if family not in EXACT_FAMILIES:
            continue
        other = index.get((dataset, model, "lm:" + words))
        if other is None:
            continue
        a, b = float(r["metrics"]["macro_f1"]), float(other["metrics"]["macro_f1"])
        rows.append([r["lang"], dataset, f"`{model}`", f"`{words}`",
                     "exact" if family == "lm-exact" else "exact per token",
                     f"{100 * b:.1f}", f"{100 * a:.1f}", f"{100 * (a - b):+.1f}",
                     f"{100 * float(r['metrics'].get('multi_token', 0)):.0f}%"])
    if not rows:
        return []
    rows.sort(key=lambda row: (row[0], row[1], row[2], row[3], row[4]))
    return _table(["lang", "dataset", "model", "verbalizer", "scoring", "first sub-token",
                   "exact scoring", "exact - first", "multi-token words"], rows)


def overlap_table(records: Sequence[dict[str, Any]]) -> list[str]:
    """First-token collisions between classes, with the zero-shot calibrated score."""
    rows = []
    seen = set()
    for r in sorted(records, key=lambda r: (r["lang"], r["dataset"], str(r["model"]),
                                            r["method"])):
        if r.get("family") != "lm" or r["shots"] != 0 or not r.get("calibrated"):
            continue
        key = (r["dataset"], r["model"], r["verbalizer"])
        if key in seen or "shared_first_token" not in r["metrics"]:
            continue
        seen.add(key)
        m = r["metrics"]
        kept = r.get("label_words_per_class") or {}
        rows.append([r["lang"], r["dataset"], f"`{r['model']}`", f"`{r['verbalizer']}`",
                     sum(kept.values()), f"{100 * m['shared_first_token']:.0f}%",
                     f"{100 * m['multi_token']:.0f}%", f"{100 * float(m['macro_f1']):.1f}"])
    if not rows:
        return []
    return _table(["lang", "dataset", "model", "verbalizer", "words kept",
                   "first token shared with another class", "multi-token words",
                   "0-shot calibrated macro-F1"], rows)


def selection_table(records: Sequence[dict[str, Any]]) -> list[str]:
    """What ``mre-best`` chose on held-out knowledge data, per (dataset, model)."""
    chosen = {}
    for r in records:
        sel = r.get("selection")
        if sel and is_lm(r):
            chosen[(r["lang"], r["dataset"], str(r["model"]))] = sel
    if not chosen:
        return []
    rows = []
    for (lang, dataset, model), sel in sorted(chosen.items()):
        scores = sel.get("scores", {})
        best = scores.get(f"{sel['method']}@{sel['top_k']}")
        freq = scores.get(f"frequency@{sel['top_k']}")
        rows.append([lang, dataset, f"`{model}`", sel["method"], sel["top_k"],
                     sel.get("held_out_size", "–"),
                     "–" if best is None else f"{100 * best:.1f}",
                     "–" if freq is None else f"{100 * freq:.1f}"])
    return _table(["lang", "dataset", "model", "chosen method", "k", "held-out texts",
                   "held-out macro-F1", "frequency at that k"], rows)


def peer_table(records: Sequence[dict[str, Any]]) -> list[str]:
    """SetFit (``peer:setfit``) beside the calibrated frozen-LM verbalizers, same splits."""
    cells: dict[tuple[Any, ...], list[float]] = defaultdict(list)
    for r in records:
        if r.get("family") == "peer" or (r.get("family") == "lm" and r.get("calibrated")):
            name = r["method"] if r.get("family") == "peer" else \
                f"{r['verbalizer']} ({str(r['model']).split(':')[-1]})"
            cells[(r["lang"], r["dataset"], r["shots"], name)].append(
                float(r["metrics"]["macro_f1"]))
    peers = sorted({k[:3] for k in cells if k[3].startswith("peer:") and k[2] > 0})
    if not peers:
        return []
    names = sorted({k[3] for k in cells if k[:3] in set(peers)})
    rows = [[lang, dataset, shots,
             *(_mean(cells.get((lang, dataset, shots, n), [])) for n in names)]
            for lang, dataset, shots in peers]
    return _table(["lang", "dataset", "shots", *names], rows)


def full_table(records: Sequence[dict[str, Any]]) -> list[str]:
    """Full prompt-tuning and fine-tuning beside the frozen-LM cells of the same k-shot samples.

    Rows are the (dataset, model, shots, seed) cells of the real (non-proxy) ``prompt`` and
    ``finetune`` families; frozen columns are the calibrated ``lm:`` cells of that seed.
    """
    frozen: dict[tuple[Any, ...], float] = {}
    full: dict[tuple[Any, ...], float] = {}
    fit: dict[tuple[Any, ...], list[float]] = defaultdict(list)
    for r in records:
        key = (r["lang"], r["dataset"], str(r["model"]), r["shots"], r["seed"])
        score = float(r["metrics"]["macro_f1"])
        if r.get("family") == "lm" and r.get("calibrated"):
            frozen[(*key, r["verbalizer"])] = score
        elif r.get("family") in ("prompt", "finetune") and not r.get("proxy") \
                and not r.get("smoke") and r.get("status", "ok") == "ok":
            name = "finetune" if r["family"] == "finetune" else r["verbalizer"]
            full[(*key, name)] = score
            fit[key].append(float(r.get("timings", {}).get("fit_s", 0.0)))
    if not full:
        return []
    words = ("manual", "mre-frequency", "mre-best")
    rows = []
    for key in sorted({k[:5] for k in full}):
        cell = [frozen.get((*key, w)) for w in words] + \
            [full.get((*key, w)) for w in (*words, "finetune")]
        rows.append([key[0], key[1], f"`{key[2]}`", key[3], key[4],
                     *("–" if v is None else f"{100 * v:.1f}" for v in cell),
                     f"{statistics.fmean(fit[key]):.0f}"])
    return _table(["lang", "dataset", "model", "shots", "seed",
                   *(f"frozen {w}" for w in words), *(f"full {w}" for w in words),
                   "finetune", "mean fit s"], rows)


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    # an unset value (no model, no held-out size...) shows as "–", never as "None"
    lines += ["| " + " | ".join("–" if c is None else str(c) for c in row) + " |"
              for row in rows]
    return [*lines, ""]


def lm_sections(records: Sequence[dict[str, Any]]) -> list[str]:
    """The Markdown lines of every LM section (empty without LM cells)."""
    lm = [r for r in records if is_lm(r)]
    if not lm:
        return []
    lines = ["## Real pretrained LMs (frozen): label words compared", "",
             "Models (small causal LMs, not the masked LMs of the MRE paper):", "",
             *describe_models(lm), "",
             "Calibrated macro-F1 (%, mean over seeds). Few-shot cells train only the "
             "knowledgeable verbalizer's word weights on the frozen LM; a manual verbalizer has "
             "nothing to train, so its few-shot cells equal its zero-shot ones.", "",
             *headline_table(lm)]
    picked = selection_table(lm)
    if picked:
        lines += ["### What `mre-best` chose (held-out knowledge data, never test)", "",
                  *picked]
    exact = exact_table(lm)
    if exact:
        lines += ["### Exact multi-token scoring vs first sub-token (zero-shot, calibrated)",
                  "", "*exact*: each word's log-probability by teacher forcing (a sum over its "
                  "sub-tokens, so long words score lower); *exact per token*: that divided by "
                  "the word's number of sub-tokens. Both read the same cached LM pass.", "",
                  *exact]
    peers = peer_table(records)
    if peers:
        lines += ["### Against a peer: SetFit on all-MiniLM-L6-v2 (same few-shot splits)", "",
                  "Macro-F1 (%, mean over seeds); mrekv columns are calibrated frozen-LM cells.",
                  "", *peers]
    full = full_table(records)
    if full:
        lines += ["### Full prompt-tuning and fine-tuning vs the frozen LM (same k-shot samples)",
                  "",
                  "Macro-F1 (%). *frozen*: calibrated verbalizers on the frozen LM (word weights "
                  "trained; test capped at 500 texts). *full*: calibrated prompt-tuning that "
                  "updates every LM weight; *finetune*: a classification head on the LM, every "
                  "weight updated (both: test capped at 200 texts, the first 200 of the same "
                  "seeded draw). Full-mode mre-best is chosen by the model-free probe.", "",
                  *full]
    overlap = overlap_table(lm)
    if overlap:
        lines += ["### Why label words fail: first sub-tokens shared between classes", "",
                  "A word whose first sub-token also starts a word of another class gets the "
                  "same first-token score in both; exact scoring tells them apart (what that "
                  "changed is in the exact-vs-first table).", "",
                  *overlap]
    return lines
