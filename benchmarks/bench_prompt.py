"""Speed and memory of PromptClassifier against a raw masked-LM pipeline.

Side by side, in one run, on a randomly initialised bert-base-sized masked LM
(12 layers, 768 hidden, the real bert-base-uncased vocabulary; random weights
cost what trained ones cost) and the first ``--n`` SST-2 test sentences:

1. inference throughput: ``PromptClassifier.predict_proba`` vs a raw
   ``AutoModelForMaskedLM`` forward with dynamic padding and length-sorted
   batches of the same size (tokenization included in both);
2. training step time: ``PromptClassifier.fit(max_steps=k)`` vs a raw MLM
   training step (forward + MLM loss at the mask + backward + AdamW step) on
   the same batches;
3. peak memory of each variant, each in a fresh subprocess (see ``_worker``);
4. for context, the raw pipeline padded to ``max_length`` in input order (what
   OpenPrompt does).

Each timing is warmed up, the variants are interleaved, repeated, and the
median is reported. Ratios are raw/variant for speed (higher is better, goal
>= 0.9) and variant/raw for memory (lower is better, goal <= 1.1).

Run (about 22 minutes on one CPU thread)::

    .venv/bin/python benchmarks/bench_prompt.py --threads 1
    .venv/bin/python benchmarks/bench_prompt.py --small   # seconds: a wiring check

``pytest benchmarks/bench_prompt.py -m benchmark`` runs the ``--small`` check.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
import torch

from mrekv.prompt.batching import collate, grouped_batches, sorted_batches
from mrekv.prompt.classifier import PromptClassifier
from mrekv.verbalizer.base import Verbalizer

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
TOKENIZER = SHARED / "models" / "tokenizers" / "en-bert-base-uncased"
SST2 = SHARED / "datasets" / "en-sentence-cls-harvardnlp" / "stsa.binary.test"
TEMPLATE = "{text} It was {mask}."
WORDS = {"negative": "bad", "positive": "good"}


class _FirstTokenVerbalizer(Verbalizer):
    """One word per class, first sub-token log-probability (fallback when the
    library's ManualVerbalizer is not available)."""

    config_type = "bench_first_token"

    def __init__(self, words: dict[str, str]) -> None:
        super().__init__(tuple(words))
        self.words = dict(words)
        self.register_buffer("ids", torch.zeros(len(words), dtype=torch.long), persistent=False)

    def prepare(self, tokenizer: Any, model: Any = None) -> _FirstTokenVerbalizer:
        ids = [tokenizer(w, add_special_tokens=False)["input_ids"][0] for w in self.words.values()]
        self.ids = torch.tensor(ids, device=self.ids.device)
        return self

    def forward(self, mask_inputs: torch.Tensor) -> torch.Tensor:
        return torch.log_softmax(mask_inputs[:, 0, :], dim=-1)[:, self.ids]


def _verbalizer() -> Verbalizer:
    try:
        from mrekv.verbalizer.manual import ManualVerbalizer
    except ImportError:
        return _FirstTokenVerbalizer(WORDS)
    return ManualVerbalizer(tuple(WORDS), [[w] for w in WORDS.values()])


def _template() -> Any:
    from mrekv.prompt.template import Template

    return Template(TEMPLATE)


def load_sst2(n: int) -> tuple[list[str], list[str]]:
    texts, labels = [], []
    with open(SST2, encoding="utf-8") as handle:
        for line in handle:
            label, _, text = line.rstrip("\n").partition(" ")
            texts.append(text)
            labels.append("positive" if label == "1" else "negative")
            if len(texts) == n:
                break
    return texts, labels


def build_model_dir(folder: Path, small: bool) -> None:
    from transformers import AutoTokenizer, BertConfig, BertForMaskedLM

    tok = AutoTokenizer.from_pretrained(str(TOKENIZER))
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(tok), pad_token_id=tok.pad_token_id)  # bert-base sizes
    if small:
        config = BertConfig(vocab_size=len(tok), hidden_size=64, num_hidden_layers=2,
                            num_attention_heads=2, intermediate_size=128)
    BertForMaskedLM(config).save_pretrained(str(folder))
    tok.save_pretrained(str(folder))


