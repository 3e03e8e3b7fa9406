"""OpenPrompt's tutorial 1.1 (mixed template on T5), written for mrekv.openprompt.

What OpenPrompt's ``tutorial/1.1_mixed_template.py`` does: a T5 model from
``load_plm("t5", ...)``, a ``MixedTemplate`` whose ``{"soft"}`` tokens are trained
next to hard text (``{"soft": "Question:"}`` starts from the embeddings of those
words, a bare ``{"soft"}`` from random ones), one example wrapped and tokenised,
a ``PromptDataLoader`` with ``decoder_max_length=3`` (T5 predicts the mask as the
first decoder token after the sentinel), a ``ManualVerbalizer``, then two AdamW
optimizers, one for the model and one for the template's own parameters
(``raw_embedding``, the model's input embeddings, left out), and the accuracy.
The tutorial reads SuperGLUE CB from the Hub; this script reads one of
OpenPrompt's dataset folders (``--dataset``, ``--data_dir``) and samples a
few-shot training and dev set.

Run it offline on a local T5 folder::

    python examples/openprompt/1.1_mixed_template.py --model_path path/to/t5-base \\
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
from mrekv.openprompt.prompts import ManualVerbalizer, MixedTemplate
from mrekv.openprompt.utils.reproduciblity import set_seed

TEMPLATE = (
    '{"placeholder":"text_a"} {"soft": "Question:"} {"placeholder":"text_b"} '
    '{"soft"} {"soft"} {"soft"} {"mask"}.'
)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="t5", help="model family for load_plm (t5, t5-lm...)")
    parser.add_argument("--model_path", required=True, help="a local model folder")
    parser.add_argument("--dataset", default="agnews", choices=sorted(PROCESSORS))
    parser.add_argument("--data_dir", required=True, help="the dataset's folder")
    parser.add_argument("--template", default=TEMPLATE, help="a MixedTemplate text")
    parser.add_argument("--label_words", default=None, help="JSON list of word lists")
    parser.add_argument("--shots", type=int, default=8, help="training examples per class")
    parser.add_argument("--num_test", type=int, default=200, help="test examples (first N)")
    parser.add_argument("--max_seq_length", type=int, default=256)
    parser.add_argument("--decoder_max_length", type=int, default=3)
    parser.add_argument("--batch_size", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--plm_lr", type=float, default=1e-4)
    parser.add_argument("--prompt_lr", type=float, default=1e-3)
    parser.add_argument("--freeze_plm", action="store_true", help="train the soft tokens only")
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
    template = MixedTemplate(model=plm, tokenizer=tokenizer, text=args.template)
    wrapped = template.wrap_one_example(train[0])
    print(wrapped)
    print("soft token ids:", template.soft_token_ids)
    wrapper = WrapperClass(
        max_seq_length=args.max_seq_length,
        decoder_max_length=args.decoder_max_length,
        tokenizer=tokenizer,
        truncate_method="head",
    )
    encoded = wrapper.tokenize_one_example(wrapped, teacher_forcing=False)
    print("decoder input:", tokenizer.convert_ids_to_tokens(encoded["decoder_input_ids"]))

    def loader(examples, shuffle):
        return PromptDataLoader(
            dataset=examples,
            template=template,
            tokenizer=tokenizer,
            tokenizer_wrapper_class=WrapperClass,
            max_seq_length=args.max_seq_length,
            decoder_max_length=args.decoder_max_length,
            batch_size=args.batch_size,
            shuffle=shuffle,
            teacher_forcing=False,
            predict_eos_token=False,
            truncate_method="head",
        )

    train_loader = loader(train, shuffle=True)
    label_words = (
        json.loads(args.label_words) if args.label_words else [[str(c).lower()] for c in classes]
    )
    verbalizer = ManualVerbalizer(tokenizer, num_classes=len(classes), label_words=label_words)
    print("label word ids:", verbalizer.label_words_ids.tolist())
    prompt_model = PromptForClassification(
        plm=plm, template=template, verbalizer=verbalizer, freeze_plm=args.freeze_plm
    ).to(device)

    # one optimizer for the model, one for the template's soft tokens
    no_decay = ("bias", "LayerNorm.weight")
    plm_named = [(n, p) for n, p in prompt_model.plm.named_parameters() if p.requires_grad]
    plm_groups = [
        {"params": [p for n, p in plm_named if not any(k in n for k in no_decay)],
         "weight_decay": 0.01},
        {"params": [p for n, p in plm_named if any(k in n for k in no_decay)],
         "weight_decay": 0.0},
    ]  # fmt: skip
    optimizers = [] if args.freeze_plm else [torch.optim.AdamW(plm_groups, lr=args.plm_lr)]
    prompt_params = [
        p for n, p in prompt_model.template.named_parameters() if "raw_embedding" not in n
    ]
    optimizers.append(torch.optim.AdamW(prompt_params, lr=args.prompt_lr))
    before = prompt_model.template.soft_embedding.weight.detach().clone()
    loss_func = torch.nn.CrossEntropyLoss()
    for epoch in range(args.epochs):
        prompt_model.train()
        total = 0.0
        for inputs in train_loader:
            inputs = inputs.to(device)
            loss = loss_func(prompt_model(inputs), inputs["label"])
            loss.backward()
            total += loss.item()
            for optimizer in optimizers:
                optimizer.step()
                optimizer.zero_grad()
        print(f"epoch {epoch}: mean loss {total / max(len(train_loader), 1):.4f}")
    moved = (prompt_model.template.soft_embedding.weight.detach() - before).abs().sum().item()
    print(f"soft tokens moved by {moved:.4f}")

    dev_acc = accuracy(prompt_model, loader(dev, shuffle=False), device)
    test_acc = accuracy(prompt_model, loader(test, shuffle=False), device)
    print(f"dev accuracy: {dev_acc:.3f}")
    print(f"test accuracy: {test_acc:.3f}")
    result = {"dev_accuracy": dev_acc, "test_accuracy": test_acc, "soft_tokens_moved": moved}
    print("result: " + json.dumps(result))


if __name__ == "__main__":
    main()
