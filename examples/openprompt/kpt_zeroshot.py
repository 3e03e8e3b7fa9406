"""KPT's zero-shot experiment (``zeroshot.py`` of KnowledgeablePromptTuning), on mrekv.openprompt.

The steps and options of KPT's script: a dataset read by its processor from
``<openprompt_path>/datasets/TextClassification/<name>/``, the template and the
knowledge file from ``<openprompt_path>/scripts/TextClassification/<name>/``, a
``KnowledgeableVerbalizer`` (or a ``ManualVerbalizer``), and with
``--calibration``: a support set of unlabelled training texts
(``FewShotSampler(num_examples_total=200)``), contextualized calibration with
KPT's frequency cut (``candidate_frac``: 0.5 for the topic datasets, 0 for the
sentiment ones, 0 with ``--nocut``), and with ``--filter tfidf_filter`` KPT's
relevance refinement. The refinement record (``Phase 1/2/3`` word counts and the
words each class kept and lost) is KPT's string; ``--write_filter_record FILE``
appends it to FILE and stops, as KPT does. Then the zero-shot test accuracy,
printed and appended to ``--result_file``.

Besides KPT's options, ``--data_dir`` / ``--scripts_dir`` point at other folders
and ``--num_support``, ``--num_test``, ``--max_seq_length``, ``--batch_size``
change the sizes (the defaults are KPT's).

Run it offline::

    python examples/openprompt/kpt_zeroshot.py --model bert \\
        --model_name_or_path ../shared/openprompt-golden/model --openprompt_path OpenPrompt \\
        --dataset agnews --template_id 0 --verbalizer kpt --calibration --filter tfidf_filter
"""

import argparse
from pathlib import Path

import torch

from mrekv.openprompt import PromptDataLoader, PromptForClassification
from mrekv.openprompt.data_utils.data_sampler import FewShotSampler
from mrekv.openprompt.data_utils.huggingface_dataset import YahooAnswersTopicsProcessor
from mrekv.openprompt.data_utils.text_classification_dataset import (
    AgnewsProcessor,
    AmazonProcessor,
    DBpediaProcessor,
    ImdbProcessor,
)
from mrekv.openprompt.kpt import tfidf_filter
from mrekv.openprompt.plms import load_plm
from mrekv.openprompt.prompts import KnowledgeableVerbalizer, ManualTemplate, ManualVerbalizer
from mrekv.openprompt.utils.calibrate import calibrate
from mrekv.openprompt.utils.reproduciblity import set_seed

#: KPT's settings per dataset: processor, folder, knowledge-file format, candidate_frac,
#: max_seq_length, batch size.
DATASETS = {
    "agnews": (AgnewsProcessor, "agnews", "txt", 0.5, 128, 30),
    "dbpedia": (DBpediaProcessor, "dbpedia", "txt", 0.5, 128, 30),
    "yahoo": (YahooAnswersTopicsProcessor, "yahoo_answers_topics", "json", 0.5, 128, 30),
    "imdb": (ImdbProcessor, "imdb", "txt", 0.0, 512, 5),
    "amazon": (AmazonProcessor, "amazon", "txt", 0.0, 512, 5),
}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shot", type=int, default=0)
    parser.add_argument("--seed", type=int, default=144)
    parser.add_argument("--plm_eval_mode", action="store_true")
    parser.add_argument("--model", default="roberta")
    parser.add_argument("--model_name_or_path", required=True)
    parser.add_argument("--result_file", default=None, help="append the result here")
    parser.add_argument("--openprompt_path", default="OpenPrompt")
    parser.add_argument("--data_dir", default=None, help="instead of the openprompt_path one")
    parser.add_argument("--scripts_dir", default=None, help="instead of the openprompt_path one")
    parser.add_argument("--verbalizer", default="kpt", choices=["kpt", "manual"])
    parser.add_argument("--calibration", action="store_true")
    parser.add_argument("--nocut", action="store_true")
    parser.add_argument("--filter", default="none", choices=["none", "tfidf_filter"])
    parser.add_argument("--template_id", type=int, default=0)
    parser.add_argument("--max_token_split", type=int, default=-1)
    parser.add_argument("--dataset", default="agnews", choices=sorted(DATASETS))
    parser.add_argument("--write_filter_record", default=None, metavar="FILE")
    parser.add_argument("--num_support", type=int, default=200)
    parser.add_argument("--num_test", type=int, default=None, help="test examples (first N)")
    parser.add_argument("--max_seq_length", type=int, default=None)
    parser.add_argument("--batch_size", type=int, default=None)
    args = parser.parse_args()
    if args.filter != "none" and args.verbalizer != "kpt":
        parser.error("--filter tfidf_filter refines a knowledgeable verbalizer (--verbalizer kpt)")
    return args


