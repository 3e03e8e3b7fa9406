"""The data commands: tokenize, build-mre, mine, probe, mmm validate / convert, datasets."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from mrekv.cli._inputs import (
    TSV_FORM,
    check_labels,
    examples_from_args,
    input_file,
    output_file,
    print_json,
    read_labelled,
    read_texts,
    require_nonempty,
)
from mrekv.cli._types import positive_int, probability
from mrekv.errors import MrekvError


def cmd_tokenize(args: argparse.Namespace) -> int:
    from mrekv.tokenizers import get_tokenizer

    if bool(args.text) == bool(args.input):
        raise MrekvError("give the texts to tokenize as arguments or with --input FILE "
                         "(exactly one of the two)")
    texts = list(args.text) or read_texts(args.input)
    require_nonempty(texts, args.input, "texts")
    tokenizer = get_tokenizer(args.lang, **({"backend": args.backend} if args.backend else {}))
    for tokens in tokenizer.tokenize_batch(texts):
        if args.json:
            rows = [[t.surface, t.lemma, t.upos, t.tag] for t in tokens]
            print(json.dumps(rows, ensure_ascii=False))
        else:
            print(" ".join(f"{t.surface}/{t.upos}" for t in tokens))
    return 0


def _clean_tsv(path: str, folder: Path) -> Path:
    """``path`` checked by the CLI's TSV reader and rewritten plainly (no BOM, no CR,
    labels normalised, no blank lines) into ``folder``.

    The copy starts with the header ``label<TAB>text`` and quotes what needs quoting, so
    reading it again gives back these very records (no header guessed, no quote lost twice).
    """
    import csv

    texts, labels = read_labelled(path)
    require_nonempty(texts, path, "labelled records")
    folder.mkdir(parents=True, exist_ok=True)
    clean = folder / (Path(path).stem + ".tsv")
    with clean.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(["label", "text"])
        writer.writerows(zip(labels, texts, strict=True))
    return clean


def cmd_build_mre(args: argparse.Namespace) -> int:
    import tempfile

    from mrekv.data.mre_mix import build_mre_file

    output_file(args.out)
    if args.input is None and args.corpus is not None:
        from mrekv.data.corpora import CORPORA
        from mrekv.errors import unknown_choice

        if args.corpus not in CORPORA:
            raise MrekvError(unknown_choice("corpus", args.corpus, list(CORPORA)))
    with tempfile.TemporaryDirectory(prefix="mrekv-build-mre-") as tmp:
        # a wrong line is reported by the CLI's reader (file, line, expected form)
        source = _clean_tsv(args.input, Path(tmp)) if args.input else None
        knowledge = _clean_tsv(args.knowledge, Path(tmp) / "k") if args.knowledge else None
        try:
            n = build_mre_file(
                args.out, args.family, corpus=args.corpus, input_path=source, lang=args.lang,
                split=args.split, knowledge_split=args.knowledge_split,
                knowledge_path=knowledge, use_gold=args.gold, min_count=args.min_count,
                p_value=args.p_value, format=args.format, root=args.root, show_progress=True,
            )
        except KeyError as error:  # Corpus.split: an unknown split name (documented)
            raise MrekvError(f"--corpus {args.corpus}: {error.args[0]}") from None
    print(f"wrote {n} records to {args.out}", file=sys.stderr)
    return 0


def cmd_mine(args: argparse.Namespace) -> int:
    from mrekv.verbalizer.io import write_label_words
    from mrekv.verbalizer.mining import mine_label_words

    output_file(args.out)
    examples, lang = examples_from_args(args)
    if args.source == "word_labels" and not any(e.word_labels for e in examples):
        where = args.input or f"corpus {args.corpus}"
        raise MrekvError(
            f"{where} has no word-level labels, so --source word_labels would mine only the "
            "class names; use --source text, or first build word labels with "
            "`mrekv build-mre --family ...` and mine from its output"
        )
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

    examples, lang = examples_from_args(args)
    label_words = read_label_words(input_file(args.label_words, "--label-words"))
    check_labels((e.text_label for e in examples), label_words.classes,
                 args.input or f"corpus {args.corpus}", f"the label-word file {args.label_words}")
    result = probe_label_words(
        label_words, [e.text for e in examples], [e.text_label for e in examples], lang,
        weighting=args.weighting, default=args.default,
    )
    print_json({"accuracy": result.accuracy, "macro_f1": result.macro_f1,
                 "coverage": result.coverage, "n": len(examples)})
    return 0


def cmd_mmm_validate(args: argparse.Namespace) -> int:
    from mrekv.data.mmm import validate_mmm

    report = validate_mmm(input_file(args.file))
    for error in report.errors:
        print(error, file=sys.stderr)
    print(f"{report.path}: {report.format}, {report.records} valid records, "
          f"{len(report.errors)} malformed")
    print_json({"tasks": report.tasks, "text_labels": report.text_labels})
    if report.records == 0 and not report.errors:
        print(f"{report.path}: no records (the file is empty)", file=sys.stderr)
        return 1
    return 0 if report.ok else 1


def cmd_mmm_convert(args: argparse.Namespace) -> int:
    from mrekv.data.mmm import read_mmm, write_mmm

    output_file(args.output, "output")
    reader = read_mmm(input_file(args.input), on_error="skip" if args.skip_errors else "raise")
    n = write_mmm(args.output, reader, format=args.format)
    print(f"wrote {n} records to {args.output} ({reader.skipped} skipped)", file=sys.stderr)
    return 0


def cmd_datasets(args: argparse.Namespace) -> int:
    if args.kind == "mmm":
        from mrekv.data.catalog import MMM_DATASETS

        for d in MMM_DATASETS:
            # a file name not recorded shows the pattern load_mmm looks it up by
            files = [d.filename(s) or " | ".join(d.file_patterns(s)) for s in ("train", "test")]
            print(f"{d.name}\t{d.alias}\t{d.task_word.value}\t{files[0]}\t{files[1]}")
    else:
        from mrekv.data.corpora import list_corpora

        for c in list_corpora():
            print(f"{c.name}\t{c.lang}\t{c.description}")
    return 0


#: What --root says; the order is :func:`mrekv.data.paths.datasets_root`'s.
ROOT_HELP = ("folder holding the corpora (default: $MREKV_DATASETS, else "
             "$XDG_DATA_HOME/mrekv/datasets, i.e. ~/.local/share/mrekv/datasets, when it "
             "exists; otherwise an error saying what to set)")


def _add_source(p: argparse.ArgumentParser) -> None:
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--input", help="an MMM file (.jsonl or .json)")
    src.add_argument("--corpus", help="a corpus name (see `mrekv datasets corpora`)")
    p.add_argument("--split", help="the corpus split to use, e.g. train, dev, test "
                                   "(default: every record)")
    p.add_argument("--root", help=ROOT_HELP)
    p.add_argument("--lang", choices=["en", "ja", "zh"],
                   help="language of the texts (default: from the records, else guessed)")


def add_commands(sub: Any) -> None:
    """Add the data commands to the ``mrekv`` subparsers ``sub``."""
    p = sub.add_parser("tokenize", help="split text into words with lemma and UPOS tag")
    p.add_argument("--lang", required=True, choices=["en", "ja", "zh"],
                   help="language of the texts")
    p.add_argument("--backend", help="zh only: jieba (default) or rjieba")
    p.add_argument("--input", help="a file of texts (one a line, TSV or MMM) instead of "
                                    "TEXT arguments")
    p.add_argument("--json", action="store_true", help="print [surface, lemma, upos, tag] lists")
    p.add_argument("text", nargs="*", help="texts to tokenize (or give --input)")
    p.set_defaults(func=cmd_tokenize)

    p = sub.add_parser("build-mre", help="turn a labelled corpus into MMM-format MRE records")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--input", help=f"TSV file: {TSV_FORM}")
    src.add_argument("--corpus", help="a corpus name (see `mrekv datasets corpora`)")
    p.add_argument("--split", help="corpus split to convert (default: every record)")
    p.add_argument("--knowledge-split", help="SCPOS:RW: corpus split the relation words are "
                                             "mined from (default: none)")
    p.add_argument("--knowledge", help="SCPOS:RW: TSV file the relation words are mined from "
                                       "(default: none)")
    p.add_argument("--root", help=ROOT_HELP)
    p.add_argument("--lang", choices=["en", "ja", "zh"],
                   help="language (needed with --input; default: the corpus's)")
    p.add_argument("--family", required=True, help='e.g. "SCPOS:Adj & N", "SCPOS:RW", SCNM')
    p.add_argument("--gold", action=argparse.BooleanOptionalAction, default=None,
                   help="keep the corpus's gold word labels (default: when it has them)")
    p.add_argument("--min-count", type=positive_int, default=3,
                   help="SCPOS:RW: a relation word must occur in this many knowledge texts")
    p.add_argument("--p-value", type=probability, default=0.05,
                   help="SCPOS:RW: significance level of a relation word")
    p.add_argument("--format", default="jsonl", choices=["jsonl", "json"],
                   help="JSON Lines or one JSON array")
    p.add_argument("--out", required=True, help="the MMM file to write")
    p.set_defaults(func=cmd_build_mre)

    p = sub.add_parser("mine", help="mine label words per class from word-level labels")
    _add_source(p)
    p.add_argument("--method", default="frequency", choices=["frequency", "tfidf", "pmi", "chi2"],
                   help="how words are scored per class")
    p.add_argument("--top-k", type=positive_int, default=100, help="words kept per class")
    p.add_argument("--min-count", type=positive_int, default=1,
                   help="a word must occur this often with the class")
    p.add_argument("--cross-class", default="keep", choices=["keep", "drop", "assign"],
                   help="a word found for several classes: keep it in each, drop it, or "
                        "assign it to its best class")
    p.add_argument("--source", default="word_labels", choices=["word_labels", "text"],
                   help="mine from the word-level labels or from every word of the texts")
    p.add_argument("--lemmatize", action="store_true", help="merge words by lemma")
    p.add_argument("--no-class-name-first", action="store_true",
                   help="do not put the class name at the head of its words")
    p.add_argument("--format", choices=["json", "kpt", "kpt-json"],
                   help="label-word file format (default: from the --out suffix)")
    p.add_argument("--out", required=True, help="the label-word file to write")
    p.set_defaults(func=cmd_mine)

    p = sub.add_parser("probe", help="model-free check of how informative label words are")
    _add_source(p)
    p.add_argument("--label-words", required=True, help="label-word file (mrekv JSON or KPT)")
    p.add_argument("--weighting", default="uniform", choices=["uniform", "score", "idf"],
                   help="how the label words found in a text are weighted")
    p.add_argument("--default", help="class for texts with no label word, e.g. the majority "
                                     "(default: the first class)")
    p.set_defaults(func=cmd_probe)

    p = sub.add_parser("mmm", help="MMM file tools")
    mmm = p.add_subparsers(dest="mmm_command", required=True)
    q = mmm.add_parser("validate", help="check every record of an MMM file")
    q.add_argument("file", help="the MMM file (.jsonl or .json)")
    q.set_defaults(func=cmd_mmm_validate)
    q = mmm.add_parser("convert", help="rewrite an MMM file as canonical JSON Lines or JSON")
    q.add_argument("input", help="the MMM file to read")
    q.add_argument("output", help="the file to write (atomically)")
    q.add_argument("--format", default="jsonl", choices=["jsonl", "json"],
                   help="JSON Lines or one JSON array")
    q.add_argument("--skip-errors", action="store_true", help="drop malformed records")
    q.set_defaults(func=cmd_mmm_convert)

    p = sub.add_parser("datasets", help="list the MMM catalog or the readable corpora")
    p.add_argument("kind", choices=["mmm", "corpora"], help="which list to print")
    p.set_defaults(func=cmd_datasets)
