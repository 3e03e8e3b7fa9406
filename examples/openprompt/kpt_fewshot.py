"""KPT's few-shot experiment (``fewshot.py`` of KnowledgeablePromptTuning), on mrekv.openprompt.

The steps and options of KPT's script: the dataset, template and knowledge
files found as in ``kpt_zeroshot.py``; a ``KnowledgeableVerbalizer`` (``kpt``),
a ``ManualVerbalizer`` (``manual``) or a ``SoftVerbalizer`` initialised from the
manual label words (``soft``); optional calibration and relevance refinement
on a support set of training texts; a few-shot training set and a dev set of
``--shot`` examples per class drawn with
``FewShotSampler(num_examples_per_label=..., also_sample_dev=True)``; then
``--max_epochs`` epochs of training with KPT's optimizers (AdamW on the model
with a linear decay, plus AdamW on the knowledgeable verbalizer's word weights,
or on the soft verbalizer's head), keeping the checkpoint with the best dev
accuracy, and its test accuracy, printed and appended to ``--result_file``.

KPT's ``auto`` verbalizer is not offered here. ``--data_dir`` / ``--scripts_dir``
point at other folders and ``--num_support``, ``--num_test``, ``--max_seq_length``,
``--batch_size``, ``--learning_rate`` change the sizes (the defaults are KPT's).

Run it offline::

    python examples/openprompt/kpt_fewshot.py --model bert \\
        --model_name_or_path ../shared/openprompt-golden/model --openprompt_path OpenPrompt \\
        --dataset agnews --template_id 0 --verbalizer kpt --shot 5 --max_epochs 5
"""

import argparse
import tempfile
from pathlib import Path

import torch
from transformers import get_linear_schedule_with_warmup

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
from mrekv.openprompt.prompts import (
    KnowledgeableVerbalizer,
    ManualTemplate,
    ManualVerbalizer,
    SoftVerbalizer,
)
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
    parser.add_argument("--model", default="roberta")
    parser.add_argument("--model_name_or_path", required=True)
    parser.add_argument("--result_file", default=None, help="append the result here")
    parser.add_argument("--openprompt_path", default="OpenPrompt")
    parser.add_argument("--data_dir", default=None, help="instead of the openprompt_path one")
    parser.add_argument("--scripts_dir", default=None, help="instead of the openprompt_path one")
    parser.add_argument("--shot", type=int, default=5)
    parser.add_argument("--seed", type=int, default=144)
    parser.add_argument("--plm_eval_mode", action="store_true")
    parser.add_argument("--verbalizer", default="kpt", choices=["kpt", "manual", "soft"])
    parser.add_argument("--calibration", action="store_true")
    parser.add_argument("--filter", default="none", choices=["none", "tfidf_filter"])
    parser.add_argument("--template_id", type=int, default=0)
    parser.add_argument("--dataset", default="agnews", choices=sorted(DATASETS))
    parser.add_argument("--gradient_accumulation_steps", type=int, default=1)
    parser.add_argument("--max_epochs", type=int, default=5)
    parser.add_argument("--kptw_lr", type=float, default=0.06)
    parser.add_argument("--pred_temp", type=float, default=1.0)
    parser.add_argument("--max_token_split", type=int, default=-1)
    parser.add_argument("--num_support", type=int, default=200)
    parser.add_argument("--num_test", type=int, default=None, help="test examples (first N)")
    parser.add_argument("--max_seq_length", type=int, default=None)
    parser.add_argument("--batch_size", type=int, default=None)
    parser.add_argument("--learning_rate", type=float, default=3e-5)
    args = parser.parse_args()
    if args.filter != "none" and args.verbalizer != "kpt":
        parser.error("--filter tfidf_filter refines a knowledgeable verbalizer (--verbalizer kpt)")
    if args.calibration and args.verbalizer == "soft":
        parser.error("--calibration calibrates a kpt or manual verbalizer")
    return args


def evaluate(prompt_model, dataloader, device):
    prompt_model.eval()
    predictions, labels = [], []
    with torch.no_grad():
        for inputs in dataloader:
            inputs = inputs.to(device)
            predictions += prompt_model(inputs).argmax(dim=-1).tolist()
            labels += inputs["label"].tolist()
    return sum(p == y for p, y in zip(predictions, labels, strict=True)) / max(len(labels), 1)


def plm_groups(plm, weight_decay=0.01):
    """The model's parameters, without weight decay on biases and LayerNorm weights."""
    no_decay = ("bias", "LayerNorm.weight")
    named = list(plm.named_parameters())
    return [
        {
            "params": [p for n, p in named if not any(k in n for k in no_decay)],
            "weight_decay": weight_decay,
        },
        {"params": [p for n, p in named if any(k in n for k in no_decay)], "weight_decay": 0.0},
    ]


