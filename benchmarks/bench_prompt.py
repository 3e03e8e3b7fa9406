"""Speed and memory of PromptClassifier against raw masked-LM and causal-LM pipelines.

Masked section (``--section masked``, the default), side by side, in one run, on a
randomly initialised bert-base-sized masked LM (12 layers, 768 hidden, the real
bert-base-uncased vocabulary; random weights cost what trained ones cost) and
the first ``--n`` SST-2 test sentences:

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

Causal section (``--section causal``; ``--section all`` runs both), side by side
in one run on the real SmolLM2-135M(-Instruct) when installed
(``mrekv.eval_models.locate("smollm2-135m")``, loaded with
``mrekv.models.load_lm``), else on a random ``LlamaForCausalLM`` of its shape
(30 x 576, 9 heads / 3 kv heads, intermediate 1536, vocabulary 49152, tied;
the output says which), the first ``--n`` SST-2 test sentences
(``load_corpus("sst2")``), template ``"{text} It was {mask}"``, one batch size:

(a) ``PromptClassifier.predict_proba`` (manual ``bad`` / ``good``) vs a raw
    ``AutoModelForCausalLM`` forward with ``logits_to_keep=1`` on the same prompt
    ids, longest-first batches, left padding with position ids from the
    attention mask (tokenization included in both); ratio mrekv/raw throughput,
    goal >= 0.9;
(b) evaluating 10 verbalizers (manual and KPT's IMDb words at top-10/25/50/100,
    each with and without calibration) by mrekv's one-pass path (``word_scores``
    of the union of their words once, then each verbalizer reads its columns:
    build, ``prepare``, ``calibrate_words``, ``class_scores``, all timed) vs 1
    verbalizer (``predict_proba``); ratio 10/1, goal <= 1.1. For contrast, the
    naive cost (10 classifiers, ``calibrate`` + ``predict_proba`` each), run once;
(c) ``word_scores`` with ``aggregate="exact"`` (teacher forcing) vs ``"first"``
    for 200 label words (KPT's IMDb top-100 per class, multi-token ones included)
    on the first ``--exact-n`` texts: ms/text of both and their ratio.

Checks printed with it: raw and mrekv get the same prompt ids and the same
probabilities; the one-pass and naive verbalizer results agree; exact equals
first on single-token words.

Run::

    .venv/bin/python benchmarks/bench_prompt.py --threads 1          # masked: ~22 minutes
    .venv/bin/python benchmarks/bench_prompt.py --small              # seconds: a wiring check
    .venv/bin/python benchmarks/bench_prompt.py --section causal --quick --threads 1
    .venv/bin/python benchmarks/bench_prompt.py --section causal --n 128 --threads 1 --skip-naive

Measured (CPU, one torch thread, while a long job kept the 2-core machine busy:
1-minute load average 5-6; read the ratios, not the absolute speeds), real
SmolLM2-135M-Instruct (Q4_1 GGUF dequantised to float32):

* ``--quick`` (8 texts, batch 8, 2 for exact, 2 repeats): 2.5 minutes wall
  (73 s CPU). (a) 2.67 vs 2.58 texts/s, ratio 0.96; (b) 3.13 s vs 3.15 s,
  ratio 1.01 (0.22 s of it verbalizer work), naive 49.1 s (15.7x);
  (c) 631 vs 3593 ms/text, exact/first 5.7.
* ``--n 128 --skip-naive`` (batch 32, 16 for exact, 3 repeats): 11.4 minutes
  wall. (a) 3.45 vs 3.28 texts/s, ratio 0.95; (b) 33.1 s vs 36.8 s, ratio 1.11
  (0.18 s of it verbalizer work: the rest is the LM pass, whose timing moved
  by ~15% under load: the same ``predict_proba`` took 39.0 s in (a));
  (c) 324 vs 2839 ms/text, exact/first 8.8 (48 of the 200 words are
  multi-token, 63 prefix rows; exact runs each prompt on its own).

* ``--n 128 --skip-naive`` again on 2026-12-05, with one other single-thread job
  on the machine (load average 1.7-2.0; exact prefix rows now ordered by length):
  198 s wall. (a) 11.71 vs 11.37 texts/s, ratio 0.97; (b) 10.62 s vs 10.96 s,
  ratio 1.03 (0.03 s of it verbalizer work); (c) 120 vs 812 ms/text, exact/first 6.7.

``pytest benchmarks/bench_prompt.py -m benchmark`` runs the ``--small`` checks of both.
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
    ids: torch.Tensor

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


# ======================================================================================
# Causal section (--section causal): SmolLM2-135M, or a random model of its shape
# ======================================================================================

CAUSAL_TEMPLATE = "{text} It was {mask}"
CLASSES = ("negative", "positive")
KPT_IMDB = SHARED / "kpt" / "openprompt" / "imdb" / "knowledgeable_verbalizer.txt"
TOP_KS = (10, 25, 50, 100)
#: SmolLM2-135M's shape, for the random stand-in when the real model is not installed.
SMOLLM2_SHAPE: dict[str, Any] = {
    "num_hidden_layers": 30, "hidden_size": 576, "num_attention_heads": 9,
    "num_key_value_heads": 3, "head_dim": 64, "intermediate_size": 1536, "vocab_size": 49152,
    "tie_word_embeddings": True, "rope_theta": 100000.0, "max_position_embeddings": 8192,
}
TINY_SHAPE: dict[str, Any] = {
    "num_hidden_layers": 2, "hidden_size": 64, "num_attention_heads": 2,
    "num_key_value_heads": 1, "head_dim": 32, "intermediate_size": 128, "vocab_size": 30522,
    "tie_word_embeddings": True, "max_position_embeddings": 512,
}


def load_causal_texts(n: int) -> list[str]:
    """The first ``n`` SST-2 test sentences, via ``mrekv.data.corpora.load_corpus``."""
    from mrekv.data.corpora import load_corpus

    root = None if os.environ.get("MREKV_DATASETS") else SHARED / "datasets"
    return list(load_corpus("sst2", root=root).split("test").texts[:n])


def load_causal_model(args: Any) -> tuple[Any, Any, str]:
    """``(model, tokenizer, description)``: real SmolLM2-135M if installed, else random.

    ``--model smollm2`` insists on the real one, ``--model random`` forces the random
    stand-in (SmolLM2's shape, the bert-base-uncased vocabulary: ids < 30522 of the
    49152 embedding rows), ``--small`` builds a 2-layer random Llama (a wiring check).
    """
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    if not args.small and args.model != "random":
        from mrekv.errors import MissingDependencyError
        from mrekv.eval_models import locate
        from mrekv.models import load_lm

        try:
            path = locate("smollm2-135m")
        except MissingDependencyError:
            if args.model == "smollm2":
                raise
        else:
            model, tok, _ = load_lm(path)
            return model, tok, (f"SmolLM2-135M-Instruct, real weights ({path.name} "
                                f"dequantised to {model.dtype})")
    tok = AutoTokenizer.from_pretrained(str(TOKENIZER))
    shape = TINY_SHAPE if args.small else SMOLLM2_SHAPE
    torch.manual_seed(0)
    config = LlamaConfig(**shape, pad_token_id=tok.pad_token_id, bos_token_id=tok.cls_token_id,
                         eos_token_id=tok.sep_token_id)
    model = LlamaForCausalLM(config).eval()
    kind = "tiny 2-layer Llama (--small)" if args.small else (
        "RANDOM LlamaForCausalLM of SmolLM2-135M's shape (30 x 576, 9 heads / 3 kv, "
        "intermediate 1536, vocab 49152, tied)")
    return model, tok, f"{kind}, bert-base-uncased tokenizer (SmolLM2-135M not used)"


class CausalBench:
    """The causal pipelines over one model: raw forward, PromptClassifier, verbalizer sets."""

    def __init__(self, model: Any, tok: Any, texts: list[str], args: Any) -> None:
        from mrekv.prompt.causal_template import prefix_ids
        from mrekv.verbalizer.io import read_kpt
        from mrekv.verbalizer.knowledgeable import KnowledgeableVerbalizer
        from mrekv.verbalizer.label_words import LabelWords

        self.device = torch.device(args.device)
        self.model = model.to(self.device).eval()
        self.tok, self.texts, self.bs = tok, texts, args.batch_size
        self.clf = self.classifier(_verbalizer())
        self.head = prefix_ids(tok)  # what the tokenizer puts first (SmolLM2: nothing)
        self.word_ids = [tok(" " + w, add_special_tokens=False)["input_ids"][0]
                         for w in WORDS.values()]
        # verbalizer sets: manual, and KPT's IMDb words (OpenPrompt) at four top-k
        self.kpt = read_kpt(KPT_IMDB, CLASSES)
        builders: list[tuple[str, Callable[[], Any]]] = [("manual", _verbalizer)]
        builders += [(f"kpt-top{k}", _kpt_builder(self.kpt.top(k))) for k in TOP_KS]
        self.configs = [(name + ("+calib" if calib else ""), build, calib)
                        for name, build in builders for calib in (False, True)]
        union = sorted({w for _, build, _ in self.configs for w in build().flat_words})
        self.column = {w: i for i, w in enumerate(union)}
        self.union = self.classifier(
            KnowledgeableVerbalizer(LabelWords.from_lists(["union"], [union])))
        self.verbalizer_work_s: list[float] = []  # ten_verbalizers' time beside its LM pass
        self.naive: list[PromptClassifier] = []
        if not args.skip_naive:
            self.naive = [self.classifier(build()) for _, build, _ in self.configs]
        top = self.kpt.top(max(TOP_KS))
        self.first = self.classifier(KnowledgeableVerbalizer(top, aggregate="first"))
        self.exact = self.classifier(KnowledgeableVerbalizer(top, aggregate="exact"))

    def classifier(self, verbalizer: Verbalizer) -> PromptClassifier:
        return PromptClassifier(
            self.model, tokenizer=self.tok, backbone="causal", template=CAUSAL_TEMPLATE,
            verbalizer=verbalizer, eval_batch_size=self.bs, max_length=128, progress=False,
            device=self.device,
        )

    def sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize()

    # -- (a) inference --------------------------------------------------------------------
    def infer_mrekv(self, texts: Sequence[str]) -> Any:
        return self.clf.predict_proba(texts)

    def infer_raw(self, texts: Sequence[str]) -> Any:
        """What a careful user writes: longest-first batches, left padding, last logits only."""
        prompts = [CAUSAL_TEMPLATE.format(text=t, mask="").rstrip() for t in texts]
        ids = [self.head + x for x in self.tok(prompts, add_special_tokens=False)["input_ids"]]
        order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
        out = torch.empty((len(ids), len(self.word_ids)), dtype=torch.float64)
        with torch.inference_mode():
            for start in range(0, len(order), self.bs):
                idx = order[start : start + self.bs]
                width = len(ids[idx[0]])
                input_ids = torch.full((len(idx), width), self.tok.pad_token_id)
                attention = torch.zeros((len(idx), width), dtype=torch.long)
                for row, i in enumerate(idx):
                    input_ids[row, width - len(ids[i]) :] = torch.tensor(ids[i])
                    attention[row, width - len(ids[i]) :] = 1
                positions = (attention.cumsum(-1) - 1).clamp_min(0)
                logits = self.model(
                    input_ids=input_ids.to(self.device), attention_mask=attention.to(self.device),
                    position_ids=positions.to(self.device), logits_to_keep=1,
                ).logits[:, -1]
                scores = torch.log_softmax(logits.float(), dim=-1)[:, self.word_ids]
                out[idx] = torch.softmax(scores.double(), dim=-1).cpu()
        return out.numpy()

    # -- (b) many verbalizers -------------------------------------------------------------
    def one_verbalizer(self, texts: Sequence[str]) -> Any:
        return self.clf.predict_proba(texts)

    def ten_verbalizers(self, texts: Sequence[str]) -> dict[str, Any]:
        """One LM pass for the union of words, then each verbalizer reads its columns.

        Building and preparing the ten verbalizers is timed too.
        """
        start = time.perf_counter()
        scores = self.union.word_scores(texts)  # (n, union words)
        lm_pass = time.perf_counter() - start
        out = {}
        for name, build, calib in self.configs:
            verbalizer = build().prepare(self.tok).to(self.device)
            words = scores[:, [self.column[w] for w in verbalizer.flat_words]]
            if calib:  # unlabeled calibration on the evaluated texts themselves
                verbalizer.calibrate_words(words)
            with torch.no_grad():
                probs = torch.softmax(verbalizer.class_scores(words).double(), dim=-1)
            out[name] = probs.cpu().numpy()
        self.verbalizer_work_s.append(time.perf_counter() - start - lm_pass)
        return out

    def naive_verbalizers(self, texts: Sequence[str]) -> dict[str, Any]:
        """Ten separate classifiers; a calibrated one needs its own calibration pass."""
        out = {}
        for (name, _, calib), clf in zip(self.configs, self.naive, strict=True):
            if calib:
                clf.calibrate(texts)
            out[name] = clf.predict_proba(texts)
        return out

    # -- (c) exact multi-token scores -----------------------------------------------------
    def words_first(self, texts: Sequence[str]) -> Any:
        return self.first.word_scores(texts)

    def words_exact(self, texts: Sequence[str]) -> Any:
        return self.exact.word_scores(texts)


def _kpt_builder(label_words: Any) -> Callable[[], Any]:
    from mrekv.verbalizer.knowledgeable import KnowledgeableVerbalizer

    return lambda: KnowledgeableVerbalizer(label_words)


def time_interleaved(
    funcs: dict[str, Callable[[Sequence[str]], Any]], texts: Sequence[str], warm: int,
    repeats: int, sync: Callable[[], None], runs: dict[str, list[float]] | None = None,
) -> tuple[dict[str, float], dict[str, Any]]:
    """Median seconds of each function on ``texts`` (warmed up on ``texts[:warm]``,
    interleaved), and each one's last output; ``runs`` receives every timing."""
    for fn in funcs.values():
        fn(texts[:warm])
    times: dict[str, list[float]] = {name: [] for name in funcs}
    outputs: dict[str, Any] = {}
    for _ in range(repeats):
        for name, fn in funcs.items():
            sync()
            start = time.perf_counter()
            outputs[name] = fn(texts)
            sync()
            times[name].append(time.perf_counter() - start)
    if runs is not None:
        runs.update(times)
    return {name: statistics.median(ts) for name, ts in times.items()}, outputs


