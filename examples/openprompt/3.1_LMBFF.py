"""LM-BFF-style few-shot classification (OpenPrompt's tutorial 3.1), written for mrekv.openprompt.

The shape of OpenPrompt's ``tutorial/3.1_LMBFF.py`` (Gao, Fisch & Chen 2021):
SST-2 in LM-BFF's 16-shot folders read with ``SST2Processor``, then

1. **template choice**: every candidate template is fine-tuned on the training set
   (a fresh copy of the model each time) and the one with the best dev accuracy is
   kept. LM-BFF and the tutorial *generate* the candidates with T5
   (``T5TemplateGenerator``); mrekv has no template generation, so the candidates
   are given (``--templates``, one per argument);
2. **label-word choice**: an ``AutomaticVerbalizer`` collects the mask distributions
   of the training set and searches ``--candidates_per_class`` words per class
   (log-likelihood ratio); every combination of one word per class is fine-tuned
   as a ``ManualVerbalizer`` and the best on dev is kept (the tutorial proposes the
   words with ``RobertaVerbalizerGenerator``, LM-BFF's own search);
3. **training**: the chosen template and words, fine-tuned once more, and the
   test accuracy.

Run it offline on a local masked LM folder::

    python examples/openprompt/3.1_LMBFF.py --model roberta --model_path path/to/roberta-large \\
        --data_dir datasets/TextClassification/SST-2/16-shot/16-13

The last line is ``result: {json}`` with the chosen template and words and the accuracies.
"""

import argparse
import copy
import itertools
import json

import torch

from mrekv.openprompt import PromptDataLoader, PromptForClassification
from mrekv.openprompt.data_utils.text_classification_dataset import SST2Processor
from mrekv.openprompt.plms import load_plm
from mrekv.openprompt.prompts import AutomaticVerbalizer, ManualTemplate, ManualVerbalizer
from mrekv.openprompt.utils.reproduciblity import set_seed

