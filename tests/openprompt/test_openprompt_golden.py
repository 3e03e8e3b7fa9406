"""Every case of ../shared/openprompt-golden, produced by the real OpenPrompt and KPT code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from _golden import ERROR_KINDS, ERROR_MESSAGES, FIXED, Runner, close, load_cases, unprefixed

from mrekv.openprompt.data_utils import InputExample
from mrekv.openprompt.kpt import tfidf_filter_record
from mrekv.openprompt.plms import MLMTokenizerWrapper, load_plm
from mrekv.openprompt.prompts import ManualTemplate

CASES = load_cases()
LOGITS = 1e-4


def _params() -> list[Any]:
    if not CASES:
        return [pytest.param(None, id="golden-fixtures-missing")]
    return [pytest.param(c, id=c["id"]) for c in CASES]


@pytest.mark.parametrize("case", _params())
def test_golden_case(case: dict[str, Any] | None, runner: Runner, tmp_path: Path) -> None:
    if case is None:
        pytest.skip("the golden fixtures are missing")
    run = RUNNERS[case["kind"]]
    if case["expect"] == "error" and case["id"] not in FIXED:
        kind = ERROR_KINDS[case["expected_error"]["type"]]
        with pytest.raises(kind, match=ERROR_MESSAGES[case["expected_error"]["type"]]):
            run(case, runner, tmp_path)
        return
    run(case, runner, tmp_path)


# ---------------------------------------------------------------------- template_encoding


def run_template(case: dict[str, Any], r: Runner, tmp_path: Path) -> None:
    inputs = case["inputs"]
    template = ManualTemplate(r.tok, text=inputs["template"]["text"])
    ex = inputs["example"]
    wrapped = template.wrap_one_example(
        InputExample(
            text_a=ex.get("text_a", ""), text_b=ex.get("text_b", ""), meta=ex.get("meta", {})
        )
    )
    wrapper = MLMTokenizerWrapper(
        max_seq_length=inputs["wrapper"]["max_seq_length"],
        tokenizer=r.tok,
        truncate_method=inputs["wrapper"]["truncate_method"],
    )
    out = wrapper.tokenize_one_example(wrapped, teacher_forcing=False)
    exp = case["expected"]
    assert out["input_ids"] == exp["input_ids"]
    assert out["attention_mask"] == exp["attention_mask"]
    assert out["loss_ids"] == exp["loss_ids"]
    assert [i for i, v in enumerate(out["loss_ids"]) if v == 1] == exp["mask_positions"]
    assert sum(out["attention_mask"]) == exp["num_tokens"]
    assert (wrapper.num_truncated_sentences == 1) == exp["truncated"]
    diag = case.get("diagnostics", {})
    if "wrapped_pieces" in diag:
        assert wrapped[0] == diag["wrapped_pieces"]


# ---------------------------------------------------------------------- model forward


def run_model_forward(case: dict[str, Any], r: Runner, tmp_path: Path) -> None:
    inputs, exp = case["inputs"], case["expected"]
    loader = r.loader(inputs, inputs["examples"], batch_size=inputs["batch_size"])
    batch = next(iter(loader))
    length = batch["input_ids"].shape[1]
    assert batch["input_ids"].tolist() == [row[:length] for row in exp["input_ids"]]
    assert all(not any(row[length:]) for row in exp["attention_mask"])
    model = r.model(
        inputs, r.knowledgeable({"classes": ["a", "b"], "label_words": [["bad"], ["good"]]})
    )
    model.eval()
    with torch.no_grad():
        outputs = model.prompt_model(batch)
    positions = [row.index(1) for row in batch["loss_ids"].tolist()]
    assert positions == exp["mask_positions"]
    logits = model.forward_without_verbalize(batch)
    hidden = outputs.hidden_states[-1][torch.arange(len(positions)), positions]
    close(
        case["kind"],
        "mask_logits_at_selected_ids",
        logits[:, exp["selected_token_ids"]],
        exp["mask_logits_at_selected_ids"],
        LOGITS,
    )
    close(
        case["kind"],
        "mask_logits_logsumexp",
        logits.logsumexp(-1),
        exp["mask_logits_logsumexp"],
        LOGITS,
    )
    close(case["kind"], "mask_logits_first16", logits[:, :16], exp["mask_logits_first16"], LOGITS)
    close(
        case["kind"],
        "mask_hidden_state_last_layer",
        hidden,
        exp["mask_hidden_state_last_layer"],
        LOGITS,
    )
    assert logits.topk(5).indices.tolist() == exp["mask_logits_top5_ids"]


# ---------------------------------------------------------------------- manual verbalizers


def run_manual(case: dict[str, Any], r: Runner, tmp_path: Path) -> None:
    v = r.manual(case["inputs"]["verbalizer"])
    close(
        case["kind"],
        "class_logits",
        r.classify(case["inputs"], v),
        case["expected"]["class_logits"],
        LOGITS,
    )


def run_manual_calibrated(case: dict[str, Any], r: Runner, tmp_path: Path) -> None:
    inputs = case["inputs"]
    v = r.manual(inputs["verbalizer"])
    v.register_calibrate_logits(r.support_logits(inputs, v).mean(dim=0))
    if case["id"] == "manual_cal/error/backward_after_calibration":
        # OpenPrompt's in-place division breaks backward here; mrekv's calibration does not.
        model = r.model(inputs, v)
        batch = next(iter(r.loader(inputs, inputs["examples"])))
        model.zero_grad()
        model(batch).sum().backward()
        grads = [p.grad for p in model.parameters() if p.grad is not None]
        assert grads and all(torch.isfinite(g).all() for g in grads)
        return
    close(
        case["kind"],
        "class_logits",
        r.classify(inputs, v),
        case["expected"]["class_logits"],
        LOGITS,
    )


# ---------------------------------------------------------------------- knowledgeable verbalizer


def run_knowledgeable(case: dict[str, Any], r: Runner, tmp_path: Path) -> None:
    inputs, spec = case["inputs"], case["inputs"]["verbalizer"]
    if case["id"] == "kv/error/label_words_in_constructor":
        # OpenPrompt raises AttributeError; mrekv accepts label_words= like the setter.
        from mrekv.openprompt.prompts import KnowledgeableVerbalizer

        given = KnowledgeableVerbalizer(
            r.tok, classes=spec["classes"], label_words=spec["label_words"]
        )
        assert given.label_words == r.knowledgeable(spec).label_words
        return
    if "knowledge_file_txt" in inputs:
        path = tmp_path / "knowledge.txt"
        path.write_text(inputs["knowledge_file_txt"], encoding="utf-8")
        v = r.knowledgeable({**spec, "label_words": [["x"]] * len(spec["classes"])}).from_file(path)
    else:
        v = r.knowledgeable(spec)
    exp = case.get("expected", {})
    if "label_words_after_setting" in exp:
        assert unprefixed(v.label_words) == exp["label_words_after_setting"]
    if "calibration" in inputs:
        v.register_calibrate_logits(r.support_logits(inputs, v).mean(dim=0))
        assert unprefixed(v.label_words) == exp["label_words_after_register_calibrate_logits"]
    assert unprefixed(v.label_words) == exp["label_words_kept"]
    r.set_weights(v, inputs["label_words_weights"])
    close(case["kind"], "class_logits", r.classify(inputs, v), exp["class_logits"], LOGITS)


# ---------------------------------------------------------------------- KPT refinement


def run_refinement(case: dict[str, Any], r: Runner, tmp_path: Path) -> None:
    inputs, exp = case["inputs"], case.get("expected", {})
    v = r.knowledgeable(inputs["verbalizer"])
    support = r.support_logits(inputs, v)
    if "/frequency/" in case["id"]:  # the words as set, before the cut
        assert unprefixed(v.label_words) == exp["label_words_before"]
    v.register_calibrate_logits(support.mean(dim=0))
    if "/relevance/" in case["id"]:  # the words tfidf_filter starts from
        assert unprefixed(v.label_words) == exp["label_words_before"]
    if "/frequency/" in case["id"]:
        assert unprefixed(v.label_words) == exp["label_words_kept"]
        return
    if "label_words_after_frequency" in exp:
        assert unprefixed(v.label_words) == exp["label_words_after_frequency"]
    record = tfidf_filter_record(v, support, inputs["verbalizer"]["classes"])
    assert unprefixed(v.label_words) == exp["label_words_kept"]
    assert record.label_words_kept == exp["label_words_kept"]
    assert record.optimal_cut_rate == exp["optimal_cut_rate"]
    assert record.norm_ord == pytest.approx(exp["norm_ord"], rel=1e-12)
    if "class_logits" in exp:
        close(case["kind"], "class_logits", r.classify(inputs, v), exp["class_logits"], LOGITS)


# ---------------------------------------------------------------------- soft verbalizer


def run_soft(case: dict[str, Any], r: Runner, tmp_path: Path) -> None:
    inputs, exp = case["inputs"], case["expected"]
    v = r.soft(inputs["verbalizer"])
    assert v.label_words == exp["label_words_with_prefix"]
    ids, mask = v.label_words_ids, v.label_words_mask  # OpenPrompt's (C, T) layout
    assert ids.tolist() == exp["label_words_ids"] and mask.tolist() == exp["label_words_mask"]
    assert v.head_last_layer_full_name == exp["head_last_layer_full_name"]
    assert (v.head_last_layer.bias is not None) == exp["head_last_layer_has_bias"]
    assert [n for n, _ in v.head.named_modules() if n] == exp["head_module_names"]
    assert list(v.head_last_layer.weight.shape) == exp["head_last_layer_weight_shape"]
    close(
        case["kind"],
        "head_last_layer_weight",
        v.head_last_layer.weight,
        exp["head_last_layer_weight"],
        LOGITS,
    )
    close(case["kind"], "class_logits", r.classify(inputs, v), exp["class_logits"], LOGITS)


# ---------------------------------------------------------------------- training


def _groups(named: list[tuple[str, torch.nn.Parameter]]) -> list[dict[str, Any]]:
    no_decay = ("bias", "LayerNorm.weight")
    return [
        {
            "params": [p for n, p in named if not any(nd in n for nd in no_decay)],
            "weight_decay": 0.01,
        },
        {"params": [p for n, p in named if any(nd in n for nd in no_decay)], "weight_decay": 0.0},
    ]


def run_training(case: dict[str, Any], r: Runner, tmp_path: Path) -> None:
    inputs, exp, kind = case["inputs"], case["expected"], case["kind"]
    plm, _, _, _ = load_plm("bert", r.plm.name_or_path)  # a fresh copy: training changes it
    spec = inputs["verbalizer"]
    kpt = spec["class"] == "KnowledgeableVerbalizer"
    v = r.knowledgeable(spec) if kpt else r.manual(spec)
    model = r.model(inputs, v, plm)
    opt = inputs["optimizer_plm"]
    named = list(plm.named_parameters()) if kpt else list(model.named_parameters())
    prefix = "" if kpt else "prompt_model.plm."
    expected_names = {
        n for g in opt["param_groups"] for n in g["param_names"] if n.startswith(prefix)
    }
    assert {n for n, _ in named if n.startswith(prefix)} == expected_names
    optimizer = torch.optim.AdamW(
        _groups(named), lr=opt["lr"], betas=tuple(opt["betas"]), eps=opt["eps"]
    )
    verb_opt = None
    if kpt:
        vo = inputs["optimizer_verbalizer"]
        verb_opt = torch.optim.AdamW(
            v.parameters(),
            lr=vo["lr"],
            betas=tuple(vo["betas"]),
            eps=vo["eps"],
            weight_decay=vo["weight_decay"],
        )
    close(
        kind,
        "class_logits_before",
        r.classify(inputs, v, plm=plm),
        exp["class_logits_before"],
        5e-4,
    )
    loss_fn = torch.nn.CrossEntropyLoss()
    loader = r.loader(inputs, inputs["train_examples"], batch_size=2)
    model.train()
    losses, logits_seen, norms = [], [], []
    for batch in loader:
        logits = model(batch)
        loss = loss_fn(logits, batch["label"])
        loss.backward()
        if kpt:
            norms.append(float(torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)))
        optimizer.step()
        optimizer.zero_grad()
        if verb_opt is not None:
            verb_opt.step()
            verb_opt.zero_grad()
        losses.append(float(loss.detach()))
        logits_seen.append(logits.detach())
    close(kind, "losses", losses, exp["losses"], 5e-4)
    close(
        kind,
        "train_batch_class_logits",
        torch.stack(logits_seen),
        exp["train_batch_class_logits"],
        5e-4,
    )
    close(
        kind, "class_logits_after", r.classify(inputs, v, plm=plm), exp["class_logits_after"], 5e-4
    )
    if kpt:
        close(
            kind,
            "grad_norms_before_clipping",
            norms,
            exp["grad_norms_before_clipping"],
            5e-4,
            rtol=1e-3,
        )
        assert unprefixed(v.label_words) == exp["label_words_kept"]
        close(
            kind,
            "label_words_weights_after",
            v.label_words_weights,
            exp["label_words_weights_after"],
            5e-4,
        )


RUNNERS = {
    "template_encoding": run_template,
    "model_forward": run_model_forward,
    "manual_verbalizer": run_manual,
    "manual_verbalizer_calibrated": run_manual_calibrated,
    "knowledgeable_verbalizer": run_knowledgeable,
    "kpt_refinement": run_refinement,
    "soft_verbalizer": run_soft,
    "training": run_training,
}
