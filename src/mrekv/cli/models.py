"""The model commands: train, tiny-model, convert, predict, evaluate."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mrekv._json import load_json
from mrekv.cli._inputs import (
    check_labels,
    input_file,
    output_file,
    print_json,
    read_labelled,
    read_texts,
    require_nonempty,
)
from mrekv.cli._template import TASKS, choose_template
from mrekv.cli._types import device, positive_float, positive_int, seed
from mrekv.errors import ConfigError, MrekvError, summarize
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
    p.add_argument("--frozen-head", default="prior", choices=["prior", "word-weights"],
                   help="with --train-mode frozen: prior = a head on the LM state centred on "
                        "the verbalizer, penalty by cross-validation; word-weights = train "
                        "the verbalizer's word weights (default: %(default)s)")
    p.add_argument("--aggregate", choices=["first", "mean", "max", "multi-mask", "exact",
                                           "exact-mean"],
                   help="how multi-token label words are scored (with --label-words; exact: "
                        "the word's log-probability by teacher forcing, exact-mean: that per "
                        "sub-token, causal LMs only; default: first)")
    p.add_argument("--template", help="template text with {text} and {mask} (default: the "
                                      "language's template for the backbone and --task)")
    _add_task_arg(p)
    p.add_argument("--label-words", help="label-word file (mrekv JSON or KPT .txt/.json; "
                                         "default: none, a soft verbalizer over the classes)")
    p.add_argument("--top-k", type=positive_int,
                   help="keep the k best label words per class (default: all)")
    p.add_argument("--lang", choices=["en", "ja", "zh"],
                   help="language of the texts (default: guessed from them)")
    p.add_argument("--epochs", type=positive_int, default=5, help="training epochs")
    p.add_argument("--batch-size", type=positive_int, default=8, help="texts per batch")
    p.add_argument("--learning-rate", type=positive_float, default=2e-5,
                   help="learning rate of the optimizer")
    p.add_argument("--max-length", type=positive_int, default=128,
                   help="tokens kept per text (longer texts are cut)")
    p.add_argument("--seed", type=seed, default=42, help="random seed (0 to 2**63 - 1)")
    p.add_argument("--device", type=device,
                   help="cpu, cuda, cuda:1 or mps (default: CUDA when present, else CPU)")
    p.add_argument("--trust-remote-code", action="store_true",
                   help="run the model's own code from its folder or Hub repo (off by default)")


def _add_task_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--task", choices=TASKS,
                   help="what the classes are, for the default template (no --template): "
                        "sentiment ('{text} It was {mask}'), topic, or generic; default: "
                        "sentiment when the MMM records carry a sentiment task word, else "
                        "generic, with a warning")


def check_model_arg(model: str, option: str = "--model") -> None:
    """A model argument written as a path (``./m``, ``/m``, ``~/m``, ``a/b/c``) must exist."""
    import os

    expanded = os.path.expanduser(model)
    looks_like_path = (model.startswith((".", "/", "~", "\\")) or model.count("/") >= 2
                       or model.endswith(".gguf") or "\\" in model)
    if looks_like_path and not os.path.exists(expanded):
        raise MrekvError(f"{option} {model!r}: no such file or folder (a Hub id looks like "
                         "'org/name'; a local model is a folder with config.json)")
    if os.path.isdir(expanded):
        config = Path(expanded) / "config.json"
        if not config.is_file():
            raise MrekvError(f"{option} {model!r}: the folder has no config.json, so it is not "
                             "a Hugging Face model folder")
        try:
            model_type = load_json(config.read_text(encoding="utf-8")).get("model_type")
        except (OSError, ValueError, AttributeError):
            model_type = None
        if not model_type and option == "--model":
            raise MrekvError(f"{config}: not a JSON object with a 'model_type' key, so "
                             "transformers cannot tell which model it is")


#: Files that make a folder a tokenizer folder (any one of them is enough).
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "vocab.json",
                   "tokenizer.model", "spiece.model", "sentencepiece.bpe.model")


def check_tokenizer_arg(tokenizer: str, option: str = "--tokenizer-from") -> None:
    """A tokenizer argument: a Hub id, or a folder with tokenizer files (config.json not needed)."""
    import os

    expanded = os.path.expanduser(tokenizer)
    if os.path.isdir(expanded):
        if not any((Path(expanded) / name).is_file() for name in TOKENIZER_FILES):
            raise MrekvError(f"{option} {tokenizer!r}: the folder has no tokenizer files "
                             f"(one of {', '.join(TOKENIZER_FILES)})")
        return
    if os.path.exists(expanded):
        raise MrekvError(f"{option} {tokenizer!r}: is a file; give the folder holding it")
    looks_like_path = (tokenizer.startswith((".", "/", "~", "\\")) or tokenizer.count("/") >= 2
                       or "\\" in tokenizer)
    if looks_like_path:
        raise MrekvError(f"{option} {tokenizer!r}: no such file or folder (a Hub id looks like "
                         "'org/name'; a local tokenizer is a folder with tokenizer.json, "
                         "tokenizer_config.json or vocab.txt)")


def _read_label_words(args: argparse.Namespace) -> Any:
    from mrekv.verbalizer.io import read_label_words

    label_words = read_label_words(input_file(args.label_words, "--label-words"))
    return label_words.top(args.top_k) if args.top_k else label_words


def _make_classifier(args: argparse.Namespace, label_words: Any = None, *,
                     texts: Sequence[str] = (), data: str | None = None) -> Any:
    """The PromptClassifier of ``args``; its template is chosen and printed first."""
    from mrekv.prompt.classifier import PromptClassifier

    choice = choose_template(args, texts, data)
    print(choice.report(f"mrekv {args.command}"), file=sys.stderr)

    verbalizer: Any = None
    if label_words is not None:
        from mrekv.verbalizer.knowledgeable import KnowledgeableVerbalizer

        verbalizer = KnowledgeableVerbalizer(label_words, aggregate=args.aggregate or "first")
    return PromptClassifier(
        args.model,
        template=choice.text,
        verbalizer=verbalizer,
        lang=args.lang,
        backbone=args.backbone,
        train_mode=args.train_mode,
        frozen_head=args.frozen_head,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        max_length=args.max_length,
        seed=args.seed,
        device=args.device,
        trust_remote_code=args.trust_remote_code,
    )


def _check_train_options(args: argparse.Namespace) -> None:
    """Option combinations that cannot work, found before any file or model is read."""
    from mrekv.errors import ConfigError

    if args.finetune and (args.train_mode != "full" or args.aggregate):
        raise ConfigError("--finetune trains a classification head on the whole model: "
                          "--train-mode frozen and --aggregate do not apply")
    if args.finetune and (args.label_words or args.calibrate or args.template):
        raise ConfigError("--finetune has no verbalizer or template: --label-words, "
                          "--calibrate and --template do not apply")
    if args.finetune and args.backbone != "auto":
        raise ConfigError("--finetune loads a sequence-classification head: --backbone "
                          "does not apply")
    if not args.finetune and args.aggregate and not args.label_words:
        raise ConfigError("--aggregate scores label words: pass --label-words too")
    if args.calibrate and not args.label_words:
        raise ConfigError("--calibrate sets a prior over label words, and without "
                          "--label-words the verbalizer is soft (no words to calibrate): "
                          "pass --label-words, or drop --calibrate")
    if args.top_k and not args.label_words:
        raise ConfigError("--top-k keeps the best label words: pass --label-words too")
    check_model_arg(args.model)
    if Path(args.out).is_file():
        raise MrekvError(f"--out {args.out!r} is a file; a saved model is a folder")


def cmd_train(args: argparse.Namespace) -> int:
    # every input is read and checked before a model is loaded or trained
    _check_train_options(args)
    texts, labels = read_labelled(args.train, args.lang)
    require_nonempty(texts, args.train, "labelled records")
    dev = read_labelled(args.dev, args.lang) if args.dev else (None, None)
    if args.dev:
        require_nonempty(dev[0] or [], args.dev, "labelled records")
        check_labels(dev[1] or [], sorted(set(labels)), f"--dev {args.dev}",
                     f"the training data ({args.train})")
    calibration = read_texts(args.calibrate, args.lang) if args.calibrate else None
    if args.calibrate:
        require_nonempty(calibration or [], args.calibrate, "texts")
    label_words = _read_label_words(args) if args.label_words else None
    if label_words is not None:
        check_labels(labels, label_words.classes, f"--train {args.train}",
                     f"the label-word file {args.label_words}")
        unseen = [c for c in label_words.classes if c not in set(labels)]
        if unseen:
            print(f"mrekv train: warning: {len(unseen)} classes of {args.label_words} have no "
                  f"training example in {args.train} ({summarize(map(repr, unseen))}); they "
                  "are predicted from their label words alone", file=sys.stderr)
    if len(set(labels)) < 2:
        raise MrekvError(f"--train {args.train}: only one class ({labels[0]!r}); a classifier "
                         "needs at least two")
    if args.finetune:
        from mrekv.finetune import FineTuneClassifier

        clf: Any = FineTuneClassifier(
            args.model, epochs=args.epochs, batch_size=args.batch_size,
            learning_rate=args.learning_rate, max_length=args.max_length, seed=args.seed,
            device=args.device, trust_remote_code=args.trust_remote_code,
        )
    else:
        clf = _make_classifier(args, label_words, texts=texts, data=args.train)
    clf.fit(texts, labels, dev_texts=dev[0], dev_labels=dev[1])
    if calibration is not None:
        clf.calibrate(calibration)
    clf.save_pretrained(args.out)
    print(f"saved to {args.out}", file=sys.stderr)
    return 0


def cmd_tiny_model(args: argparse.Namespace) -> int:
    if args.texts is not None and not args.texts:
        raise MrekvError("--texts needs at least one file")
    if args.texts and args.tokenizer_from:
        raise MrekvError("tiny-model needs exactly one of --texts and --tokenizer-from")
    if args.tokenizer_from:
        check_tokenizer_arg(args.tokenizer_from)
    if Path(args.out).is_file():
        raise MrekvError(f"--out {args.out!r} is a file; a model is written as a folder")
    texts = [t for path in args.texts for t in read_texts(path)] if args.texts else None
    if args.texts and not texts:
        raise MrekvError(f"--texts {' '.join(args.texts)}: no texts found (empty files)")
    if texts is None and args.tokenizer_from is None:
        raise MrekvError("tiny-model needs exactly one of --texts and --tokenizer-from")
    try:  # both makers document ValueError for sizes that do not fit (e.g. --hidden 3)
        if args.kind == "masked":
            from mrekv.models import make_tiny_mlm

            out = make_tiny_mlm(args.out, texts, tokenizer_from=args.tokenizer_from,
                                hidden=args.hidden, layers=args.layers, seed=args.seed)
            what = "masked LM"
        else:
            from mrekv.tiny_causal import make_tiny_causal_lm

            out = make_tiny_causal_lm(args.out, kind=args.kind, texts=texts,
                                      tokenizer_from=args.tokenizer_from, hidden=args.hidden,
                                      layers=args.layers, seed=args.seed)
            what = f"causal LM ({args.kind})"
    except ValueError as error:
        raise MrekvError(f"--hidden {args.hidden} --layers {args.layers}: {error}") from None
    print(f"wrote a tiny RANDOM {what} (it knows no language) to {out}", file=sys.stderr)
    return 0


def cmd_convert(args: argparse.Namespace) -> int:
    from mrekv.gguf import convert_gguf

    gguf = input_file(args.gguf, "--gguf")
    with gguf.open("rb") as handle:
        if handle.read(4) != b"GGUF":
            raise MrekvError(f"--gguf {args.gguf!r}: not a GGUF file (it does not start with "
                             "the bytes 'GGUF')")

    print(convert_gguf(args.gguf, cache_dir=args.cache_dir))
    return 0


def _load_saved(path: str) -> Any:
    from mrekv.classifiers import load_classifier

    return load_classifier(path)


def _model_dir(path: str) -> str:
    p = Path(path)
    if not p.is_dir():
        raise MrekvError(f"--model-dir {path!r}: " + ("is a file; a saved model is a folder"
                                                       if p.exists() else "no such folder"))
    return path


def cmd_predict(args: argparse.Namespace) -> int:
    from mrekv._io import atomic_open

    # one output row per input line: blank lines are predicted as empty texts
    texts = read_texts(args.input, keep_blank=True)
    require_nonempty([t for t in texts if t.strip()], args.input, "texts")
    out_path = output_file(args.out) if args.out else None
    clf = _load_saved(_model_dir(args.model_dir))
    blank = sum(1 for t in texts if not t.strip())
    if blank:
        print(f"{args.input}: {blank} blank line(s) kept as empty texts, so output rows "
              "line up with input lines", file=sys.stderr)
    probs = clf.predict_proba(texts)
    classes = list(clf.classes_)
    rows = []
    for text, row in zip(texts, probs, strict=True):
        best = int(row.argmax())
        proba = {c: float(p) for c, p in zip(classes, row, strict=True)}
        rows.append(json.dumps({"text": text, "label": classes[best], "proba": proba},
                               ensure_ascii=False) + "\n")
    if out_path is None:
        sys.stdout.writelines(rows)
    else:  # atomic: a failed write leaves an existing file as it was
        with atomic_open(out_path) as handle:
            handle.writelines(rows)
    return 0


def _saved_classes(model_dir: str) -> list[str] | None:
    """The classes a saved model records in its JSON file, read without loading weights."""
    from mrekv.prompt.saving import CONFIG_FILE, read_json

    try:  # read_json refuses a FIFO or a link out of the folder before opening it
        classes = read_json(Path(model_dir) / CONFIG_FILE).get("classes")
    except (OSError, ValueError, AttributeError):
        return None  # load_classifier names what is wrong with the folder
    if isinstance(classes, list) and all(isinstance(c, str) for c in classes):
        return classes
    return None


def cmd_evaluate(args: argparse.Namespace) -> int:
    if (args.model_dir is None) == (args.model is None):
        raise ConfigError("give --model-dir (a trained folder) or --model with --label-words "
                          "(zero-shot), not both or neither")
    if args.model is not None:
        return _evaluate_zero_shot(args)
    for flag in ("label_words", "calibrate", "template", "task"):
        if getattr(args, flag):
            raise ConfigError(f"--{flag.replace('_', '-')} goes with --model (zero-shot); a "
                              "--model-dir folder has its own verbalizer and template")
    texts, labels = read_labelled(args.input)
    require_nonempty(texts, args.input, "labelled records")
    classes = _saved_classes(_model_dir(args.model_dir))
    if classes is not None:  # before the weights are loaded
        check_labels(labels, classes, f"--input {args.input}", f"the model in {args.model_dir}")
    clf = _load_saved(args.model_dir)
    check_labels(labels, list(clf.classes_), f"--input {args.input}",
                 f"the model in {args.model_dir}")
    print_json(_scored(clf, texts, labels, args))
    return 0


def _scored(clf: Any, texts: Sequence[str], labels: Sequence[str],
            args: argparse.Namespace) -> dict[str, Any]:
    """Classification and probability metrics of ``clf`` on the labelled texts (one LM
    pass), after temperature scaling on ``--fit-temperature`` texts when given."""
    import numpy as np
    from scipy.special import softmax

    from mrekv.metrics import classification_metrics, fit_temperature, probability_metrics

    classes = [str(c) for c in clf.classes_]
    extra: dict[str, Any] = {}
    proba = np.asarray(clf.predict_proba(texts), dtype=np.float64)
    if args.fit_temperature:
        held_texts, held_labels = read_labelled(args.fit_temperature, args.lang)
        require_nonempty(held_texts, args.fit_temperature, "labelled records")
        check_labels(held_labels, classes, f"--fit-temperature {args.fit_temperature}",
                     "the model's classes")
        held = np.asarray(clf.predict_proba(held_texts), dtype=np.float64)
        temperature = fit_temperature(np.log(np.clip(held, 1e-12, None)),
                                      np.array([classes.index(c) for c in held_labels]))
        proba = softmax(np.log(np.clip(proba, 1e-12, None)) / temperature, axis=1)
        extra = {"temperature": round(temperature, 4), "n_temperature": len(held_texts)}
    predicted = [classes[i] for i in proba.argmax(1)]
    y = np.array([classes.index(c) for c in labels])
    return {**classification_metrics(labels, predicted, labels=classes),
            "probability": probability_metrics(proba, y), **extra}


def _evaluate_zero_shot(args: argparse.Namespace) -> int:
    """``evaluate --model M --label-words F [--calibrate U]``: no training at all."""
    if not args.label_words:
        raise ConfigError("zero-shot evaluation scores label words: pass --label-words")
    check_model_arg(args.model)
    texts, labels = read_labelled(args.input, args.lang)
    require_nonempty(texts, args.input, "labelled records")
    calibration = read_texts(args.calibrate, args.lang) if args.calibrate else None
    if args.calibrate:
        require_nonempty(calibration or [], args.calibrate, "texts")
    label_words = _read_label_words(args)
    check_labels(labels, label_words.classes, f"--input {args.input}",
                 f"the label-word file {args.label_words}")
    clf = _make_classifier(args, label_words, texts=texts, data=args.input)
    if calibration:
        clf.calibrate(calibration)
    print_json({**_scored(clf, texts, labels, args), "zero_shot": True,
                "calibrated": bool(calibration), "template": clf.template_.text})
    return 0


def add_commands(sub: Any) -> None:
    """Add the model commands to the ``mrekv`` subparsers ``sub``."""
    p = sub.add_parser("train", help="prompt-tune (or fine-tune) a masked or causal LM, save it")
    _add_model_args(p)
    p.add_argument("--train", required=True, help="MMM (.jsonl/.json) or TSV (label<TAB>text) "
                                                  "file of labelled training texts")
    p.add_argument("--dev", help="MMM or TSV dev file for the best-dev checkpoint "
                                 "(default: none, the last epoch is kept)")
    p.add_argument("--calibrate", help="file of unlabeled texts for contextual calibration "
                                       "(needs --label-words; default: no calibration)")
    p.add_argument("--finetune", action="store_true",
                   help="train the full fine-tuning baseline instead of a prompt model")
    p.add_argument("--out", required=True, help="folder the trained model is saved to")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("tiny-model", help="write a tiny random masked or causal LM for smoke tests")
    p.add_argument("--out", required=True, help="folder the model is written to")
    p.add_argument("--kind", default="masked", choices=["masked", *CAUSAL_KINDS],
                   help="masked: BERT with WordPiece; llama / gemma3 / gpt2: a causal LM with "
                        "a BPE vocabulary (default: %(default)s)")
    p.add_argument("--texts", nargs="*", help="files whose texts train its vocabulary "
                                              "(one of --texts and --tokenizer-from)")
    p.add_argument("--tokenizer-from",
                   help="reuse this tokenizer instead: a Hub id, or a folder with the tokenizer "
                        "files (tokenizer.json, tokenizer_config.json or vocab.txt; no "
                        "config.json needed)")
    p.add_argument("--hidden", type=positive_int, default=32, help="hidden size")
    p.add_argument("--layers", type=positive_int, default=2, help="number of layers")
    p.add_argument("--seed", type=seed, default=0, help="random seed of the weights")
    p.set_defaults(func=cmd_tiny_model)

    p = sub.add_parser("convert", help="convert a GGUF causal LM once into a cached folder")
    p.add_argument("--gguf", required=True, help="the .gguf file")
    p.add_argument("--cache-dir",
                   help="where converted models go (default: $MREKV_CACHE/gguf, else "
                        "~/.cache/mrekv/gguf)")
    p.set_defaults(func=cmd_convert)

    p = sub.add_parser("predict", help="predict classes with a saved model")
    p.add_argument("--model-dir", required=True, help="folder written by `mrekv train`")
    p.add_argument("--input", required=True,
                   help="texts: a plain file (one text a line; every line gives one output "
                        "row), TSV or MMM")
    p.add_argument("--out", help="JSON Lines output, written atomically (default: stdout)")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("evaluate", help="accuracy and macro-F1 of a saved model, or of a model "
                                        "and label words zero-shot, on labelled data")
    p.add_argument("--model-dir", help="folder written by `mrekv train`")
    p.add_argument("--model", help="zero-shot instead: a Hub id, folder or .gguf file of a "
                                   "masked or causal LM (with --label-words)")
    p.add_argument("--label-words", help="with --model: label-word file (mrekv JSON or KPT)")
    p.add_argument("--calibrate", help="with --model: unlabeled texts for calibration")
    p.add_argument("--template", help="with --model: template text with {text} and {mask}")
    _add_task_arg(p)
    p.add_argument("--aggregate", choices=["first", "mean", "max", "multi-mask", "exact",
                                           "exact-mean"],
                   help="with --model: how multi-token label words are scored")
    p.add_argument("--top-k", type=positive_int, help="with --model: best k words per class")
    p.add_argument("--backbone", default="auto", choices=["auto", *BACKBONES],
                   help="with --model: the model's kind; auto reads it from its config "
                        "(default: %(default)s)")
    p.add_argument("--lang", choices=["en", "ja", "zh"],
                   help="language of the texts (default: guessed from them)")
    p.add_argument("--max-length", type=positive_int, default=128,
                   help="with --model: tokens kept per text (default: %(default)s)")
    p.add_argument("--device", type=device,
                   help="with --model: cpu, cuda, cuda:1 or mps (default: CUDA when present, "
                        "else CPU)")
    p.add_argument("--trust-remote-code", action="store_true",
                   help="with --model: run the model's own code from its folder or Hub repo "
                        "(off by default)")
    p.set_defaults(train_mode="full", frozen_head="prior", epochs=1, batch_size=8,
                   learning_rate=2e-5, seed=42)
    p.add_argument("--input", required=True, help="MMM or TSV (label<TAB>text) file whose "
                                                  "labels are classes of the model")
    p.add_argument("--fit-temperature", metavar="FILE",
                   help="MMM or TSV file of held-out labelled texts (not --input's): fit a "
                        "temperature on them and report --input's metrics after scaling "
                        "(predictions do not change, confidence does)")
    p.set_defaults(func=cmd_evaluate)
