"""The model commands: train, tiny-model, convert, predict, evaluate."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from mrekv.cli._inputs import print_json, read_labelled, read_texts
from mrekv.errors import MrekvError
from mrekv.models import BACKBONES
from mrekv.tiny_causal import KINDS as CAUSAL_KINDS


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
    texts, labels = read_labelled(args.train, args.lang)
    dev = read_labelled(args.dev, args.lang) if args.dev else (None, None)
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
        clf.calibrate(read_texts(args.calibrate, args.lang))
    clf.save_pretrained(args.out)
    print(f"saved to {args.out}", file=sys.stderr)
    return 0


def cmd_tiny_model(args: argparse.Namespace) -> int:
    texts = [t for path in args.texts for t in read_texts(path)] if args.texts else None
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
    from mrekv.classifiers import load_classifier

    return load_classifier(path)


def cmd_predict(args: argparse.Namespace) -> int:
    clf = _load_saved(args.model_dir)
    texts = read_texts(args.input)
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
    texts, labels = read_labelled(args.input)
    print_json(classification_metrics(labels, list(clf.predict(texts))))
    return 0


def add_commands(sub: Any) -> None:
    """Add the model commands to the ``mrekv`` subparsers ``sub``."""
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
