"""Read states: one cached pass gives any label words' first-token scores exactly."""

from __future__ import annotations

import numpy as np
import pytest

from mrekv.prompt.read_states import output_layer, word_scores

WORDS = {"negative": ["bad", "awful", "terrible"], "positive": ["good", "great", "nice"]}
TEXTS = ["The soup was cold.", "What a lovely evening, truly wonderful.", "ok"]


def _check(clf):
    states = clf.read_states(TEXTS).numpy()
    weight, bias = output_layer(clf.module_.mlm)
    assert states.shape == (len(TEXTS), weight.shape[1] + 1)
    ours = word_scores(states, weight, bias, clf.module_.verbalizer)
    direct = clf.word_scores(TEXTS).numpy()
    assert np.allclose(ours, direct, atol=1e-4)


@pytest.mark.parametrize("kind", ["llama", "gemma3", "gpt2"])
def test_causal_read_states_reproduce_word_scores(kind, causal_lm):
    import mrekv

    model, tokenizer = causal_lm(kind)
    _check(mrekv.PromptClassifier(model, tokenizer=tokenizer, template="{text} It was {mask}",
                                  verbalizer=WORDS, progress=False))


def test_masked_read_states_reproduce_word_scores(tiny_mlm_dir):
    import mrekv

    # BERT's vocabulary head transforms the hidden state first: the state is the
    # decoder's input, and the decoder has a bias
    clf = mrekv.PromptClassifier(str(tiny_mlm_dir("en")), template="{text} It was {mask}.",
                                 verbalizer=WORDS, progress=False)
    assert output_layer(clf.module_.mlm)[1] is not None
    _check(clf)


def test_unprepared_verbalizer_is_refused():
    from mrekv.verbalizer.manual import ManualVerbalizer

    with pytest.raises(RuntimeError, match="prepare"):
        word_scores(np.zeros((1, 3)), np.zeros((4, 2)), None,
                    ManualVerbalizer(["a", "b"], [["x"], ["y"]]))