def main():
    args = parse_args()
    set_seed(args.seed)
    plm, tokenizer, model_config, WrapperClass = load_plm(args.model, args.model_name_or_path)

    processor_class, folder, script_format, cutoff, max_seq_l, batch_s = DATASETS[args.dataset]
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
            pred_temp=args.pred_temp,
            max_token_split=args.max_token_split,
        ).from_file(scripts / f"knowledgeable_verbalizer.{script_format}")
    elif args.verbalizer == "manual":
        verbalizer = ManualVerbalizer(tokenizer, classes=class_labels).from_file(
            scripts / f"manual_verbalizer.{script_format}"
        )
    else:
        verbalizer = SoftVerbalizer(tokenizer, model=plm, classes=class_labels).from_file(
            scripts / f"manual_verbalizer.{script_format}"
        )

    def loader(examples, shuffle=False):
        return PromptDataLoader(
            dataset=examples,
            template=template,
            tokenizer=tokenizer,
            tokenizer_wrapper_class=WrapperClass,
            max_seq_length=max_seq_l,
            decoder_max_length=3,
            batch_size=batch_s,
            shuffle=shuffle,
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

    # calibration and refinement on a support set of training texts
    if args.calibration or args.filter != "none":
        sampler = FewShotSampler(num_examples_total=args.num_support, also_sample_dev=False)
        dataset["support"] = sampler(dataset["train"], seed=args.seed)
        print("label words per class:", [len(words) for words in verbalizer.label_words])
        cc_logits = calibrate(prompt_model, loader(dataset["support"]))
        if args.calibration:
            verbalizer.register_calibrate_logits(cc_logits.mean(dim=0))
            print("after calibration:", [len(words) for words in verbalizer.label_words])
        if args.filter == "tfidf_filter":
            print(tfidf_filter(verbalizer, cc_logits, class_labels), end="")

    # the few-shot training and dev sets, drawn from the training split
    sampler = FewShotSampler(
        num_examples_per_label=args.shot, also_sample_dev=True, num_examples_per_label_dev=args.shot
    )
    dataset["train"], dataset["validation"] = sampler(dataset["train"], seed=args.seed)
    train_loader = loader(dataset["train"], shuffle=True)
    validation_loader = loader(dataset["validation"])
    test_loader = loader(dataset["test"])

    # KPT's optimizers: the model with a linear decay, and per verbalizer its own parameters
    steps = len(train_loader) // args.gradient_accumulation_steps * args.max_epochs
    optimizer1 = torch.optim.AdamW(plm_groups(prompt_model.plm), lr=args.learning_rate)
    scheduler1 = get_linear_schedule_with_warmup(optimizer1, 0, steps)
    optimizer2 = scheduler2 = None
    if args.verbalizer == "kpt":
        optimizer2 = torch.optim.AdamW(prompt_model.verbalizer.parameters(), lr=args.kptw_lr)
    elif args.verbalizer == "soft":
        optimizer2 = torch.optim.AdamW(
            [
                {"params": prompt_model.verbalizer.group_parameters_1, "lr": 3e-5},
                {"params": prompt_model.verbalizer.group_parameters_2, "lr": 3e-4},
            ]
        )
        scheduler2 = get_linear_schedule_with_warmup(optimizer2, 0, steps)

    loss_func = torch.nn.CrossEntropyLoss()
    best_val_acc = -1.0
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = Path(tmp) / "best.ckpt"
        for epoch in range(args.max_epochs):
            prompt_model.train()
            total_loss = 0.0
            for inputs in train_loader:
                inputs = inputs.to(device)
                loss = loss_func(prompt_model(inputs), inputs["label"])
                loss.backward()
                torch.nn.utils.clip_grad_norm_(prompt_model.parameters(), 1.0)
                total_loss += loss.item()
                optimizer1.step()
                scheduler1.step()
                optimizer1.zero_grad()
                if optimizer2 is not None:
                    optimizer2.step()
                    optimizer2.zero_grad()
                if scheduler2 is not None:
                    scheduler2.step()
            val_acc = evaluate(prompt_model, validation_loader, device)
            if val_acc >= best_val_acc:
                torch.save(prompt_model.state_dict(), checkpoint)
                best_val_acc = val_acc
            print(
                f"Epoch {epoch}, loss {total_loss / max(len(train_loader), 1):.4f}, "
                f"val_acc {val_acc}",
                flush=True,
            )
        prompt_model.load_state_dict(torch.load(checkpoint, weights_only=True))
    test_acc = evaluate(prompt_model, test_loader, device)

    content = (
        "=" * 20
        + "\n"
        + f"dataset {args.dataset}\ttemp {args.template_id}\tseed {args.seed}\t"
        + f"shot {args.shot}\tverb {args.verbalizer}\tcali {args.calibration}\t"
        + f"filt {args.filter}\tmaxsplit {args.max_token_split}\tkptw_lr {args.kptw_lr}\t\n"
        + f"Acc: {test_acc}\n\n"
    )
    print(content, end="")
    if args.result_file:
        with open(args.result_file, "a", encoding="utf-8") as out:
            out.write(content)


if __name__ == "__main__":
    main()