class Bench:
    """The three pipelines over one model."""

    def __init__(self, folder: Path, texts: list[str], labels: list[str], args: Any) -> None:
        from transformers import AutoModelForMaskedLM, AutoTokenizer

        self.device = torch.device(args.device)
        self.tok = AutoTokenizer.from_pretrained(str(folder))
        self.model = AutoModelForMaskedLM.from_pretrained(str(folder)).to(self.device).eval()
        self.texts, self.labels = texts, labels
        self.bs, self.steps = args.batch_size, args.train_steps
        self.clf = PromptClassifier(
            self.model, tokenizer=self.tok, template=_template(), verbalizer=_verbalizer(),
            batch_size=self.bs, eval_batch_size=self.bs, max_length=128, max_steps=self.steps,
            progress=False, device=self.device, seed=0,
        )
        self.prompted = [TEMPLATE.format(text=t, mask=self.tok.mask_token) for t in texts]
        # the training batches fit() will use (epoch 1 of seed 0), for the raw loops
        encoded = self.clf._encode(texts)
        self.ids = [e.input_ids for e in encoded]
        self.mask_pos = [e.mask_positions for e in encoded]
        word_ids = [self.tok(w, add_special_tokens=False)["input_ids"][0] for w in WORDS.values()]
        self.targets = [word_ids[list(WORDS).index(y)] for y in labels]
        self.train_batches = grouped_batches([len(x) for x in self.ids], self.bs, seed=0, epoch=1)

    def sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize()

    # -- inference ----------------------------------------------------------------------
    def infer_mrekv(self) -> None:
        self.clf.predict_proba(self.texts)

    def infer_raw(self, fixed: bool = False) -> None:
        enc = self.tok(self.prompted, truncation=True, max_length=128)["input_ids"]
        if fixed:
            order = list(range(len(enc)))
            batches = [order[k : k + self.bs] for k in range(0, len(enc), self.bs)]
        else:
            batches = sorted_batches([len(x) for x in enc], self.bs)
        self.model.eval()
        with torch.inference_mode():
            for idx in batches:
                b = self._pad(idx, enc, fixed)
                logits = self.model(input_ids=b.input_ids, attention_mask=b.attention_mask).logits
                _ = torch.log_softmax(logits[b.input_ids == self.tok.mask_token_id], dim=-1).cpu()

    def infer_fixed(self) -> None:
        self.infer_raw(fixed=True)

    # -- training -----------------------------------------------------------------------
    def train_mrekv(self) -> None:
        self.clf.fit(self.texts, self.labels)

    def train_raw(self, fixed: bool = False) -> None:
        optimizer = torch.optim.AdamW(self.model.parameters(), lr=2e-5)
        self.model.train()
        for idx in self.train_batches[: self.steps]:
            b = self._pad(idx, self.ids, fixed)
            target = torch.full_like(b.input_ids, -100)
            rows = torch.arange(len(idx))
            positions = torch.as_tensor([self.mask_pos[i][0] for i in idx])
            target[rows, positions] = torch.as_tensor([self.targets[i] for i in idx])
            out = self.model(input_ids=b.input_ids, attention_mask=b.attention_mask,
                             labels=target.to(self.device))
            out.loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        self.model.eval()

    def train_fixed(self) -> None:
        self.train_raw(fixed=True)

    def _pad(self, idx: Sequence[int], ids: Sequence[Sequence[int]], fixed: bool) -> Any:
        if fixed:  # pad every batch to max_length, as OpenPrompt's dataloader does
            ids = [list(x) + [self.tok.pad_token_id] * (128 - len(x)) for x in ids]
            b = collate(idx, ids, self.tok.pad_token_id)
            attention = (b.input_ids != self.tok.pad_token_id).long()
            return type(b)(b.input_ids, attention, None, None, b.indices).to(self.device)
        return collate(idx, ids, self.tok.pad_token_id).to(self.device)


VARIANTS: dict[str, dict[str, str]] = {
    "infer": {"raw": "infer_raw", "mrekv": "infer_mrekv", "fixed": "infer_fixed"},
    "train": {"raw": "train_raw", "mrekv": "train_mrekv", "fixed": "train_fixed"},
}


def time_phase(bench: Bench, phase: str, repeats: int) -> dict[str, float]:
    funcs: dict[str, Callable[[], None]] = {
        name: getattr(bench, method) for name, method in VARIANTS[phase].items()
    }
    for fn in funcs.values():  # warm-up
        fn()
    times: dict[str, list[float]] = {name: [] for name in funcs}
    for _ in range(repeats):
        for name, fn in funcs.items():  # interleaved
            bench.sync()
            start = time.perf_counter()
            fn()
            bench.sync()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}


