import pytest

from mrekv.data.example import Family, MREExample, TaskWord, guess_lang


@pytest.mark.parametrize(
    ("texts", "lang"),
    [
        (["美味しいラーメンを食べた。"], "ja"),
        (["東京都", "カレー"], "ja"),  # kana anywhere makes it Japanese
        (["这家酒店的服务很好。"], "zh"),
        (["The soup was cold.", "好"], "zh"),
        (["The soup was cold."], "en"),
        ([], "en"),
    ],
)
def test_guess_lang(texts, lang):
    assert guess_lang(texts) == lang


def test_family_parse_is_forgiving_and_lists_choices():
    assert Family.parse("scpos:adj and n") is Family.SCPOS_ADJ_N
    assert Family.parse("SCPOS:Adj & N").task_word is TaskWord.SENTIMENT_ADJ_AND_N
    with pytest.raises(ValueError, match="SCPOS:RW"):
        Family.parse("SCPOS:Verb")


def test_example_rejects_malformed_word_labels():
    with pytest.raises(ValueError, match="not a \\(label, span\\) pair"):
        MREExample("text", "pos", TaskWord.SENTIMENT_ADJ, word_labels=(("only-one",),))
    with pytest.raises(ValueError, match="valid choices"):
        MREExample("text", "pos", lang="fr")
