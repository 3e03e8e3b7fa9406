"""What the commands read: labelled files, text files, MRE examples; JSON output."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from mrekv.data.example import guess_lang
from mrekv.errors import MrekvError


def read_labelled(path: str, lang: str | None = None) -> tuple[list[str], list[str]]:
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


def read_texts(path: str, lang: str | None = None) -> list[str]:
    """Texts from an MMM file, a TSV file (label<TAB>text) or a plain file (one text a line)."""
    p = Path(path)
    if p.suffix in {".json", ".jsonl", ".tsv"}:
        return read_labelled(path, lang)[0]
    with p.open(encoding="utf-8") as handle:
        return [line.rstrip("\n") for line in handle if line.strip()]


def examples_from_args(args: argparse.Namespace) -> tuple[list[Any], str | None]:
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


def print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))