def run_causal(args: Any) -> dict[str, Any]:
    """Measure (a), (b), (c) of the causal section; a JSON-ready dict."""
    import numpy as np

    began = time.perf_counter()
    load_before = os.getloadavg()[0]
    texts = load_causal_texts(args.n)
    model, tok, described = load_causal_model(args)
    bench = CausalBench(model, tok, texts, args)
    encoded = [e.input_ids for e in bench.clf._encode(texts)]
    prompts = [CAUSAL_TEMPLATE.format(text=t, mask="").rstrip() for t in texts]
    raw_ids = [bench.head + x for x in tok(prompts, add_special_tokens=False)["input_ids"]]
    res: dict[str, Any] = {
        "model": described, "n": len(texts), "batch_size": args.batch_size,
        "device": str(bench.device), "threads": torch.get_num_threads(), "repeats": args.repeats,
        "same_ids": encoded == raw_ids, "head_split": bench.clf.module_.head_name,
        "prompt_tokens_mean": sum(map(len, encoded)) / len(encoded), "runs_s": {},
    }
    runs = res["runs_s"]
    warm, sync = min(args.batch_size, len(texts)), bench.sync
    print("timing (a) inference ...", file=sys.stderr, flush=True)
    times, out = time_interleaved({"raw": bench.infer_raw, "mrekv": bench.infer_mrekv},
                                  texts, warm, args.repeats, sync, runs)
    res["infer_s"] = times
    res["infer_max_abs_diff"] = float(np.abs(out["raw"] - out["mrekv"]).max())

    print("timing (b) 1 vs 10 verbalizers ...", file=sys.stderr, flush=True)
    times, out = time_interleaved({"one": bench.one_verbalizer, "ten": bench.ten_verbalizers},
                                  texts, warm, args.repeats, sync, runs)
    res["verbalizers_s"] = times
    res["verbalizer_work_s"] = statistics.median(bench.verbalizer_work_s[1:])
    res["verbalizer_configs"] = [name for name, _, _ in bench.configs]
    res["union_words"] = len(bench.column)
    if bench.naive:
        print("timing (b) naive: 10 separate classifiers, once ...", file=sys.stderr, flush=True)
        sync()
        start = time.perf_counter()
        naive = bench.naive_verbalizers(texts)
        sync()
        res["naive_s"] = time.perf_counter() - start
        res["naive_max_abs_diff"] = max(float(np.abs(naive[k] - out["ten"][k]).max())
                                        for k in naive)

    print("timing (c) exact vs first ...", file=sys.stderr, flush=True)
    exact_texts = texts[: args.exact_n]
    times, out = time_interleaved({"first": bench.words_first, "exact": bench.words_exact},
                                  exact_texts, min(2, len(exact_texts)), args.repeats, sync,
                                  runs)
    verbalizer: Any = bench.exact.verbalizer_
    lengths = [len(ids) for ids in verbalizer.word_token_ids]
    single = torch.tensor([n == 1 for n in lengths])
    plan = bench.exact.module_.exact_plan()
    res["words_s"] = times
    res["words"] = {"n_texts": len(exact_texts), "words": len(lengths),
                    "multi_token": int(sum(n > 1 for n in lengths)), "longest": max(lengths),
                    "prefix_rows": int(plan.prefixes.shape[0])}
    res["single_token_max_abs_diff"] = float(
        (out["exact"][:, single] - out["first"][:, single]).abs().max())
    res["load_avg_1min"] = [load_before, os.getloadavg()[0]]
    res["wall_s"] = time.perf_counter() - began
    return res


