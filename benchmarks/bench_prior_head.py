"""Cost of the verbalizer-as-prior head next to the LM pass it reads (side by side, one run).

    python benchmarks/bench_prior_head.py [--model eval:smollm2-135m] [--train 256] [--test 1000]

Times, on the same texts: (a) one LM pass (``PromptClassifier.read_states``) over the
train + test texts; (b) the head's own work on those cached states (CV over the penalty
grid and prior-vs-probe, refit, predict). Prints the ratio (a + b) / a: the issue's goal
is <= 1.1. Also prints the cached features' size.
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
    head = PriorHead().fit(states[:n, :-1], y, {"verbalizer": prior[:n], "none": None},
                           len(classes))
    head.predict_proba(states[n:, :-1], None if head.choice_.prior == "none" else prior[n:])
    head_s = time.perf_counter() - began
    print(f"model {args.model}, {n} train + {len(test)} test texts, {args.threads} thread(s)")
    print(f"LM pass {lm_s:.1f} s; head (CV {head.choice_.folds} folds, choice "
          f"{head.choice_.prior}, penalty {head.choice_.penalty}) {head_s:.2f} s")
    print(f"ratio (LM pass + head) / LM pass = {(lm_s + head_s) / lm_s:.3f} (goal <= 1.1)")
    print(f"cached features: {states.shape[1]} float32 per text = "
          f"{states.shape[1] * 4 / 1024:.1f} KiB/text, {states.nbytes / 2 / 2**20:.1f} MiB here")


if __name__ == "__main__":
    main()
