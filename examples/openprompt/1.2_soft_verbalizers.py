"""OpenPrompt's tutorial 1.2 (soft verbalizer on GPT-2), written for mrekv.openprompt.

What OpenPrompt's ``tutorial/1.2_soft_verbalizers.py`` does: AG News read with
``AgnewsProcessor`` and cut to a few-shot training and dev set by
``FewShotSampler``, a GPT-2 model from ``load_plm("gpt2", ...)`` (the mask is
predicted as the next token after the template's text), a ``ManualTemplate``, a
``SoftVerbalizer`` built from the model's head with one output per class (without
label words; ``--label_words`` initialises each class's row from a word instead),
then two AdamW optimizers: one for the model, one with the verbalizer's
``group_parameters_1`` (the copied head) and ``group_parameters_2`` (the new class
layer) at their own learning rates, and the dev and test accuracies.

Run it offline on a local causal LM folder::

    python examples/openprompt/1.2_soft_verbalizers.py --model_path path/to/gpt2-medium \\
        --data_dir datasets/TextClassification/agnews --shots 16

The last line is ``result: {json}`` with the dev and test accuracies.
"""

import argparse
import json

import torch

from mrekv.openprompt import PromptDataLoader, PromptForClassification
from mrekv.openprompt.data_utils.data_sampler import FewShotSampler
from mrekv.openprompt.data_utils.text_classification_dataset import AgnewsProcessor
from mrekv.openprompt.plms import load_plm
from mrekv.openprompt.prompts import ManualTemplate, SoftVerbalizer
from mrekv.openprompt.utils.reproduciblity import set_seed

TEMPLATE = (
    '{"placeholder":"text_a"} {"placeholder":"text_b"} In this sentence, the topic is {"mask"}'
)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="gpt2", help="model family for load_plm")
    parser.add_argument("--model_path", required=True, help="a local model folder")
    parser.add_argument("--data_dir", required=True, help="OpenPrompt's agnews folder")
    parser.add_argument("--template", default=TEMPLATE)
    parser.add_argument(
        "--label_words", default=None,
        help='JSON list, one word per class, e.g. \'["politics", "sports", ...]\' '
        "(default: no label words)",
    )  # fmt: skip
    parser.add_argument("--shots", type=int, default=16, help="training examples per class")
    parser.add_argument("--num_test", type=int, default=200, help="test examples (first N)")
    parser.add_argument("--max_seq_length", type=int, default=256)
    parser.add_argument("--batch_size", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--plm_lr", type=float, default=3e-5)
    parser.add_argument("--head_lr", type=float, default=3e-5, help="group_parameters_1")
    parser.add_argument("--class_lr", type=float, default=3e-4, help="group_parameters_2")
    parser.add_argument("--seed", type=int, default=144)
    return parser.parse_args()


def accuracy(prompt_model, dataloader, device):
    prompt_model.eval()
    predictions, labels = [], []
    with torch.no_grad():
        for inputs in dataloader:
            inputs = inputs.to(device)
            predictions += prompt_model(inputs).argmax(dim=-1).tolist()
            labels += inputs["label"].tolist()
    return sum(p == y for p, y in zip(predictions, labels, strict=True)) / max(len(labels), 1)


def main():
    args = parse_args()
    set_seed(args.seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"

    processor = AgnewsProcessor()
    sampler = FewShotSampler(
        num_examples_per_label=args.shots,
        num_examples_per_label_dev=args.shots,
        also_sample_dev=True,
    )
    train, dev = sampler(processor.get_train_examples(args.data_dir), seed=args.seed)
    test = processor.get_test_examples(args.data_dir)[: args.num_test]
    print(f"{len(train)} training, {len(dev)} dev and {len(test)} test examples")

    plm, tokenizer, model_config, WrapperClass = load_plm(args.model, args.model_path)
    template = ManualTemplate(tokenizer=tokenizer, text=args.template)
    print(template.wrap_one_example(train[0]))

    def loader(examples, shuffle):
        return PromptDataLoader(
            dataset=examples,
            template=template,
            tokenizer=tokenizer,
            tokenizer_wrapper_class=WrapperClass,
            max_seq_length=args.max_seq_length,
            decoder_max_length=3,
            batch_size=args.batch_size,
            shuffle=shuffle,
            teacher_forcing=False,
            predict_eos_token=False,
            truncate_method="head",
        )

    train_loader = loader(train, shuffle=True)
    num_classes = processor.get_num_labels()
    if args.label_words:
        verbalizer = SoftVerbalizer(
            tokenizer, plm, num_classes=num_classes, label_words=json.loads(args.label_words)
        )
    else:
        verbalizer = SoftVerbalizer(tokenizer, plm, num_classes=num_classes)
    print("class layer:", verbalizer.head_last_layer)
    prompt_model = PromptForClassification(
        plm=plm, template=template, verbalizer=verbalizer, freeze_plm=False
    ).to(device)

    no_decay = ("bias", "LayerNorm.weight")
    named = list(prompt_model.plm.named_parameters())
    plm_groups = [
        {"params": [p for n, p in named if not any(k in n for k in no_decay)],
         "weight_decay": 0.01},
        {"params": [p for n, p in named if any(k in n for k in no_decay)], "weight_decay": 0.0},
    ]  # fmt: skip
    verbalizer_groups = [
        {"params": prompt_model.verbalizer.group_parameters_1, "lr": args.head_lr},
        {"params": prompt_model.verbalizer.group_parameters_2, "lr": args.class_lr},
    ]
    optimizer1 = torch.optim.AdamW(plm_groups, lr=args.plm_lr)
    optimizer2 = torch.optim.AdamW(verbalizer_groups)
    loss_func = torch.nn.CrossEntropyLoss()
    for epoch in range(args.epochs):
        prompt_model.train()
        total = 0.0
        for inputs in train_loader:
            inputs = inputs.to(device)
            logits = prompt_model(inputs)
            loss = loss_func(logits, inputs["label"])
            loss.backward()
            total += loss.item()
            optimizer1.step()
            optimizer1.zero_grad()
            optimizer2.step()
            optimizer2.zero_grad()
        print(f"epoch {epoch}: mean loss {total / max(len(train_loader), 1):.4f}")
    print("class scores per example:", tuple(logits.shape))

    dev_acc = accuracy(prompt_model, loader(dev, shuffle=False), device)
    test_acc = accuracy(prompt_model, loader(test, shuffle=False), device)
    print(f"validation: {dev_acc:.3f}")
    print(f"test: {test_acc:.3f}")
    result = {"dev_accuracy": dev_acc, "test_accuracy": test_acc, "num_scores": logits.shape[-1]}
    print("result: " + json.dumps(result))


if __name__ == "__main__":
    main()