def main():
    args = parse_args()
    set_seed(args.seed)
    plm, tokenizer, model_config, WrapperClass = load_plm(args.model, args.model_name_or_path)

    processor_class, folder, script_format, cutoff, max_seq_l, batch_s = DATASETS[args.dataset]
    cutoff = 0.0 if args.nocut else cutoff
    max_seq_l = args.max_seq_length or max_seq_l
    batch_s = args.batch_size or batch_s
    root = Path(args.openprompt_path)
    data_dir = Path(args.data_dir or root / "datasets" / "TextClassification" / folder)
    scripts = Path(args.scripts_dir or root / "scripts" / "TextClassification" / folder)
    processor = processor_class()
    dataset = {
        "train": processor.get_train_examples(data_dir),
        "test": processor.get_test_examples(data_dir)[: args.num_test],
    }
    class_labels = processor.get_labels()

    template = ManualTemplate(tokenizer=tokenizer).from_file(
        scripts / "manual_template.txt", choice=args.template_id
    )
    if args.verbalizer == "kpt":
        verbalizer = KnowledgeableVerbalizer(
            tokenizer,
            classes=class_labels,
            candidate_frac=cutoff,
            max_token_split=args.max_token_split,
        ).from_file(scripts / f"knowledgeable_verbalizer.{script_format}")
    else:
        verbalizer = ManualVerbalizer(tokenizer, classes=class_labels).from_file(
            scripts / f"manual_verbalizer.{script_format}"
        )

    def loader(examples):
        return PromptDataLoader(
            dataset=examples,
            template=template,
            tokenizer=tokenizer,
            tokenizer_wrapper_class=WrapperClass,
            max_seq_length=max_seq_l,
            decoder_max_length=3,
            batch_size=batch_s,
            shuffle=False,
            teacher_forcing=False,
            predict_eos_token=False,
            truncate_method="tail",
        )

    device = "cuda" if torch.cuda.is_available() else "cpu"
    prompt_model = PromptForClassification(
        plm=plm,
        template=template,
        verbalizer=verbalizer,
        freeze_plm=False,
        plm_eval_mode=args.plm_eval_mode,
    ).to(device)

    record = ""
    if args.calibration:
        sampler = FewShotSampler(num_examples_total=args.num_support, also_sample_dev=False)
        dataset["support"] = sampler(dataset["train"], seed=args.seed)
        for example in dataset["support"]:
            example.label = -1  # the support texts are unlabelled
        record += f"Phase 1 {[len(words) for words in verbalizer.label_words]}\n"
        cc_logits = calibrate(prompt_model, loader(dataset["support"]))
        print("calibration logits:", tuple(cc_logits.shape))
        verbalizer.register_calibrate_logits(cc_logits.mean(dim=0))
        record += f"Phase 2 {[len(words) for words in verbalizer.label_words]}\n"
        if args.filter == "tfidf_filter":
            record += tfidf_filter(verbalizer, cc_logits, class_labels)
    print(record, end="")

    settings = (
        f"dataset {args.dataset}\ttemp {args.template_id}\tseed {args.seed}\t"
        f"cali {args.calibration}\tfilt {args.filter}\t"
    )
    if args.write_filter_record:
        with open(args.write_filter_record, "a", encoding="utf-8") as out:
            out.write("=" * 20 + "\n" + settings + "\n" + record)
        return

    prompt_model.eval()
    predictions, labels = [], []
    with torch.no_grad():
        for inputs in loader(dataset["test"]):
            inputs = inputs.to(device)
            predictions += prompt_model(inputs).argmax(dim=-1).tolist()
            labels += inputs["label"].tolist()
    acc = sum(p == y for p, y in zip(predictions, labels, strict=True)) / max(len(labels), 1)
    content = (
        "=" * 20
        + "\n"
        + f"dataset {args.dataset}\ttemp {args.template_id}\tseed {args.seed}\t"
        + f"verb {args.verbalizer}\tcali {args.calibration}\tfilt {args.filter}\t"
        + f"nocut {args.nocut}\tmaxsplit {args.max_token_split}\t\n"
        + f"Acc: {acc}\n\n"
    )
    print(content, end="")
    if args.result_file:
        with open(args.result_file, "a", encoding="utf-8") as out:
            out.write(content)


if __name__ == "__main__":
    main()
