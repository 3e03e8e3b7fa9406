"""The ``mrekv`` command line: a thin layer over the public functions.

Each command parses its arguments, calls one public function that returns data,
then prints or writes it. Heavy libraries load only inside the command that
needs them, so ``mrekv --help`` is instant.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mrekv._version import __version__
from mrekv.data.example import guess_lang
from mrekv.errors import MrekvError
from mrekv.models import BACKBONES
from mrekv.tiny_causal import KINDS as CAUSAL_KINDS

# --------------------------------------------------------------------------- inputs


def _read_labelled(path: str, lang: str | None = None) -> tuple[list[str], list[str]]:
    """Texts and labels from an MMM file (.json/.jsonl) or a TSV file (label<TAB>text)."""
    p = Path(path)
    if p.suffix in {".json", ".jsonl"}:
        from mrekv.data.mmm import read_mmm

        examples = list(read_mmm(p, lang=lang))
        return [e.text for e in examples], [e.text_label for e in examples]
    texts, labels = [], []
    with p.open(encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, 1):
            line = line.rstrip("\n")
            if not line.strip():
                continue
            label, sep, text = line.partition("\t")
            if not sep:
                raise MrekvError(f"{p}, line {lineno}: expected 'label<TAB>text'")
            labels.append(label)
            texts.append(text)
    return texts, labels


def _read_texts(path: str, lang: str | None = None) -> list[str]:
    """Texts from an MMM file, a TSV file (label<TAB>text) or a plain file (one text a line)."""
    p = Path(path)
    if p.suffix in {".json", ".jsonl", ".tsv"}:
        return _read_labelled(path, lang)[0]
    with p.open(encoding="utf-8") as handle:
        return [line.rstrip("\n") for line in handle if line.strip()]


def _examples_from_args(args: argparse.Namespace) -> tuple[list[Any], str | None]:
    """MRE examples from ``--input`` (MMM file) or ``--corpus``/``--split``."""
    if args.input:
        from mrekv.data.mmm import read_mmm

        examples = list(read_mmm(args.input, lang=args.lang))
        lang = args.lang or next((e.lang for e in examples if e.lang), None)
        return examples, lang or guess_lang(e.text for e in examples[:200])
    from mrekv.data.corpora import load_corpus

    corpus = load_corpus(args.corpus, root=args.root)
    if args.split:
        corpus = corpus.split(args.split)
    return corpus.to_examples(), corpus.lang


def _print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


# --------------------------------------------------------------------------- commands


def cmd_tokenize(args: argparse.Namespace) -> int:
    from mrekv.tokenizers import get_tokenizer

    tokenizer = get_tokenizer(args.lang, **({"backend": args.backend} if args.backend else {}))
    texts = list(args.text) or _read_texts(args.input)
    for tokens in tokenizer.tokenize_batch(texts):
        if args.json:
            rows = [[t.surface, t.lemma, t.upos, t.tag] for t in tokens]
            print(json.dumps(rows, ensure_ascii=False))
        else:
            print(" ".join(f"{t.surface}/{t.upos}" for t in tokens))
    return 0


def cmd_build_mre(args: argparse.Namespace) -> int:
    from mrekv.data.mre_mix import build_mre_file

    n = build_mre_file(
        args.out, args.family, corpus=args.corpus, input_path=args.input, lang=args.lang,
        split=args.split, knowledge_split=args.knowledge_split, knowledge_path=args.knowledge,
        use_gold=args.gold, min_count=args.min_count, p_value=args.p_value,
        format=args.format, root=args.root, show_progress=True,
    )
    print(f"wrote {n} records to {args.out}", file=sys.stderr)
    return 0


def cmd_mine(args: argparse.Namespace) -> int:
    from mrekv.verbalizer.io import write_label_words
    from mrekv.verbalizer.mining import mine_label_words

    examples, lang = _examples_from_args(args)
    label_words = mine_label_words(
        examples,
        method=args.method,
        top_k=args.top_k,
        lang=lang,
        min_count=args.min_count,
        cross_class=args.cross_class,
        source=args.source,
        lemmatize=args.lemmatize,
        class_name_first=not args.no_class_name_first,
        split_name=args.split or (Path(args.input).name if args.input else None),
    )
    write_label_words(args.out, label_words, format=args.format)
    counts = label_words.counts()
    print(f"wrote {sum(counts.values())} label words for {len(counts)} classes to {args.out}",
          file=sys.stderr)
    return 0


def cmd_probe(args: argparse.Namespace) -> int:
    from mrekv.verbalizer.io import read_label_words
    from mrekv.verbalizer.probe import probe_label_words

    examples, lang = _examples_from_args(args)
    label_words = read_label_words(args.label_words)
    result = probe_label_words(
        label_words, [e.text for e in examples], [e.text_label for e in examples], lang,
        weighting=args.weighting, default=args.default,
    )
    _print_json({"accuracy": result.accuracy, "macro_f1": result.macro_f1,
                 "coverage": result.coverage, "n": len(examples)})
    return 0


def cmd_mmm_validate(args: argparse.Namespace) -> int:
    from mrekv.data.mmm import validate_mmm

    report = validate_mmm(args.file)
    for error in report.errors:
        print(error, file=sys.stderr)
    print(f"{report.path}: {report.format}, {report.records} valid records, "
          f"{len(report.errors)} malformed")
    _print_json({"tasks": report.tasks, "text_labels": report.text_labels})
    return 0 if report.ok else 1


def cmd_mmm_convert(args: argparse.Namespace) -> int:
    from mrekv.data.mmm import read_mmm, write_mmm

    reader = read_mmm(args.input, on_error="skip" if args.skip_errors else "raise")
    n = write_mmm(args.output, reader, format=args.format)
    print(f"wrote {n} records to {args.output} ({reader.skipped} skipped)", file=sys.stderr)
    return 0


def cmd_datasets(args: argparse.Namespace) -> int:
    if args.kind == "mmm":
        from mrekv.data.catalog import MMM_DATASETS

        for d in MMM_DATASETS:
            print(f"{d.name}\t{d.alias}\t{d.task_word.value}\t{d.train_file}\t{d.test_file}")
    else:
        from mrekv.data.corpora import list_corpora

        for c in list_corpora():
            print(f"{c.name}\t{c.lang}\t{c.description}")
    return 0


def _make_classifier(args: argparse.Namespace) -> Any:
    from mrekv.errors import ConfigError
    from mrekv.prompt.classifier import PromptClassifier

    verbalizer: Any = None
    if args.label_words:
        from mrekv.verbalizer.io import read_label_words
        from mrekv.verbalizer.knowledgeable import KnowledgeableVerbalizer

        label_words = read_label_words(args.label_words)
        if args.top_k:
            label_words = label_words.top(args.top_k)
        verbalizer = KnowledgeableVerbalizer(label_words, aggregate=args.aggregate or "first")
    elif args.aggregate:
        raise ConfigError("--aggregate scores label words: pass --label-words too")
    return PromptClassifier(
        args.model,
        template=args.template,
        verbalizer=verbalizer,
        lang=args.lang,
        backbone=args.backbone,
        train_mode=args.train_mode,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        max_length=args.max_length,
        seed=args.seed,
        device=args.device,
        trust_remote_code=args.trust_remote_code,
    )


def cmd_train(args: argparse.Namespace) -> int:
    texts, labels = _read_labelled(args.train, args.lang)
    dev = _read_labelled(args.dev, args.lang) if args.dev else (None, None)
    if args.finetune:
        from mrekv.errors import ConfigError
        from mrekv.finetune import FineTuneClassifier

        if args.train_mode != "full" or args.aggregate:
            raise ConfigError("--finetune trains a classification head on the whole model: "
                              "--train-mode frozen and --aggregate do not apply")

        clf: Any = FineTuneClassifier(
            args.model, epochs=args.epochs, batch_size=args.batch_size,
            learning_rate=args.learning_rate, max_length=args.max_length, seed=args.seed,
            device=args.device, trust_remote_code=args.trust_remote_code,
        )
    else:
        clf = _make_classifier(args)
    clf.fit(texts, labels, dev_texts=dev[0], dev_labels=dev[1])
    if args.calibrate and not args.finetune:
        clf.calibrate(_read_texts(args.calibrate, args.lang))
    clf.save_pretrained(args.out)
    print(f"saved to {args.out}", file=sys.stderr)
    return 0


def cmd_tiny_model(args: argparse.Namespace) -> int:
    texts = [t for path in args.texts for t in _read_texts(path)] if args.texts else None
    if args.kind == "masked":
        from mrekv.models import make_tiny_mlm

        out = make_tiny_mlm(args.out, texts, tokenizer_from=args.tokenizer_from,
                            hidden=args.hidden, layers=args.layers, seed=args.seed)
        what = "masked LM"
    else:
        from mrekv.tiny_causal import make_tiny_causal_lm

        if (texts is None) == (args.tokenizer_from is None):
            raise MrekvError("tiny-model needs exactly one of --texts and --tokenizer-from")
        out = make_tiny_causal_lm(args.out, kind=args.kind, texts=texts,
                                  tokenizer_from=args.tokenizer_from, hidden=args.hidden,
                                  layers=args.layers, seed=args.seed)
        what = f"causal LM ({args.kind})"
    print(f"wrote a tiny RANDOM {what} (it knows no language) to {out}", file=sys.stderr)
    return 0


def cmd_convert(args: argparse.Namespace) -> int:
    from mrekv.gguf import convert_gguf

    print(convert_gguf(args.gguf, cache_dir=args.cache_dir))
    return 0


def _load_saved(path: str) -> Any:
    from mrekv.prompt.saving import load_classifier

    return load_classifier(path)


def cmd_predict(args: argparse.Namespace) -> int:
    clf = _load_saved(args.model_dir)
    texts = _read_texts(args.input)
    probs = clf.predict_proba(texts)
    classes = list(clf.classes_)
    out = open(args.out, "w", encoding="utf-8") if args.out else sys.stdout
    try:
        for text, row in zip(texts, probs, strict=True):
            best = int(row.argmax())
            proba = {c: float(p) for c, p in zip(classes, row, strict=True)}
            record = {"text": text, "label": classes[best], "proba": proba}
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    finally:
        if out is not sys.stdout:
            out.close()
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from mrekv.metrics import classification_metrics

    clf = _load_saved(args.model_dir)
    texts, labels = _read_labelled(args.input)
    _print_json(classification_metrics(labels, list(clf.predict(texts))))
    return 0


def cmd_experiment_run(args: argparse.Namespace) -> int:
    from mrekv.experiment.runner import run_experiment

    overrides: dict[str, Any] = {"model": args.model} if args.model else {}
    if args.shard is not None:
        overrides["shard"] = args.shard
    if args.methods is not None:
        overrides["methods"] = args.methods
    path = run_experiment(args.config, output=args.output, resume=not args.no_resume,
                          progress=not args.quiet, **overrides)
    print(Path(path).resolve())
    return 0


def cmd_experiment_report(args: argparse.Namespace) -> int:
    from mrekv.experiment.report import build_report

    print(build_report(args.results, args.out))
    return 0


# --------------------------------------------------------------------------- parser


def _shard(value: str) -> tuple[int, int]:
    """``"I/N"`` -> ``(I, N)`` with ``0 <= I < N`` (an argparse type)."""
    index, sep, count = value.partition("/")
    try:
        i, n = int(index), int(count)
    except ValueError:
        i, n = -1, 0
    if not sep or not 0 <= i < n:
        raise argparse.ArgumentTypeError(
            f"expected I/N with 0 <= I < N (e.g. 0/4 for the first of 4 shards), got {value!r}"
        )
    return i, n


def _methods(value: str) -> list[str]:
    """``"M1,M2"`` -> ``["M1", "M2"]`` (an argparse type)."""
    names = [name.strip() for name in value.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(
            f"expected comma-separated method names (e.g. kpt,manual), got {value!r}"
        )
    return names


def _add_source(p: argparse.ArgumentParser) -> None:
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--input", help="an MMM file (.jsonl or .json)")
    src.add_argument("--corpus", help="a corpus name (see `mrekv datasets corpora`)")
    p.add_argument("--split", help="the corpus split to use (train, dev, test)")
    p.add_argument("--root", help="corpora root (default: $MREKV_DATASETS, ../shared/datasets)")
    p.add_argument("--lang", choices=["en", "ja", "zh"])


def _add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True,
                   help="Hub id, local folder or .gguf file of a masked or causal LM")
    p.add_argument("--backbone", default="auto", choices=["auto", *BACKBONES],
                   help="the model's kind; auto reads it from its config (default: %(default)s)")
    p.add_argument("--train-mode", default="full", choices=["full", "frozen"],
                   help="full: train the LM and the verbalizer; frozen: only the verbalizer, "
                        "on LM outputs computed once per text (default: %(default)s)")
    p.add_argument("--aggregate", choices=["first", "mean", "max", "multi-mask", "exact"],
                   help="how multi-token label words are scored (with --label-words; exact: "
                        "teacher forcing, causal LMs only; default: first)")
    p.add_argument("--template", help="template text with {text} and {mask}")
    p.add_argument("--label-words", help="label-word file (mrekv JSON or KPT .txt/.json)")
    p.add_argument("--top-k", type=int, help="keep the k best label words per class")
    p.add_argument("--lang", choices=["en", "ja", "zh"])
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--learning-rate", type=float, default=2e-5)
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--device", help="cpu, cuda, cuda:1 ... (default: CUDA when present)")
    p.add_argument("--trust-remote-code", action="store_true")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mrekv", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"mrekv {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("tokenize", help="split text into words with lemma and UPOS tag")
    p.add_argument("--lang", required=True, choices=["en", "ja", "zh"])
    p.add_argument("--backend", help="zh only: jieba (default) or rjieba")
    p.add_argument("--input", help="a file of texts (one a line, TSV or MMM)")
    p.add_argument("--json", action="store_true", help="print [surface, lemma, upos, tag] lists")
    p.add_argument("text", nargs="*")
    p.set_defaults(func=cmd_tokenize)

    p = sub.add_parser("build-mre", help="turn a labelled corpus into MMM-format MRE records")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--input", help="TSV file: label<TAB>text")
    src.add_argument("--corpus", help="a corpus name")
    p.add_argument("--split", help="corpus split to convert")
    p.add_argument("--knowledge-split", help="corpus split the relation words are mined from")
    p.add_argument("--knowledge", help="TSV file the relation words are mined from")
    p.add_argument("--root")
    p.add_argument("--lang", choices=["en", "ja", "zh"])
    p.add_argument("--family", required=True, help='e.g. "SCPOS:Adj & N", "SCPOS:RW", SCNM')
    p.add_argument("--gold", action=argparse.BooleanOptionalAction, default=None,
                   help="keep the corpus's gold word labels (default: when it has them)")
    p.add_argument("--min-count", type=int, default=3)
    p.add_argument("--p-value", type=float, default=0.05)
    p.add_argument("--format", default="jsonl", choices=["jsonl", "json"])
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_build_mre)

    p = sub.add_parser("mine", help="mine label words per class from word-level labels")
    _add_source(p)
    p.add_argument("--method", default="frequency", choices=["frequency", "tfidf", "pmi", "chi2"])
    p.add_argument("--top-k", type=int, default=100)
    p.add_argument("--min-count", type=int, default=1)
    p.add_argument("--cross-class", default="keep", choices=["keep", "drop", "assign"])
    p.add_argument("--source", default="word_labels", choices=["word_labels", "text"])
    p.add_argument("--lemmatize", action="store_true", help="merge words by lemma")
    p.add_argument("--no-class-name-first", action="store_true",
                   help="do not put the class name at the head of its words")
    p.add_argument("--format", choices=["json", "kpt", "kpt-json"])
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_mine)

    p = sub.add_parser("probe", help="model-free check of how informative label words are")
    _add_source(p)
    p.add_argument("--label-words", required=True)
    p.add_argument("--weighting", default="uniform", choices=["uniform", "score", "idf"])
    p.add_argument("--default", help="class for texts with no label word (e.g. the majority)")
    p.set_defaults(func=cmd_probe)

    p = sub.add_parser("mmm", help="MMM file tools")
    mmm = p.add_subparsers(dest="mmm_command", required=True)
    q = mmm.add_parser("validate", help="check every record of an MMM file")
    q.add_argument("file")
    q.set_defaults(func=cmd_mmm_validate)
    q = mmm.add_parser("convert", help="rewrite an MMM file as canonical JSON Lines or JSON")
    q.add_argument("input")
    q.add_argument("output")
    q.add_argument("--format", default="jsonl", choices=["jsonl", "json"])
    q.add_argument("--skip-errors", action="store_true", help="drop malformed records")
    q.set_defaults(func=cmd_mmm_convert)

    p = sub.add_parser("datasets", help="list the MMM catalog or the readable corpora")
    p.add_argument("kind", choices=["mmm", "corpora"])
    p.set_defaults(func=cmd_datasets)

    p = sub.add_parser("train", help="prompt-tune (or fine-tune) a masked or causal LM, save it")
    _add_model_args(p)
    p.add_argument("--train", required=True, help="MMM or TSV (label<TAB>text) file")
    p.add_argument("--dev", help="MMM or TSV dev file (best-dev checkpoint)")
    p.add_argument("--calibrate", help="file of unlabeled texts for contextual calibration")
    p.add_argument("--finetune", action="store_true", help="full fine-tuning baseline instead")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("tiny-model", help="write a tiny random masked or causal LM for smoke tests")
    p.add_argument("--out", required=True)
    p.add_argument("--kind", default="masked", choices=["masked", *CAUSAL_KINDS],
                   help="masked: BERT with WordPiece; llama / gemma3 / gpt2: a causal LM with "
                        "a BPE vocabulary (default: %(default)s)")
    p.add_argument("--texts", nargs="*", help="files whose texts train its vocabulary")
    p.add_argument("--tokenizer-from", help="reuse this tokenizer folder or Hub id instead")
    p.add_argument("--hidden", type=int, default=32)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_tiny_model)

    p = sub.add_parser("convert", help="convert a GGUF causal LM once into a cached folder")
    p.add_argument("--gguf", required=True, help="the .gguf file")
    p.add_argument("--cache-dir",
                   help="where converted models go (default: $MREKV_CACHE/gguf, else "
                        "~/.cache/mrekv/gguf)")
    p.set_defaults(func=cmd_convert)

    p = sub.add_parser("predict", help="predict classes with a saved model")
    p.add_argument("--model-dir", required=True)
    p.add_argument("--input", required=True)
    p.add_argument("--out", help="JSON Lines output (default: stdout)")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("evaluate", help="accuracy and macro-F1 of a saved model on labelled data")
    p.add_argument("--model-dir", required=True)
    p.add_argument("--input", required=True)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("experiment", help="run experiments and build reports")
    exp = p.add_subparsers(dest="experiment_command", required=True)
    q = exp.add_parser("run", help="run every cell of a config (resumes finished cells)")
    q.add_argument("config")
    q.add_argument("--output", help="results file (default: from the config)")
    q.add_argument("--model", help="override the config's model id")
    q.add_argument("--shard", type=_shard, metavar="I/N",
                   help="run only shard I of N (0-based) of the cells, e.g. 0/4 "
                        "(default: all cells)")
    q.add_argument("--methods", type=_methods, metavar="M1,M2",
                   help="run only these methods of the config (default: all of them)")
    q.add_argument("--no-resume", action="store_true")
    q.add_argument("--quiet", action="store_true")
    q.set_defaults(func=cmd_experiment_run)
    q = exp.add_parser("report", help="Markdown report and plots from a results file")
    q.add_argument("results")
    q.add_argument("--out", default=None, help="output folder (default: beside the results)")
    q.set_defaults(func=cmd_experiment_report)
    return parser


def _quiet_hub_libraries() -> None:
    """Silence per-load progress bars and load reports of transformers in CLI runs.

    The command line is an application, so it may set these process-wide; the
    library itself never does.
    """
    import os

    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:  # pragma: no cover - transformers is a core dependency
        return
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``mrekv`` command line; return the exit status."""
    args = build_parser().parse_args(argv)
    if args.command in {"train", "predict", "evaluate", "experiment", "tiny-model", "convert"}:
        _quiet_hub_libraries()
    try:
        return int(args.func(args) or 0)
    except (MrekvError, FileNotFoundError) as error:
        print(f"mrekv: error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
