"""OpenPrompt's tutorial 1.3 (calibration and zero-shot classification), for mrekv.openprompt.

The steps of OpenPrompt's ``tutorial/1.3_calibration.py``: a processor reads a
dataset folder, a template comes from a ``manual_template.txt``, a
knowledgeable (or manual) verbalizer from a KPT knowledge file; a support set
drawn with ``FewShotSampler(num_examples_total=...)`` (its labels removed)
gives the contextualized-calibration logits, ``register_calibrate_logits``
calibrates the verbalizer (and, for the knowledgeable one, drops the label
words the model rarely predicts), and the calibrated prompt model is tested
zero-shot. ``--template_only`` calibrates on one empty example instead, the
tutorial's alternative.

Run it offline (the files of ``../shared/kpt/openprompt/agnews`` fit AG News)::

    python examples/openprompt/1.3_calibration.py --model_path ../shared/openprompt-golden/model \\
        --data_dir datasets/TextClassification/agnews \\
        --template_file ../shared/kpt/openprompt/agnews/manual_template.txt \\
        --verbalizer_file ../shared/kpt/openprompt/agnews/knowledgeable_verbalizer.txt

The last line is ``result: {json}`` with the test accuracy and the word counts.
"""

import argparse
import json

import torch

from mrekv.openprompt import PromptDataLoader, PromptForClassification
from mrekv.openprompt.data_utils import PROCESSORS
from mrekv.openprompt.data_utils.data_sampler import FewShotSampler
from mrekv.openprompt.data_utils.utils import InputExample
from mrekv.openprompt.plms import load_plm
from mrekv.openprompt.prompts import KnowledgeableVerbalizer, ManualTemplate, ManualVerbalizer
from mrekv.openprompt.utils.calibrate import calibrate


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="bert", help="model family for load_plm")
    parser.add_argument("--model_path", required=True, help="a local model folder")
    parser.add_argument("--dataset", default="agnews", choices=sorted(PROCESSORS))
    parser.add_argument("--data_dir", required=True, help="the dataset's folder")
    parser.add_argument("--template_file", required=True, help="a manual_template.txt")
    parser.add_argument("--template_id", type=int, default=0, help="the line of the template")
    parser.add_argument("--verbalizer", default="kpt", choices=["kpt", "manual"])
    parser.add_argument("--verbalizer_file", required=True, help="label words (.txt or .json)")
    parser.add_argument("--num_support", type=int, default=200, help="unlabelled support texts")
    parser.add_argument("--template_only", action="store_true", help="calibrate on an empty text")
    parser.add_argument("--num_test", type=int, default=None, help="test examples (first N)")
    parser.add_argument("--max_seq_length", type=int, default=512)
    parser.add_argument("--batch_size", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    return parser.parse_args()


def main():
    args = parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    processor = PROCESSORS[args.dataset]()
    num_classes = processor.get_num_labels()
    train = processor.get_train_examples(args.data_dir)
    test = processor.get_test_examples(args.data_dir)[: args.num_test]

    plm, tokenizer, model_config, WrapperClass = load_plm(args.model, args.model_path)
    template = ManualTemplate(tokenizer=tokenizer).from_file(
        args.template_file, choice=args.template_id
    )
    if args.verbalizer == "kpt":
        verbalizer = KnowledgeableVerbalizer(tokenizer, num_classes=num_classes)
    else:
        verbalizer = ManualVerbalizer(tokenizer, num_classes=num_classes)
    verbalizer = verbalizer.from_file(args.verbalizer_file)

    # the support set: sampled texts whose labels are removed, or one empty example
    if args.template_only:
        support = [InputExample(text_a="", text_b="")]
    else:
        sampler = FewShotSampler(num_examples_total=args.num_support, also_sample_dev=False)
        support = sampler(train, seed=args.seed)
        for example in support:
            example.label = -1

    def loader(examples):
        return PromptDataLoader(
            dataset=examples,
            template=template,
            tokenizer=tokenizer,
            tokenizer_wrapper_class=WrapperClass,
            max_seq_length=args.max_seq_length,
            decoder_max_length=3,
            batch_size=args.batch_size,
            shuffle=False,
            teacher_forcing=False,
            predict_eos_token=False,
            truncate_method="tail",
        )

    prompt_model = PromptForClassification(
        plm=plm, template=template, verbalizer=verbalizer, freeze_plm=False
    ).to(device)
    words_before = [len(words) for words in prompt_model.verbalizer.label_words]
    cc_logits = calibrate(prompt_model, loader(support))
    print("calibration logits:", tuple(cc_logits.shape))
    prompt_model.verbalizer.register_calibrate_logits(cc_logits)
    words_after = [len(words) for words in prompt_model.verbalizer.label_words]
    print(f"label words per class: {words_before} before, {words_after} after calibration")

    # zero-shot test of the calibrated model
    prompt_model.eval()
    predictions, labels = [], []
    with torch.no_grad():
        for inputs in loader(test):
            inputs = inputs.to(device)
            predictions += prompt_model(inputs).argmax(dim=-1).tolist()
            labels += inputs["label"].tolist()
    acc = sum(p == y for p, y in zip(predictions, labels, strict=True)) / max(len(labels), 1)
    print(f"test: {acc:.3f}")
    result = {"test_accuracy": acc, "words_before": words_before, "words_after": words_after}
    print("result: " + json.dumps(result))


if __name__ == "__main__":
    main()
