"""Cost of the verbalizer-as-prior head next to the LM pass it reads (side by side, one run).

    python benchmarks/bench_prior_head.py [--model eval:smollm2-135m] [--train 256] [--test 1000]

Times, on the same texts: (a) one LM pass (``PromptClassifier.read_states``) over the
train + test texts; (b) the default frozen head's own work on those cached states, as
``PromptClassifier(train_mode="frozen")`` does it (CV over the penalty grid, refit, the
n-gram expert's C and pooling weight on the same folds, predict). Prints the ratio
(a + b) / a: the issue's goal is <= 1.1. Also prints the cached features' size.
"""

from __future__ import annotations

import argparse
import time


def main() -> None:
    import numpy as np
    import torch

    import mrekv
    from mrekv.data.corpora import load_corpus
    from mrekv.eval_models import locate
    from mrekv.prompt.ngram_expert import fit_pooled
    from mrekv.prompt.prior_head import PriorHead
    from mrekv.prompt.read_states import output_layer, word_scores

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="eval:smollm2-135m")
    parser.add_argument("--train", type=int, default=256)
    parser.add_argument("--test", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    corpus = load_corpus("sst2")
    pool = corpus.split_indices("train")
    test = corpus.split_indices("test")[: args.test]
    texts = [corpus.texts[i] for i in pool[: args.train]] + [corpus.texts[i] for i in test]
    classes = sorted(set(corpus.labels))
    y = np.array([classes.index(corpus.labels[i]) for i in pool[: args.train]])
    y_test = np.array([classes.index(corpus.labels[i]) for i in test])
    path = str(locate(args.model)) if args.model.startswith("eval:") else args.model
    clf = mrekv.PromptClassifier(path, template="{text} All in all, it was {mask}",
                                 verbalizer={"negative": ["bad", "terrible", "awful"],
                                             "positive": ["good", "great", "wonderful"]},
                                 progress=False)
    began = time.perf_counter()
    states = clf.read_states(texts).double().numpy()
    lm_s = time.perf_counter() - began
    began = time.perf_counter()
    weight, bias = output_layer(clf.module_.mlm)
    verbalizer = clf.module_.verbalizer
    with torch.no_grad():
        prior = verbalizer.class_scores(torch.from_numpy(
            word_scores(states, weight, bias, verbalizer))).double().numpy()
    n = args.train
    head = PriorHead().fit(states[:n, :-1], y, {"verbalizer": prior[:n]}, len(classes))
    logits = head.decision_function(states[n:, :-1], prior[n:])
    head_s = time.perf_counter() - began
    began = time.perf_counter()
    pooling = fit_pooled(head, texts[:n], y, len(classes), "en")
    if pooling.expert is not None:
        logits = logits + pooling.beta * pooling.expert.log_proba(texts[n:])
    expert_s = time.perf_counter() - began
    print(f"model {args.model}, {n} train + {len(test)} test texts, {args.threads} thread(s)")
    print(f"LM pass {lm_s:.1f} s; head (CV {head.choice_.folds} folds, penalty "
          f"{head.choice_.penalty}) {head_s:.2f} s; n-gram expert (weight {pooling.beta}) "
          f"{expert_s:.2f} s; test accuracy {(logits.argmax(1) == y_test).mean():.3f}")
    print(f"ratio (LM pass + head + expert) / LM pass = {(lm_s + head_s + expert_s) / lm_s:.3f} "
          f"(goal <= 1.1); without the expert {(lm_s + head_s) / lm_s:.3f}")
    print(f"cached features: {states.shape[1]} float32 per text = "
          f"{states.shape[1] * 4 / 1024:.1f} KiB/text, {states.nbytes / 2 / 2**20:.1f} MiB here")


if __name__ == "__main__":
    main()
