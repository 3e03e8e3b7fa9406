"""P-tuning with OpenPrompt's ``PtuningTemplate``, written for mrekv.openprompt.

P-tuning (Liu et al. 2021, "GPT Understands, Too") as OpenPrompt's
``PtuningTemplate`` runs it: the template's ``{"soft"}`` tokens are not free
embeddings but the outputs of a small prompt encoder (a bidirectional LSTM and an
MLP, or an MLP only: ``--prompt_encoder_type``) over new embeddings, placed among
hard tokens. The script trains the encoder together with the model (or alone,
``--freeze_plm``) with AdamW and two learning rates, and reports the dev and test
accuracies. It reads one of OpenPrompt's dataset folders and samples a few-shot
training and dev set; any masked or causal LM folder works (``--model``).

Run it offline::

    python examples/openprompt/7_ptuning.py --model bert --model_path path/to/bert \\
        --dataset agnews --data_dir datasets/TextClassification/agnews --shots 8

The last line is ``result: {json}`` with the dev and test accuracies.
"""

import argparse
import json

import torch

from mrekv.openprompt import PromptDataLoader, PromptForClassification
from mrekv.openprompt.data_utils import PROCESSORS
from mrekv.openprompt.data_utils.data_sampler import FewShotSampler
from mrekv.openprompt.plms import load_plm
from mrekv.openprompt.prompts import ManualVerbalizer, PtuningTemplate
from mrekv.openprompt.utils.reproduciblity import set_seed

TEMPLATE = (
    '{"placeholder":"text_a"} {"placeholder":"text_b"} {"soft"} {"soft"} {"soft"} '
    '{"mask"} {"soft"} .'
)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="bert", help="model family for load_plm")
    parser.add_argument("--model_path", required=True, help="a local model folder")
    parser.add_argument("--dataset", default="agnews", choices=sorted(PROCESSORS))
    parser.add_argument("--data_dir", required=True, help="the dataset's folder")
    parser.add_argument("--template", default=TEMPLATE, help="a MixedTemplate-style text")
    parser.add_argument("--prompt_encoder_type", default="lstm", choices=["lstm", "mlp"])
    parser.add_argument("--label_words", default=None, help="JSON list of word lists")
    parser.add_argument("--shots", type=int, default=8)
    parser.add_argument("--num_test", type=int, default=200)
    parser.add_argument("--max_seq_length", type=int, default=256)
    parser.add_argument("--batch_size", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--plm_lr", type=float, default=1e-5)
    parser.add_argument("--prompt_lr", type=float, default=1e-3)
    parser.add_argument("--freeze_plm", action="store_true")
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

    processor = PROCESSORS[args.dataset]()
    classes = processor.get_labels()
    sampler = FewShotSampler(num_examples_per_label=args.shots, also_sample_dev=True)
    train, dev = sampler(processor.get_train_examples(args.data_dir), seed=args.seed)
    test = processor.get_test_examples(args.data_dir)[: args.num_test]
    print(f"{len(train)} training, {len(dev)} dev and {len(test)} test examples")

    plm, tokenizer, model_config, WrapperClass = load_plm(args.model, args.model_path)
    template = PtuningTemplate(
        model=plm, tokenizer=tokenizer, text=args.template,
        prompt_encoder_type=args.prompt_encoder_type,
    )  # fmt: skip
    print(template.wrap_one_example(train[0]))
    print(f"{template.num_soft_token} soft tokens from a {args.prompt_encoder_type} encoder")
    label_words = (
        json.loads(args.label_words) if args.label_words else [[str(c).lower()] for c in classes]
    )
    verbalizer = ManualVerbalizer(tokenizer, classes=classes, label_words=label_words)
    prompt_model = PromptForClassification(
        plm=plm, template=template, verbalizer=verbalizer, freeze_plm=args.freeze_plm
    ).to(device)

    def loader(examples, shuffle):
        return PromptDataLoader(
            dataset=examples, template=template, tokenizer=tokenizer,
            tokenizer_wrapper_class=WrapperClass, max_seq_length=args.max_seq_length,
            batch_size=args.batch_size, shuffle=shuffle, truncate_method="tail",
        )  # fmt: skip

    train_loader = loader(train, shuffle=True)
    encoder = [p for n, p in prompt_model.template.named_parameters() if "raw_embedding" not in n]
    groups = [{"params": encoder, "lr": args.prompt_lr}]
    if not args.freeze_plm:
        groups.append({"params": list(prompt_model.plm.parameters()), "lr": args.plm_lr})
    optimizer = torch.optim.AdamW(groups)
    loss_func = torch.nn.CrossEntropyLoss()
    for epoch in range(args.epochs):
        prompt_model.train()
        total = 0.0
        for inputs in train_loader:
            inputs = inputs.to(device)
            loss = loss_func(prompt_model(inputs), inputs["label"])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(prompt_model.parameters(), 1.0)
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
