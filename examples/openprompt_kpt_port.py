"""A KPT-style OpenPrompt script (zero-shot + few-shot sentiment), ported by changing its imports.

The script has the shape of KPT's ``zeroshot.py`` / ``fewshot.py`` and of
OpenPrompt's tutorials: ``load_plm``, a ``ManualTemplate`` from
``manual_template.txt``, a ``KnowledgeableVerbalizer`` from a knowledge file,
contextualized calibration, then a few-shot training loop over a
``PromptDataLoader``. Replacing ``mrekv.openprompt`` by ``openprompt`` in the
imports gives the original OpenPrompt script; nothing else changes.

Run it (offline, on any local masked LM folder)::

    python examples/openprompt_kpt_port.py --model_path ../shared/openprompt-golden/model \\
        --knowledge_file ../shared/kpt/openprompt/amazon/knowledgeable_verbalizer.txt \\
        --template_file ../shared/kpt/openprompt/amazon/manual_template.txt \\
        --data_dir ../shared/datasets/en-amazon-polarity-10k

Data: ``amazon.train.dat`` / ``amazon.test.dat`` lines ``text$LABEL$k``.
"""

import argparse
import random
from pathlib import Path

import torch

from mrekv.openprompt import PromptDataLoader, PromptForClassification
from mrekv.openprompt.data_utils import InputExample
from mrekv.openprompt.plms import load_plm
from mrekv.openprompt.prompts import KnowledgeableVerbalizer, ManualTemplate
from mrekv.openprompt.utils.calibrate import calibrate
from mrekv.openprompt.utils.reproduciblity import set_seed


def read_split(path, limit, seed):
    examples = []
    for i, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines()):
        text, _, label = line.rpartition("$LABEL$")
        examples.append(InputExample(guid=i, text_a=text, label=int(label)))
    random.Random(seed).shuffle(examples)
    return examples[:limit]


def evaluate(prompt_model, dataloader, device):
    prompt_model.eval()
    correct = total = 0
    with torch.no_grad():
        for inputs in dataloader:
            inputs = inputs.to(device)
            logits = prompt_model(inputs)
            correct += int((logits.argmax(dim=-1) == inputs["label"]).sum())
            total += len(inputs["label"])
    return correct / max(total, 1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="bert")
    parser.add_argument("--model_path", required=True)
    parser.add_argument("--knowledge_file", required=True)
    parser.add_argument("--template_file", required=True)
    parser.add_argument("--template_id", type=int, default=2)
    parser.add_argument("--data_dir", required=True)
    parser.add_argument("--max_seq_length", type=int, default=128)
    parser.add_argument("--shots", type=int, default=4, help="training examples per class")
    parser.add_argument(
        "--num_support", type=int, default=16, help="unlabeled texts for calibration"
    )
    parser.add_argument("--num_test", type=int, default=32)
    parser.add_argument("--cutoff", type=float, default=0.5, help="KPT's candidate_frac")
    parser.add_argument("--pred_temp", type=float, default=1.0)
    parser.add_argument("--max_token_split", type=int, default=-1)
    parser.add_argument("--max_epochs", type=int, default=2)
    parser.add_argument("--learning_rate", type=float, default=3e-5)
    parser.add_argument("--verbalizer_lr", type=float, default=6e-2)
    parser.add_argument("--batch_size", type=int, default=4)
    parser.add_argument("--seed", type=int, default=144)
    args = parser.parse_args()

    set_seed(args.seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    class_labels = ["negative", "positive"]
    data_dir = Path(args.data_dir)
    train_pool = read_split(data_dir / "amazon.train.dat", 2000, args.seed)
    test_dataset = read_split(data_dir / "amazon.test.dat", args.num_test, args.seed)
    support_dataset = [
        InputExample(guid=e.guid, text_a=e.text_a) for e in train_pool[-args.num_support :]
    ]
    train_dataset = []
    for c in range(len(class_labels)):
        train_dataset += [e for e in train_pool[: -args.num_support] if e.label == c][: args.shots]

    plm, tokenizer, model_config, WrapperClass = load_plm(args.model, args.model_path)
    mytemplate = ManualTemplate(tokenizer=tokenizer).from_file(
        args.template_file, choice=args.template_id
    )
    myverbalizer = KnowledgeableVerbalizer(
        tokenizer,
        classes=class_labels,
        candidate_frac=args.cutoff,
        pred_temp=args.pred_temp,
        max_token_split=args.max_token_split,
    ).from_file(args.knowledge_file)
    prompt_model = PromptForClassification(
        plm=plm, template=mytemplate, verbalizer=myverbalizer, freeze_plm=False
    ).to(device)

    def loader(dataset, shuffle=False):
        return PromptDataLoader(
            dataset=dataset,
            template=mytemplate,
            tokenizer=tokenizer,
            tokenizer_wrapper_class=WrapperClass,
            max_seq_length=args.max_seq_length,
            batch_size=args.batch_size,
            shuffle=shuffle,
            truncate_method="tail",
        )

    test_dataloader = loader(test_dataset)

    # zero-shot with contextualized calibration and the frequency cut (KPT's zeroshot.py)
    support_dataloader = loader(support_dataset)
    cc_logits = calibrate(prompt_model, support_dataloader)
    print("label words per class before calibration:", [len(ws) for ws in myverbalizer.label_words])
    myverbalizer.register_calibrate_logits(cc_logits.mean(dim=0))
    print(
        "label words per class after the frequency cut:",
        [len(ws) for ws in myverbalizer.label_words],
    )
    print(f"zero-shot accuracy: {evaluate(prompt_model, test_dataloader, device):.3f}")

    # few-shot training (KPT's fewshot.py, verbalizer kpt)
    train_dataloader = loader(train_dataset, shuffle=True)
    loss_func = torch.nn.CrossEntropyLoss()
    no_decay = ["bias", "LayerNorm.weight"]
    optimizer_grouped_parameters1 = [
        {
            "params": [
                p
                for n, p in prompt_model.plm.named_parameters()
                if not any(nd in n for nd in no_decay)
            ],
            "weight_decay": 0.01,
        },
        {
            "params": [
                p for n, p in prompt_model.plm.named_parameters() if any(nd in n for nd in no_decay)
            ],
            "weight_decay": 0.0,
        },
    ]
    optimizer1 = torch.optim.AdamW(optimizer_grouped_parameters1, lr=args.learning_rate)
    optimizer2 = torch.optim.AdamW(prompt_model.verbalizer.parameters(), lr=args.verbalizer_lr)
    for epoch in range(args.max_epochs):
        prompt_model.train()
        tot_loss = 0.0
        for inputs in train_dataloader:
            inputs = inputs.to(device)
            logits = prompt_model(inputs)
            loss = loss_func(logits, inputs["label"])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(prompt_model.parameters(), 1.0)
            tot_loss += loss.item()
            optimizer1.step()
            optimizer1.zero_grad()
            optimizer2.step()
            optimizer2.zero_grad()
        print(f"epoch {epoch}: loss {tot_loss / max(len(train_dataloader), 1):.4f}")
    print(f"few-shot accuracy: {evaluate(prompt_model, test_dataloader, device):.3f}")


if __name__ == "__main__":
    main()