def report_causal(res: dict[str, Any]) -> str:
    n, infer, verb, words = res["n"], res["infer_s"], res["verbalizers_s"], res["words_s"]
    w = res["words"]
    lines = [
        f"causal model: {res['model']}",
        f"{n} SST-2 test sentences (load_corpus('sst2')), template {CAUSAL_TEMPLATE!r}, "
        f"{res['prompt_tokens_mean']:.1f} prompt tokens on average; batch size "
        f"{res['batch_size']}; device {res['device']}; torch threads {res['threads']}; median "
        f"of {res['repeats']} interleaved runs; 1-min load average "
        f"{res['load_avg_1min'][0]:.1f} -> {res['load_avg_1min'][1]:.1f}; "
        f"section wall time {res['wall_s']:.0f} s",
        "",
        "| measure | baseline | mrekv | ratio | goal |",
        "|---|---|---|---|---|",
        f"| (a) texts/s: raw forward (logits_to_keep=1, left-padded, longest-first batches) "
        f"vs PromptClassifier.predict_proba | {n / infer['raw']:.2f} | "
        f"{n / infer['mrekv']:.2f} | {infer['raw'] / infer['mrekv']:.2f} (mrekv/raw) | >= 0.9 |",
        f"| (b) seconds to evaluate 1 verbalizer (predict_proba, manual) vs 10 (one pass over "
        f"{res['union_words']} words, then class_scores each) | {verb['one']:.2f} | "
        f"{verb['ten']:.2f} | {verb['ten'] / verb['one']:.2f} (10/1) | <= 1.1 |",
        f"| (b) of which: building, preparing, calibrating and applying the 10 verbalizers "
        f"(no LM) | - | {res['verbalizer_work_s']:.3f} | - | - |",
    ]
    if "naive_s" in res:
        lines.append(
            f"| (b) naive, for contrast: 10 separate predict_proba (+ calibrate, a 2nd pass, "
            f"for 5) vs 1, run once | {verb['one']:.2f} | {res['naive_s']:.2f} | "
            f"{res['naive_s'] / verb['one']:.1f} (naive/1) | - |")
    lines += [
        f"| (c) ms/text of word_scores, {w['words']} KPT words ({w['multi_token']} multi-token, "
        f"up to {w['longest']} tokens, {w['prefix_rows']} prefix rows), {w['n_texts']} texts: "
        f"first vs exact | {1000 * words['first'] / w['n_texts']:.0f} | "
        f"{1000 * words['exact'] / w['n_texts']:.0f} | "
        f"{words['exact'] / words['first']:.1f} (exact/first) | - |",
        "",
        f"checks: same prompt ids raw/mrekv {res['same_ids']}; vocabulary head at the read "
        f"position only: {res['head_split']}; max |p_raw - p_mrekv| "
        f"{res['infer_max_abs_diff']:.1e}; "
        + (f"max |p_naive - p_one_pass| over the 10 configs {res['naive_max_abs_diff']:.1e}; "
           if "naive_s" in res else "")
        + f"max |exact - first| on single-token words {res['single_token_max_abs_diff']:.1e}",
        f"the 10 verbalizers: {', '.join(res['verbalizer_configs'])} (calibration: the "
        "evaluated texts, unlabeled)",
        "every run (s): " + "; ".join(
            f"{name} " + " ".join(f"{t:.2f}" for t in ts) for name, ts in res["runs_s"].items()),
    ]
    return "\n".join(lines)


