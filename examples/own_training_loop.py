"""mrekv's template and verbalizer inside your own PyTorch training loop.

    python examples/own_training_loop.py                         # offline, tiny random model
    python examples/own_training_loop.py --model bert-base-uncased

``PromptClassifier`` wraps all of this; use the parts directly when you own the loop
(another trainer, mixed objectives, your own batching). The contract
(:mod:`mrekv.verbalizer.base`): a verbalizer is an ``nn.Module`` that maps the masked
LM's vocabulary logits at the mask, ``(batch, num_masks, vocab_size)``, to class
log-scores, ``(batch, num_classes)``, so ``cross_entropy`` trains it.

Without ``--model`` the masked LM is a tiny *random* BERT on the real bert-base-uncased
vocabulary. The last line printed is ``result: {...}`` (JSON).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import torch
import torch.nn.functional as F

import mrekv

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples"
VOCAB = ROOT.parent / "shared" / "models" / "tokenizers" / "en-bert-base-uncased"


def mask_logits(model, encoded, pad_id: int) -> torch.Tensor:
    """Vocabulary logits at the mask positions: (batch, num_masks, vocab_size)."""
    longest = max(len(e.input_ids) for e in encoded)
    input_ids = torch.full((len(encoded), longest), pad_id)
    attention_mask = torch.zeros_like(input_ids)
    for row, e in enumerate(encoded):  # right padding, as the template expects
        input_ids[row, : len(e.input_ids)] = torch.tensor(e.input_ids)
        attention_mask[row, : len(e.input_ids)] = 1
    positions = torch.tensor([e.mask_positions for e in encoded])  # (batch, num_masks)
    logits = model(input_ids=input_ids, attention_mask=attention_mask).logits
    index = positions.unsqueeze(-1).expand(-1, -1, logits.size(-1))
    return logits.gather(1, index)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="Hub id or folder of a masked LM (default: tiny random)")
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    torch.manual_seed(0)

    train = mrekv.read_mmm(SAMPLES / "en-scpos-adj-n.train.jsonl").read()
    test = mrekv.read_mmm(SAMPLES / "en-scpos-adj-n.test.jsonl").read()
    knowledge, few_shot = train[:22], train[22:]  # disjoint: mine on one, train on the other
    words = mrekv.mine_label_words(knowledge, method="chi2", top_k=20, lang="en")

    with tempfile.TemporaryDirectory() as tmp:
        path = args.model or mrekv.make_tiny_mlm(
            Path(tmp) / "tiny-en",
            texts=None if VOCAB.is_dir() else [e.text for e in train],
            tokenizer_from=VOCAB if VOCAB.is_dir() else None,
        )
        model, tokenizer = mrekv.load_masked_lm(path)

    template = mrekv.Template("{text} It was {mask}.")
    verbalizer = mrekv.KnowledgeableVerbalizer(words).prepare(tokenizer, model)
    class_index = {c: i for i, c in enumerate(verbalizer.classes)}

    def encode(examples):
        return template.encode_batch(
            tokenizer, [e.text for e in examples], max_length=64, num_masks=verbalizer.num_masks
        )

    # calibration prior from unlabeled texts (no gradients), before training
    model.eval()
    with torch.no_grad():
        verbalizer.calibrate(mask_logits(model, encode(knowledge), tokenizer.pad_token_id))

    optimizer = torch.optim.AdamW(
        [
            {"params": model.parameters(), "lr": 1e-3},
            {"params": verbalizer.parameters(), "lr": 1e-2},  # the per-word weights
        ]
    )
    encoded = encode(few_shot)
    targets = torch.tensor([class_index[e.text_label] for e in few_shot])
    losses = []
    for _ in range(args.epochs):
        model.train()
        for start in range(0, len(encoded), 8):
            scores = verbalizer(
                mask_logits(model, encoded[start : start + 8], tokenizer.pad_token_id)
            )  # (batch, num_classes) log-scores
            loss = F.cross_entropy(scores, targets[start : start + 8])
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            losses.append(loss.item())

    model.eval()
    with torch.no_grad():
        scores = verbalizer(mask_logits(model, encode(test), tokenizer.pad_token_id))
    predictions = [verbalizer.classes[i] for i in scores.argmax(dim=-1).tolist()]
    metrics = mrekv.classification_metrics([e.text_label for e in test], predictions)
    result = {
        "n": metrics["n"],
        "accuracy": metrics["accuracy"],
        "macro_f1": metrics["macro_f1"],
        "first_loss": losses[0],
        "last_loss": losses[-1],
        "score_shape": list(scores.shape),
    }
    print("result:", json.dumps(result))


if __name__ == "__main__":
    main()
