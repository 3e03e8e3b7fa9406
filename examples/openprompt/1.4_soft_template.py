"""OpenPrompt's tutorial 1.4 (prompt tuning with a soft template on T5), for mrekv.openprompt.

What OpenPrompt's ``tutorial/1.4_soft_template.py`` does: a T5 or LM-adapted T5
model (``--model t5`` / ``t5-lm``; the matching tokenizer wrapper comes from
``load_plm``), a ``SoftTemplate`` that puts ``--soft_token_num`` trainable
embeddings before the input (initialised from the vocabulary unless
``--init_from_vocab`` is given, which turns it off, as in the tutorial) around a
hard template read with ``from_file``, a ``ManualVerbalizer`` read with
``from_file``, the model frozen (``--tune_plm`` trains it too), the soft tokens
trained with Adafactor (lr 0.3, constant schedule with warm-up) or AdamW, with
gradient accumulation, clipping, evaluation every ``--eval_every_steps`` and the
test accuracy of the best dev step. The tutorial reads SuperGLUE; this script
reads one of OpenPrompt's dataset folders and samples ``--shot`` examples per class.

Run it offline on a local T5 folder::

    python examples/openprompt/1.4_soft_template.py --model t5-lm \\
        --model_name_or_path path/to/t5-large-lm-adapt --dataset agnews \\
        --data_dir datasets/TextClassification/agnews --template_file soft_template.txt \\
        --verbalizer_file manual_verbalizer.txt --shot 16 --max_steps 1000

The last line is ``result: {json}`` with the best dev and the test accuracy.
"""

import argparse
import json
import tempfile
from pathlib import Path

import torch
from transformers.optimization import (
    Adafactor,
    get_constant_schedule_with_warmup,
    get_linear_schedule_with_warmup,
)

from mrekv.openprompt import PromptDataLoader, PromptForClassification
from mrekv.openprompt.data_utils import PROCESSORS
from mrekv.openprompt.data_utils.data_sampler import FewShotSampler
from mrekv.openprompt.plms import load_plm
from mrekv.openprompt.prompts import ManualVerbalizer, SoftTemplate
from mrekv.openprompt.utils.reproduciblity import set_seed

TEMPLATE = '{"placeholder":"text_a"} {"placeholder":"text_b"} It is about {"mask"} .'


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="t5-lm", help="t5 or t5-lm (or any load_plm family)")
    parser.add_argument("--model_name_or_path", required=True)
    parser.add_argument("--dataset", default="agnews", choices=sorted(PROCESSORS))
    parser.add_argument("--data_dir", required=True)
    parser.add_argument("--template_file", default=None, help="one template a line")
    parser.add_argument("--template_id", type=int, default=0)
    parser.add_argument("--verbalizer_file", default=None, help="OpenPrompt verbalizer file")
    parser.add_argument("--verbalizer_id", type=int, default=0)
    parser.add_argument("--shot", type=int, default=16)
    parser.add_argument("--num_test", type=int, default=200)
    parser.add_argument("--seed", type=int, default=144)
    parser.add_argument("--plm_eval_mode", action="store_true", help="no dropout in the model")
    parser.add_argument("--tune_plm", action="store_true")
    parser.add_argument("--max_seq_length", type=int, default=256)
    parser.add_argument("--batch_size", type=int, default=8)
    parser.add_argument("--gradient_accumulation_steps", type=int, default=1)
    parser.add_argument("--max_steps", type=int, default=1000)
    parser.add_argument("--prompt_lr", type=float, default=0.3)
    parser.add_argument("--warmup_step_prompt", type=int, default=0)
    parser.add_argument("--init_from_vocab", action="store_false")
    parser.add_argument("--eval_every_steps", type=int, default=100)
    parser.add_argument("--soft_token_num", type=int, default=20)
    parser.add_argument("--optimizer", default="Adafactor", choices=["Adafactor", "AdamW"])
    return parser.parse_args()


