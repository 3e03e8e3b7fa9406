"""The data commands: tokenize, build-mre, mine, probe, mmm validate / convert, datasets."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from mrekv.cli._inputs import examples_from_args, print_json, read_texts


def cmd_tokenize(args: argparse.Namespace) -> int:
    from mrekv.tokenizers import get_tokenizer

    tokenizer = get_tokenizer(args.lang, **({"backend": args.backend} if args.backend else {}))
    texts = list(args.text) or read_texts(args.input)
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

    examples, lang = examples_from_args(args)
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
    label_words = read_label_words(args.label_words)
    result = probe_label_words(
        label_words, [e.text for e in examples], [e.text_label for e in examples], lang,
        weighting=args.weighting, default=args.default,
    )
    print_json({"accuracy": result.accuracy, "macro_f1": result.macro_f1,
                 "coverage": result.coverage, "n": len(examples)})
    return 0


def cmd_mmm_validate(args: argparse.Namespace) -> int:
    from mrekv.data.mmm import validate_mmm

    report = validate_mmm(args.file)
    for error in report.errors:
        print(error, file=sys.stderr)
    print(f"{report.path}: {report.format}, {report.records} valid records, "
          f"{len(report.errors)} malformed")
    print_json({"tasks": report.tasks, "text_labels": report.text_labels})
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
            # a file name not recorded shows the pattern load_mmm looks it up by
            files = [d.filename(s) or " | ".join(d.file_patterns(s)) for s in ("train", "test")]
            print(f"{d.name}\t{d.alias}\t{d.task_word.value}\t{files[0]}\t{files[1]}")
    else:
        from mrekv.data.corpora import list_corpora

        for c in list_corpora():
            print(f"{c.name}\t{c.lang}\t{c.description}")
    return 0


def _add_source(p: argparse.ArgumentParser) -> None:
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--input", help="an MMM file (.jsonl or .json)")
    src.add_argument("--corpus", help="a corpus name (see `mrekv datasets corpora`)")
    p.add_argument("--split", help="the corpus split to use (train, dev, test)")
    p.add_argument("--root", help="corpora root (default: $MREKV_DATASETS, ../shared/datasets)")
    p.add_argument("--lang", choices=["en", "ja", "zh"])


def add_commands(sub: Any) -> None:
    """Add the data commands to the ``mrekv`` subparsers ``sub``."""
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
