"""Exact multi-token scoring: prefix rows ordered by length vs in first-seen order.

``mrekv.prompt.exact`` runs one continuation batch of prefix rows per chunk of
``max_rows`` rows on top of the prompt's cached keys and values. Since rows are
ordered by length, each chunk is padded only to its own longest prefix; this
script times that against the same rows in first-seen order padded to the
longest prefix of the whole list (what ``plan_prefixes`` did before), side by
side in one run, and checks that both give the same scores.

    mrekv mine --corpus ner-wikipedia --split train --top-k 100 --out /tmp/ner-kv.json
    python benchmarks/bench_exact.py --words /tmp/ner-kv.json --corpus ner-wikipedia \\
        --lang ja --threads 1

The model is ``--model`` (a folder, ``.gguf`` file or Hub id) or, by default, the real
Gemma-3-270m of ``make eval-models``.

Measured (one thread, while two other jobs shared the 2-core machine; read the ratio):
ner-wikipedia's 776 label words of the real-model suite (2040 prefix rows, up to 25
sub-tokens), Gemma-3-270m, 2 Japanese texts: 44.8 s/text sorted vs 140.8 s/text in
first-seen order (3.1x); largest score difference 2.2e-4.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def _words(path: Path) -> list[str]:
    """Every word of a label-word file (mrekv JSON or KPT) or of a feature-cache meta.json."""
    data = json.loads(path.read_text(encoding="utf-8")) if path.suffix == ".json" else None
    if isinstance(data, dict) and isinstance(data.get("words"), list):
        return [str(w) for w in data["words"]]
    from mrekv.verbalizer.io import read_label_words

    label_words = read_label_words(path)
    return sorted({w for ws in label_words.as_lists() for w in ws})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--words", type=Path, required=True, help="label-word file")
    parser.add_argument("--corpus", default="ner-wikipedia", help="texts: its test split")
    parser.add_argument("--lang", default="ja", choices=["en", "ja", "zh"])
    parser.add_argument("--model", default=None, help="default: eval model gemma-3-270m")
    parser.add_argument("--texts", type=int, default=2, help="texts timed")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    import torch

    from mrekv.data.corpora import load_corpus
    from mrekv.models import load_lm
    from mrekv.prompt.causal_template import default_causal_template, encode_causal
    from mrekv.prompt.exact import PrefixPlan, exact_word_log_probs, plan_prefixes
    from mrekv.verbalizer.tokens import tokenize_word

    torch.set_num_threads(args.threads)
    if args.model is None:
        from mrekv.eval_models import locate

        args.model = str(locate("gemma-3-270m"))
    model, tok, _ = load_lm(args.model)
    words = _words(args.words)
    word_ids = [tokenize_word(tok, w, leading_space="auto") for w in words]
    plan = plan_prefixes(word_ids)
    # first-seen order: the rows as the words list them (old behaviour), padded to the max
    order: dict[tuple[int, ...], int] = {}
    for ids in word_ids:
        for i in range(1, len(ids)):
            order.setdefault(tuple(ids[:i]), len(order))
    rows = {tuple(r[: int(n)].tolist()): i
            for i, (r, n) in enumerate(zip(plan.prefixes, plan.prefix_mask.sum(1), strict=True))}
    perm = torch.tensor([rows[p] for p in sorted(order, key=order.__getitem__)], dtype=torch.long)
    inverse = torch.empty_like(perm)
    inverse[perm] = torch.arange(len(perm))
    reads = plan.reads.clone()
    reads[:, 1] = inverse[reads[:, 1]]
    unsorted = PrefixPlan(plan.prefixes[perm], plan.prefix_mask[perm], plan.prefix_last[perm],
                          plan.first_ids, reads, plan.empty)
    texts = list(load_corpus(args.corpus).split("test").texts[: args.texts])
    prompts = encode_causal(default_causal_template(args.lang), tok, texts)
    print(f"{len(words)} words, {plan.prefixes.shape[0]} prefix rows, longest prefix "
          f"{plan.prefixes.shape[1]} tokens, {len(texts)} texts, {args.threads} thread(s)")
    seconds, scores = {}, {}
    with torch.no_grad():
        for name, p, max_rows in (("sorted", plan, 256), ("first-seen", unsorted, 512)):
            start = time.perf_counter()
            scores[name] = [exact_word_log_probs(model, torch.tensor(e.input_ids), p,
                                                 max_rows=max_rows) for e in prompts]
            seconds[name] = (time.perf_counter() - start) / len(texts)
            print(f"{name}: {seconds[name]:.1f} s/text", flush=True)
    diff = max(float((a - b).abs().max())
               for a, b in zip(scores["sorted"], scores["first-seen"], strict=True))
    print(f"speed-up {seconds['first-seen'] / seconds['sorted']:.2f}x; "
          f"largest score difference {diff:.1e}")


if __name__ == "__main__":
    main()