def evaluate(prompt_model, dataloader, device):
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
    sampler = FewShotSampler(num_examples_per_label=args.shot, also_sample_dev=True)
    train, dev = sampler(processor.get_train_examples(args.data_dir), seed=args.seed)
    test = processor.get_test_examples(args.data_dir)[: args.num_test]

    plm, tokenizer, model_config, WrapperClass = load_plm(args.model, args.model_name_or_path)
    with tempfile.TemporaryDirectory() as tmp:  # the default files, when none are given
        template_file = args.template_file or _write(Path(tmp, "soft_template.txt"), TEMPLATE)
        verbalizer_file = args.verbalizer_file or _write(
            Path(tmp, "manual_verbalizer.txt"), "\n".join(str(c).lower() for c in classes)
        )
        template = SoftTemplate(
            model=plm, tokenizer=tokenizer, num_tokens=args.soft_token_num,
            initialize_from_vocab=args.init_from_vocab,
        ).from_file(template_file, choice=args.template_id)  # fmt: skip
        verbalizer = ManualVerbalizer(tokenizer, classes=classes).from_file(
            verbalizer_file, choice=args.verbalizer_id
        )
    print(template.wrap_one_example(train[0]))
    prompt_model = PromptForClassification(
        plm=plm, template=template, verbalizer=verbalizer,
        freeze_plm=not args.tune_plm, plm_eval_mode=args.plm_eval_mode,
    ).to(device)  # fmt: skip

    def loader(examples, batch_size, shuffle):
        return PromptDataLoader(
            dataset=examples, template=template, tokenizer=tokenizer,
            tokenizer_wrapper_class=WrapperClass, max_seq_length=args.max_seq_length,
            decoder_max_length=3, batch_size=batch_size, shuffle=shuffle,
            teacher_forcing=False, predict_eos_token=False, truncate_method="tail",
        )  # fmt: skip

    train_loader = loader(train, args.batch_size, shuffle=True)
    dev_loader = loader(dev, args.batch_size, shuffle=False)
    test_loader = loader(test, args.batch_size, shuffle=False)
    print(f"truncate rate: {test_loader.tokenizer_wrapper.truncate_rate}")

    optimizers, schedulers = [], []
    if args.tune_plm:
        no_decay = ("bias", "LayerNorm.weight")
        named = list(prompt_model.plm.named_parameters())
        groups = [
            {"params": [p for n, p in named if not any(k in n for k in no_decay)],
             "weight_decay": 0.01},
            {"params": [p for n, p in named if any(k in n for k in no_decay)],
             "weight_decay": 0.0},
        ]  # fmt: skip
        optimizers.append(torch.optim.AdamW(groups, lr=3e-5))
        schedulers.append(get_linear_schedule_with_warmup(optimizers[-1], 0, args.max_steps))
    # the soft tokens only: the model's input embeddings sit in the template as raw_embedding
    prompt_params = [
        p for n, p in prompt_model.template.named_parameters() if "raw_embedding" not in n
    ]
    if args.optimizer == "Adafactor":
        optimizers.append(Adafactor(
            prompt_params, lr=args.prompt_lr, relative_step=False, scale_parameter=False,
            warmup_init=False,
        ))  # fmt: skip
        schedulers.append(
            get_constant_schedule_with_warmup(optimizers[-1], args.warmup_step_prompt)
        )
    else:
        optimizers.append(torch.optim.AdamW(prompt_params, lr=args.prompt_lr))
        schedulers.append(
            get_linear_schedule_with_warmup(optimizers[-1], args.warmup_step_prompt, args.max_steps)
        )

    loss_func = torch.nn.CrossEntropyLoss()
    best_dev, test_at_best, step, seen, total = -1.0, 0.0, 0, 0, 0.0
    prompt_model.train()
    while step < args.max_steps:
        for inputs in train_loader:
            inputs = inputs.to(device)
            loss = loss_func(prompt_model(inputs), inputs["label"])
            (loss / args.gradient_accumulation_steps).backward()
            total += loss.item()
            seen += 1
            if seen % args.gradient_accumulation_steps:
                continue
            torch.nn.utils.clip_grad_norm_(prompt_model.parameters(), 1.0)
            for optimizer, scheduler in zip(optimizers, schedulers, strict=True):
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad()
            step += 1
            if step % args.eval_every_steps == 0 or step == args.max_steps:
                dev_acc = evaluate(prompt_model, dev_loader, device)
                if dev_acc > best_dev:
                    best_dev, test_at_best = dev_acc, evaluate(prompt_model, test_loader, device)
                print(f"step {step}: loss {total / seen:.4f}, dev accuracy {dev_acc:.3f}")
                prompt_model.train()
            if step >= args.max_steps:
                break
    print(f"best dev accuracy {best_dev:.3f}, test accuracy there {test_at_best:.3f}")
    print("result: " + json.dumps({"dev_accuracy": best_dev, "test_accuracy": test_at_best,
                                   "steps": step}))  # fmt: skip


def _write(path, text):
    path.write_text(text + "\n", encoding="utf-8")
    return path


if __name__ == "__main__":
    main()
