"""OpenPrompt's tutorial 0 (basic prompt-based classification), written for mrekv.openprompt.

The steps of OpenPrompt's ``tutorial/0_basic.py``: examples from a dataset,
a ``ManualTemplate`` (one example wrapped and tokenised to show what the model
sees), a ``PromptDataLoader``, a ``ManualVerbalizer``, a
``PromptForClassification`` trained with AdamW (no weight decay on biases and
LayerNorm weights), then the accuracy on held-out data. The tutorial reads
SuperGLUE CB from the Hugging Face Hub; this script reads one of OpenPrompt's
dataset folders with a processor (``--dataset``, ``--data_dir``), draws a
few-shot training set and a dev set with ``FewShotSampler`` and tests on the
folder's test split. Every import from the library is an OpenPrompt module path.

Run it offline on any local masked LM folder::

    python examples/openprompt/0_basic.py --model_path ../shared/openprompt-golden/model \\
        --dataset agnews --data_dir datasets/TextClassification/agnews --shots 8 --epochs 2

The last line is ``result: {json}`` with the dev and test accuracies.
"""

import argparse
import json

import torch

from mrekv.openprompt import PromptDataLoader, PromptForClassification
from mrekv.openprompt.data_utils import PROCESSORS
from mrekv.openprompt.data_utils.data_sampler import FewShotSampler
from mrekv.openprompt.plms import load_plm
from mrekv.openprompt.prompts import ManualTemplate, ManualVerbalizer
from mrekv.openprompt.utils.reproduciblity import set_seed

TEMPLATE = '{"placeholder":"text_a"} {"placeholder":"text_b"} This text is about {"mask"} .'


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="bert", help="model family for load_plm")
    parser.add_argument("--model_path", required=True, help="a local model folder")
    parser.add_argument("--dataset", default="agnews", choices=sorted(PROCESSORS))
    parser.add_argument("--data_dir", required=True, help="the dataset's folder")
    parser.add_argument("--template", default=TEMPLATE)
    parser.add_argument(
        "--label_words",
        default=None,
        help='JSON list of word lists in class order, e.g. \'[["bad"], ["good"]]\' '
        "(default: each class name, lower-cased)",
    )
    parser.add_argument("--shots", type=int, default=8, help="training examples per class")
    parser.add_argument("--dev_shots", type=int, default=None, help="dev examples per class")
    parser.add_argument("--num_test", type=int, default=200, help="test examples (first N)")
    parser.add_argument("--max_seq_length", type=int, default=256)
    parser.add_argument("--truncate_method", default="tail", choices=["tail", "head", "balanced"])
    parser.add_argument("--batch_size", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--learning_rate", type=float, default=1e-4)
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

    # the data: a processor reads the folder, the sampler draws the few-shot sets
    processor = PROCESSORS[args.dataset]()
    classes = processor.get_labels()
    sampler = FewShotSampler(
        num_examples_per_label=args.shots,
        also_sample_dev=True,
        num_examples_per_label_dev=args.dev_shots or args.shots,
    )
    train, dev = sampler(processor.get_train_examples(args.data_dir), seed=args.seed)
    test = processor.get_test_examples(args.data_dir)[: args.num_test]
    print(f"{len(train)} training, {len(dev)} dev and {len(test)} test examples")
    print(train[0])

    # the model and the template; what one wrapped example becomes
    plm, tokenizer, model_config, WrapperClass = load_plm(args.model, args.model_path)
    template = ManualTemplate(tokenizer=tokenizer, text=args.template)
    wrapped = template.wrap_one_example(train[0])
    print(wrapped)
    wrapper = WrapperClass(
        max_seq_length=args.max_seq_length,
        tokenizer=tokenizer,
        truncate_method=args.truncate_method,
    )
    encoded = wrapper.tokenize_one_example(wrapped, teacher_forcing=False)
    length = sum(encoded["attention_mask"])
    print(tokenizer.convert_ids_to_tokens(encoded["input_ids"][:length]))

    def loader(examples, shuffle):
        return PromptDataLoader(
            dataset=examples,
            template=template,
            tokenizer=tokenizer,
            tokenizer_wrapper_class=WrapperClass,
            max_seq_length=args.max_seq_length,
            batch_size=args.batch_size,
            shuffle=shuffle,
            truncate_method=args.truncate_method,
        )

    train_loader = loader(train, shuffle=True)

    # the verbalizer: label words per class; here on random logits to show the shapes
    if args.label_words:
        label_words = json.loads(args.label_words)
    else:
        label_words = [[str(name).lower()] for name in classes]
    verbalizer = ManualVerbalizer(tokenizer, classes=classes, label_words=label_words)
    print("label word ids:", verbalizer.label_words_ids.tolist())
    fake_logits = torch.randn(2, len(tokenizer))
    print("class scores of random logits:", verbalizer.process_logits(fake_logits).shape)

    # training: AdamW over the whole prompt model
    prompt_model = PromptForClassification(
        plm=plm, template=template, verbalizer=verbalizer, freeze_plm=False
    ).to(device)
    no_decay = ("bias", "LayerNorm.weight")
    named = list(prompt_model.named_parameters())
    groups = [
        {
            "params": [p for n, p in named if not any(k in n for k in no_decay)],
            "weight_decay": 0.01,
        },
        {"params": [p for n, p in named if any(k in n for k in no_decay)], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=args.learning_rate)
    loss_func = torch.nn.CrossEntropyLoss()
    for epoch in range(args.epochs):
        prompt_model.train()
        total = 0.0
        for inputs in train_loader:
            inputs = inputs.to(device)
            loss = loss_func(prompt_model(inputs), inputs["label"])
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            total += loss.item()
        print(f"epoch {epoch}: mean loss {total / max(len(train_loader), 1):.4f}")

    dev_acc = accuracy(prompt_model, loader(dev, shuffle=False), device)
    test_acc = accuracy(prompt_model, loader(test, shuffle=False), device)
    print(f"dev accuracy: {dev_acc:.3f}")
    print(f"test accuracy: {test_acc:.3f}")
    print("result: " + json.dumps({"dev_accuracy": dev_acc, "test_accuracy": test_acc}))


if __name__ == "__main__":
    main()