TEMPLATES = [
    '{"placeholder":"text_a"} It was {"mask"} .',
    '{"placeholder":"text_a"} A {"mask"} one .',
    '{"placeholder":"text_a"} All in all , it was {"mask"} .',
]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="roberta", help="model family for load_plm")
    parser.add_argument("--model_path", required=True, help="a local model folder")
    parser.add_argument("--data_dir", required=True, help="an LM-BFF SST-2 k-shot folder")
    parser.add_argument("--templates", nargs="+", default=TEMPLATES, help="candidate templates")
    parser.add_argument(
        "--label_words", default='[["terrible"], ["great"]]',
        help="the words used while choosing the template (JSON)",
    )  # fmt: skip
    parser.add_argument("--candidates_per_class", type=int, default=2)
    parser.add_argument("--num_candidates", type=int, default=100, help="AutomaticVerbalizer's")
    parser.add_argument("--no_auto_t", action="store_true", help="keep the first template")
    parser.add_argument("--no_auto_v", action="store_true", help="keep --label_words")
    parser.add_argument("--max_seq_length", type=int, default=128)
    parser.add_argument("--batch_size", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--learning_rate", type=float, default=1e-4)
    parser.add_argument("--seed", type=int, default=13)
    return parser.parse_args()


def train_epoch(model, dataloader, loss_func, optimizer, device):
    model.train()
    for inputs in dataloader:
        inputs = inputs.to(device)
        loss = loss_func(model(inputs), inputs["label"])
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()


def evaluate(model, dataloader, device):
    model.eval()
    predictions, labels = [], []
    with torch.no_grad():
        for inputs in dataloader:
            inputs = inputs.to(device)
            predictions += model(inputs).argmax(dim=-1).tolist()
            labels += inputs["label"].tolist()
    return sum(p == y for p, y in zip(predictions, labels, strict=True)) / max(len(labels), 1)


def main():
    args = parse_args()
    set_seed(args.seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    processor = SST2Processor()
    train = processor.get_train_examples(args.data_dir)
    dev = processor.get_dev_examples(args.data_dir)
    test = processor.get_test_examples(args.data_dir)
    print(f"{len(train)} training, {len(dev)} dev and {len(test)} test examples")
    plm, tokenizer, model_config, WrapperClass = load_plm(args.model, args.model_path)

    def loader(examples, template, shuffle=False):
        return PromptDataLoader(
            dataset=examples, template=template, tokenizer=tokenizer,
            tokenizer_wrapper_class=WrapperClass, max_seq_length=args.max_seq_length,
            batch_size=args.batch_size, shuffle=shuffle,
        )  # fmt: skip

    def fit(template, verbalizer):
        """Fine-tune a fresh copy of the model; the best dev accuracy over the epochs."""
        model = PromptForClassification(copy.deepcopy(plm), template, verbalizer).to(device)
        no_decay = ("bias", "LayerNorm.weight")
        named = list(model.named_parameters())
        groups = [
            {"params": [p for n, p in named if not any(k in n for k in no_decay)],
             "weight_decay": 0.01},
            {"params": [p for n, p in named if any(k in n for k in no_decay)],
             "weight_decay": 0.0},
        ]  # fmt: skip
        optimizer = torch.optim.AdamW(groups, lr=args.learning_rate)
        loss_func = torch.nn.CrossEntropyLoss()
        train_loader, dev_loader = loader(train, template, True), loader(dev, template)
        best = 0.0
        for _ in range(args.epochs):
            train_epoch(model, train_loader, loss_func, optimizer, device)
            best = max(best, evaluate(model, dev_loader, device))
        return best, model

    label_words = json.loads(args.label_words)
    verbalizer = ManualVerbalizer(tokenizer, num_classes=2, label_words=label_words)

    # 1. template choice (given candidates; LM-BFF generates them with T5)
    template_text = args.templates[0]
    if not args.no_auto_t:
        scores = {}
        for text in args.templates:
            scores[text], _ = fit(ManualTemplate(tokenizer, text=text), verbalizer)
            print(f"template {text!r}: dev accuracy {scores[text]:.3f}")
        template_text = max(args.templates, key=lambda t: scores[t])  # first of the best
    template = ManualTemplate(tokenizer, text=template_text)
    print("template:", template_text)

    # 2. label-word choice: AutomaticVerbalizer's search proposes, dev accuracy decides
    if not args.no_auto_v:
        search = AutomaticVerbalizer(
            tokenizer, num_candidates=args.num_candidates,
            label_word_num_per_class=args.candidates_per_class, num_searches=1,
            score_fct="llr", balance=True, num_classes=2,
        )  # fmt: skip
        searcher = PromptForClassification(plm, template, search).to(device)
        with torch.no_grad():
            for inputs in loader(train, template):
                searcher(inputs.to(device))  # collects the mask distributions
        search.optimize_to_initialize()
        print("searched words per class:", search.label_words)
        best_words, best_score = label_words, -1.0
        for combo in itertools.product(*search.label_words):
            words = [[tokenizer.convert_tokens_to_string([token]).strip()] for token in combo]
            score, _ = fit(template, ManualVerbalizer(tokenizer, num_classes=2, label_words=words))
            print(f"label words {words}: dev accuracy {score:.3f}")
            if score > best_score:
                best_words, best_score = words, score
        label_words = best_words
        verbalizer = ManualVerbalizer(tokenizer, num_classes=2, label_words=label_words)
    print("label words:", verbalizer.label_words)

    # 3. the final model
    dev_acc, model = fit(template, verbalizer)
    test_acc = evaluate(model, loader(test, template), device)
    print(f"dev accuracy {dev_acc:.3f}, test accuracy {test_acc:.3f}")
    result = {
        "template": template_text,
        "label_words": label_words,
        "dev_accuracy": dev_acc,
        "test_accuracy": test_acc,
    }
    print("result: " + json.dumps(result))


if __name__ == "__main__":
    main()