def _rss_kib(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _worker(args: Any) -> None:
    """Measure one variant's peak memory above the loaded model, in this fresh process.

    CPU: the resident set after loading is the baseline; the kernel's peak-RSS
    counter (VmHWM) is reset (``/proc/self/clear_refs`` = 5) so the peak of
    loading does not count, the workload runs once, and VmHWM - baseline is the
    extra. RSS sees torch's native allocations, which tracemalloc does not.
    CUDA: ``max_memory_allocated`` - ``memory_allocated`` after a peak reset.
    """
    texts, labels = load_sst2(args.n)
    bench = Bench(Path(args.model_dir), texts, labels, args)
    fn = getattr(bench, VARIANTS[args.phase][args.worker])
    if bench.device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        fn()
        torch.cuda.synchronize()
        extra = (torch.cuda.max_memory_allocated() - base) / 2**20
    else:
        import gc

        gc.collect()
        base = _rss_kib("VmRSS")
        with open("/proc/self/clear_refs", "w", encoding="ascii") as handle:
            handle.write("5")
        fn()
        extra = (_rss_kib("VmHWM") - base) / 1024
    print(json.dumps({"extra_mib": extra}))


def measure_memory(args: Any, phase: str, variant: str) -> float:
    cmd = [sys.executable, __file__, "--worker", variant, "--phase", phase, "--model-dir",
           args.model_dir, "--n", str(args.n), "--batch-size", str(args.batch_size),
           "--train-steps", str(args.train_steps), "--device", args.device,
           "--threads", str(args.threads)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return float(json.loads(done.stdout.strip().splitlines()[-1])["extra_mib"])


def run(args: Any) -> dict[str, Any]:
    texts, labels = load_sst2(args.n)
    with tempfile.TemporaryDirectory() as tmp:
        args.model_dir = tmp
        build_model_dir(Path(tmp), args.small)
        bench = Bench(Path(tmp), texts, labels, args)
        results: dict[str, Any] = {"head_split": bench.clf.module_.head_name}
        for phase in VARIANTS:
            print(f"timing {phase} ...", file=sys.stderr, flush=True)
            results[f"{phase}_s"] = time_phase(bench, phase, args.repeats)
        del bench
        if not args.skip_memory:
            print("measuring peak memory (one subprocess per variant) ...", file=sys.stderr)
            results["memory_mib"] = {
                phase: {v: measure_memory(args, phase, v) for v in VARIANTS[phase]}
                for phase in VARIANTS
            }
    return results


def report(results: dict[str, Any], args: Any) -> str:
    infer, train = results["infer_s"], results["train_s"]
    lines = [
        f"model: {'tiny (--small)' if args.small else 'bert-base (12 x 768), random weights'}; "
        f"{args.n} SST-2 sentences; batch size {args.batch_size}; max_length 128; "
        f"device {args.device}; torch threads {torch.get_num_threads()}; "
        f"median of {args.repeats}; mask-only head: {results['head_split']}",
        "",
        "| measure | raw MLM (dynamic, sorted) | mrekv PromptClassifier | fixed padding (128) |",
        "|---|---|---|---|",
        "| inference texts/s | " + " | ".join(
            f"{args.n / infer[v]:.1f}" for v in ("raw", "mrekv", "fixed")) + " |",
        "| inference ratio (raw time / time) | 1.00 | "
        f"{infer['raw'] / infer['mrekv']:.2f} | {infer['raw'] / infer['fixed']:.2f} |",
        "| train s/step | " + " | ".join(
            f"{train[v] / args.train_steps:.3f}" for v in ("raw", "mrekv", "fixed")) + " |",
        "| train ratio (raw time / time) | 1.00 | "
        f"{train['raw'] / train['mrekv']:.2f} | {train['raw'] / train['fixed']:.2f} |",
    ]
    memory = results.get("memory_mib")
    if memory:
        for phase in ("infer", "train"):
            m = memory[phase]
            lines.append(f"| {phase} peak MiB above model | " + " | ".join(
                f"{m[v]:.0f}" for v in ("raw", "mrekv", "fixed")) + " |")
            lines.append(f"| {phase} memory ratio (/ raw) | 1.00 | "
                         f"{m['mrekv'] / m['raw']:.2f} | {m['fixed'] / m['raw']:.2f} |")
    return "\n".join(lines)


def parse(argv: Sequence[str] | None = None) -> Any:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=256, help="SST-2 sentences (default 256)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--train-steps", type=int, default=2)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch CPU threads (0: torch's default); 1 is steadier when busy")
    parser.add_argument("--small", action="store_true", help="tiny model: a quick wiring check")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--json", action="store_true", help="also print the raw results as JSON")
    parser.add_argument("--worker", choices=["raw", "mrekv", "fixed"], help=argparse.SUPPRESS)
    parser.add_argument("--phase", choices=list(VARIANTS), help=argparse.SUPPRESS)
    parser.add_argument("--model-dir", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.worker:
        _worker(args)
        return
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    results = run(args)
    print(report(results, args))
    if args.json:
        print(json.dumps(results))


@pytest.mark.benchmark
def test_benchmark_small_runs() -> None:
    if not TOKENIZER.is_dir() or not SST2.is_file():
        pytest.skip("../shared is not beside the checkout")
    args = parse(["--small", "--n", "64", "--repeats", "1", "--train-steps", "1"])
    results = run(args)
    assert results["head_split"] == "cls"
    assert set(results["memory_mib"]["infer"]) == {"raw", "mrekv", "fixed"}
    print(report(results, args))


if __name__ == "__main__":
    main()
