"""Use OpenPrompt / KPT files with mrekv's native API: ``Template.from_openprompt`` + ``read_kpt``.

    python examples/openprompt_files.py                      # offline: writes small files first
    python examples/openprompt_files.py \\
        --template-file ../shared/kpt/openprompt/amazon/manual_template.txt --template-id 2 \\
        --knowledge-file ../shared/kpt/openprompt/amazon/knowledgeable_verbalizer.txt \\
        --model bert-base-uncased

KPT's knowledge files have one line of comma-separated label words per class, in class
order, the first word usually the class name (``bad,...`` / ``good,...`` for Amazon);
``read_kpt(classes=...)`` names the lines after your labels. OpenPrompt's
``manual_template.txt`` has one template per line; ``Template.from_openprompt`` reads
one. (To port a whole OpenPrompt script unchanged, see ``mrekv.openprompt`` and
``examples/openprompt_kpt_port.py``.)

Without ``--model`` the masked LM is a tiny *random* BERT on the real bert-base-uncased
vocabulary. The last line printed is ``result: {...}`` (JSON).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import mrekv

ROOT = Path(__file__).resolve().parents[1]
TEST = ROOT / "data" / "samples" / "en-scpos-adj-n.test.jsonl"
VOCAB = ROOT.parent / "shared" / "models" / "tokenizers" / "en-bert-base-uncased"

# The two formats, as KPT and OpenPrompt write them (used when no files are given).
KNOWLEDGE = "bad,awful,terrible,rude,cold,dirty,slow\ngood,great,friendly,fast,clean,amazing\n"
TEMPLATES = (
    ' It was {"mask"} . {"placeholder": "text_a"}\n'
    ' {"placeholder": "text_a"} All in all , it was {"mask"} .\n'
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--knowledge-file", type=Path, help="a KPT knowledge file (.txt)")
    parser.add_argument("--template-file", type=Path, help="an OpenPrompt manual_template.txt")
    parser.add_argument("--template-id", type=int, default=1, help="line of the template file")
    parser.add_argument("--classes", nargs="+", default=["negative", "positive"])
    parser.add_argument("--model", help="Hub id or folder of a masked LM (default: tiny random)")
    args = parser.parse_args()

    test = mrekv.read_mmm(TEST).read()
    texts = [e.text for e in test]
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        knowledge_file = args.knowledge_file or tmp_path / "knowledgeable_verbalizer.txt"
        template_file = args.template_file or tmp_path / "manual_template.txt"
        if args.knowledge_file is None:
            knowledge_file.write_text(KNOWLEDGE, encoding="utf-8")
        if args.template_file is None:
            template_file.write_text(TEMPLATES, encoding="utf-8")

        label_words = mrekv.read_kpt(knowledge_file, classes=args.classes)
        line = template_file.read_text(encoding="utf-8").splitlines()[args.template_id]
        template = mrekv.Template.from_openprompt(line)
        print("template:", repr(template.text))
        print("words per class:", label_words.counts())

        model = args.model or mrekv.make_tiny_mlm(
            tmp_path / "tiny-en",
            texts=None if VOCAB.is_dir() else texts,
            tokenizer_from=VOCAB if VOCAB.is_dir() else None,
        )
        clf = mrekv.PromptClassifier(
            model,
            template=template,
            verbalizer=mrekv.KnowledgeableVerbalizer(label_words),
            progress=False,
        )
        clf.calibrate(texts)
        score = clf.score(texts, [e.text_label for e in test])
        # write the words back in KPT's format: the same lines, in class order
        mrekv.write_kpt(tmp_path / "roundtrip.txt", label_words)
        same = mrekv.read_kpt(tmp_path / "roundtrip.txt", classes=args.classes)
        assert same.as_lists() == label_words.as_lists()

    result = {
        "n": len(texts),
        "accuracy": score,
        "template": template.text,
        "words": label_words.counts(),
        "classes": list(clf.classes_),
    }
    print("result:", json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