def parse(argv: Sequence[str] | None = None) -> Any:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--section", choices=["masked", "causal", "all"], default="masked",
                        help="masked-LM benchmark (default), the causal one, or both")
    parser.add_argument("--n", type=int, default=None,
                        help="SST-2 sentences (default: 256 masked, 128 causal; --quick: 8)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="inference batch size (default 32; causal --quick: 8)")
    parser.add_argument("--repeats", type=int, default=None, help="default 3 (--quick: 2)")
    parser.add_argument("--train-steps", type=int, default=2)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch CPU threads (0: torch's default); 1 is steadier when busy")
    parser.add_argument("--small", action="store_true", help="tiny model: a quick wiring check")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--json", action="store_true", help="also print the raw results as JSON")
    causal = parser.add_argument_group("causal section")
    causal.add_argument("--quick", action="store_true",
                        help="few texts (8; 2 for exact scoring), 2 repeats: ~2.5 min when busy")
    causal.add_argument("--model", choices=["auto", "smollm2", "random"], default="auto",
                        help="auto: the real SmolLM2-135M when installed, else a random model "
                             "of its shape")
    causal.add_argument("--exact-n", type=int, default=None,
                        help="texts for the exact-vs-first timing (default 16; --quick: 2)")
    causal.add_argument("--skip-naive", action="store_true",
                        help="do not time the 10 separate classifiers of (b)")
    parser.add_argument("--worker", choices=["raw", "mrekv", "fixed"], help=argparse.SUPPRESS)
    parser.add_argument("--phase", choices=list(VARIANTS), help=argparse.SUPPRESS)
    parser.add_argument("--model-dir", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def section_args(args: Any, section: str) -> Any:
    """A copy of ``args`` with the section's defaults filled in."""
    quick = section == "causal" and args.quick
    filled = argparse.Namespace(**vars(args))
    if filled.n is None:
        filled.n = 8 if quick else 128 if section == "causal" else 256
    if filled.batch_size is None:
        filled.batch_size = 8 if quick else 32
    if filled.repeats is None:
        filled.repeats = 2 if quick else 3
    if filled.exact_n is None:
        filled.exact_n = 2 if quick else 16
    return filled


def main(argv: Sequence[str] | None = None) -> None:
    args = parse(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.worker:
        _worker(args)
        return
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    results: dict[str, Any] = {}
    if args.section in ("masked", "all"):
        masked = section_args(args, "masked")
        results["masked"] = run(masked)
        print(report(results["masked"], masked), flush=True)
    if args.section in ("causal", "all"):
        if args.section == "all":
            print()
        results["causal"] = run_causal(section_args(args, "causal"))
        print(report_causal(results["causal"]))
    if args.json:
        print(json.dumps(results if args.section == "all" else results[args.section]))


@pytest.mark.benchmark
def test_benchmark_small_runs() -> None:
    if not TOKENIZER.is_dir() or not SST2.is_file():
        pytest.skip("../shared is not beside the checkout")
    args = section_args(parse(["--small", "--n", "64", "--repeats", "1", "--train-steps", "1"]),
                        "masked")
    results = run(args)
    assert results["head_split"] == "cls"
    assert set(results["memory_mib"]["infer"]) == {"raw", "mrekv", "fixed"}
    print(report(results, args))


@pytest.mark.benchmark
def test_benchmark_causal_small_runs() -> None:
    if not TOKENIZER.is_dir() or not KPT_IMDB.is_file() or not (SHARED / "datasets").is_dir():
        pytest.skip("../shared is not beside the checkout")
    args = parse(["--section", "causal", "--small", "--n", "8", "--batch-size", "4",
                  "--exact-n", "2", "--repeats", "1"])
    results = run_causal(section_args(args, "causal"))
    assert results["same_ids"] and results["infer_max_abs_diff"] < 1e-4
    assert results["naive_max_abs_diff"] < 1e-4 and results["single_token_max_abs_diff"] < 1e-4
    print(report_causal(results))


if __name__ == "__main__":
    main()
