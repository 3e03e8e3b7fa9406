"""Hand-written cases for the MMM record format (mrekv.data.mmm)."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import pytest

from mrekv.data.example import MREExample, TaskWord
from mrekv.data.mmm import (
    format_mmm_record,
    mmm_record_to_json,
    parse_mmm_record,
    read_mmm,
    validate_mmm,
    write_mmm,
)
from mrekv.errors import ConfigError, MMMFormatError

# (record, text, text label, task, word labels, relations)
GOOD = [
    (
        {"input": "Meet at 10:30/NER", "output": "event/NER/:time;10:30"},
        "Meet at 10:30", "event", TaskWord.NER, (("time", "10:30"),), (),
    ),
    (  # a URL holding '/', ':' and ';' in the text and in the span
        {
            "input": "Docs at https://ex.org/a?x=1;y=2 now/NER",
            "output": "tech/NER/:url;https://ex.org/a?x=1;y=2:org;ex",
        },
        "Docs at https://ex.org/a?x=1;y=2 now", "tech", TaskWord.NER,
        (("url", "https://ex.org/a?x=1;y=2"), ("org", "ex")), (),
    ),
    (  # a text label with '/', a list with ';' in the text
        {"input": "eggs; milk; bread/NER", "output": "Sci/Tech/NER/:food;eggs:food;milk"},
        "eggs; milk; bread", "Sci/Tech", TaskWord.NER, (("food", "eggs"), ("food", "milk")), (),
    ),
    (  # the text itself ends with a task word
        {"input": "tag it /NER/NER", "output": "misc/NER/"},
        "tag it /NER", "misc", TaskWord.NER, (), (),
    ),
    (  # empty word-label list
        {"input": "Fine, I guess./Sentiment Adj", "output": "neutral/Sentiment Adj/"},
        "Fine, I guess.", "neutral", TaskWord.SENTIMENT_ADJ, (), (),
    ),
    (
        {
            "input": "Tasty noodles, rude staff./Sentiment Adj and N",
            "output": "negative/Sentiment Adj and N/:positive;Tasty:negative;rude:neutral;staff",
        },
        "Tasty noodles, rude staff.", "negative", TaskWord.SENTIMENT_ADJ_AND_N,
        (("positive", "Tasty"), ("negative", "rude"), ("neutral", "staff")), (),
    ),
    (
        {
            "input": "Ada Lovelace was born in London./Relation Extraction",
            "output": "person/Relation Extraction/:Ada Lovelace;born in;London",
        },
        "Ada Lovelace was born in London.", "person", TaskWord.RELATION_EXTRACTION,
        (), (("Ada Lovelace", "born in", "London"),),
    ),
    (  # a tail holding ';' and a second triple
        {
            "input": "A;B Ltd owns C. C is in D./Relation Extraction",
            "output": "business/Relation Extraction/:A;B Ltd;owns;C:C;located in;D",
        },
        "A;B Ltd owns C. C is in D.", "business", TaskWord.RELATION_EXTRACTION,
        (), (("A;B Ltd", "owns", "C"), ("C", "located in", "D")),
    ),
    (  # Sentiment N and Sentiment Relation Word and Event Extraction task words
        {
            "input": "The battery is a joke./Sentiment N",
            "output": "negative/Sentiment N/:negative;battery",
        },
        "The battery is a joke.", "negative", TaskWord.SENTIMENT_N, (("negative", "battery"),), (),
    ),
    (
        {
            "input": "I love it/Sentiment Relation Word",
            "output": "positive/Sentiment Relation Word/:positive;love",
        },
        "I love it", "positive", TaskWord.SENTIMENT_RELATION_WORD, (("positive", "love"),), (),
    ),
    (
        {
            "input": "Rebels attacked the port./Event Extraction",
            "output": "war/Event Extraction/:attack;attacked",
        },
        "Rebels attacked the port.", "war", TaskWord.EVENT_EXTRACTION,
        (("attack", "attacked"),), (),
    ),
]


@pytest.mark.parametrize(("record", "text", "label", "task", "words", "relations"), GOOD)
def test_parse_and_round_trip(record, text, label, task, words, relations):
    example = parse_mmm_record(record, lang="en")
    assert example.text == text
    assert example.text_label == label
    assert example.task is task
    assert example.word_labels == words
    assert example.relations == relations
    assert example.lang == "en"
    assert example.separators is None
    assert format_mmm_record(example) == record
    assert parse_mmm_record(json.dumps(record), lang="en") == example


def test_two_items_stay_two_when_the_text_does_not_hold_the_merge():
    ex = parse_mmm_record({"input": "Kyoto:Osaka/NER", "output": "travel/NER/:loc;Kyoto:loc;Osaka"})
    assert ex.word_labels == (("loc", "Kyoto"), ("loc", "Osaka"))


def test_span_holding_colon_item_lookalike_is_one_item_when_the_text_holds_it():
    ex = parse_mmm_record({"input": "say a:b;c/NER", "output": "x/NER/:quote;a:b;c"})
    assert ex.word_labels == (("quote", "a:b;c"),)


def test_colon_without_label_belongs_to_the_span():
    # ':' not followed by '<label>;' does not start an item
    ex = parse_mmm_record({"input": "at 9:30 sharp/NER", "output": "x/NER/:time;9:30 sharp"})
    assert ex.word_labels == (("time", "9:30 sharp"),)
    ex = parse_mmm_record({"input": "x/NER", "output": "x/NER/:a;:;b"})
    assert ex.word_labels == (("a", ":;b"),)


def test_full_width_separators_parse_and_write_back_the_same():
    record = {
        "input": "田中さんは10：30に東京駅へ着いた/NER",
        "output": "交通/NER/：人名；田中:地名；東京駅",
    }
    ex = parse_mmm_record(record, lang="ja")
    assert ex.word_labels == (("人名", "田中"), ("地名", "東京駅"))
    assert ex.separators == "：；:；"
    assert format_mmm_record(ex) == record
    # content equality ignores how the record was written; a new example is canonical ASCII
    plain = MREExample(ex.text, ex.text_label, ex.task, ex.word_labels, lang="ja")
    assert plain == ex
    assert format_mmm_record(plain)["output"] == "交通/NER/:人名;田中:地名;東京駅"


def test_full_width_colon_in_span():
    ex = parse_mmm_record({"input": "開始は10：30です/NER", "output": "予定/NER/：時刻；10：30"})
    assert ex.word_labels == (("時刻", "10：30"),)


def test_canonical_json_text():
    ex = MREExample("Café at 8:00", "food", word_labels=[("place", "Café")])
    assert mmm_record_to_json(ex) == (
        '{"input": "Café at 8:00/NER", "output": "food/NER/:place;Café"}'
    )


BAD = [
    ('{"input": "x/NER"', "invalid JSON"),
    ("[1, 2]", "must be a JSON object"),
    (5, "must be a JSON object"),
    ({"input": "x/NER"}, "missing key(s) 'output'"),
    ({"input": "x/NER", "output": "y/NER/", "id": 3}, "extra key(s) 'id'"),
    ({"input": "x/NER", "output": None}, "'output' must be a string, got NoneType"),
    ('{"input": "a/NER", "input": "b/NER", "output": "y/NER/"}', "duplicate key 'input'"),
    ({"input": "hello", "output": "y/NER/"}, "input must end with '/<task word>', one of 'NER'"),
    ({"input": "/NER", "output": "y/NER/"}, "empty text"),
    ({"input": "x/NER", "output": "y/Sentiment Adj/"},
     "task word in input 'NER' differs from output 'Sentiment Adj'"),
    ({"input": "x/NER", "output": "y"}, "output must start with '<text label>/NER/'"),
    ({"input": "x/NER", "output": "/NER/"}, "the text label is empty"),
    ({"input": "x/NER", "output": "y/NER/person;x"}, "must start with ':'"),
    ({"input": "x/NER", "output": "y/NER/:person"},
     "word label ':person' is not ':<label>;<span>'"),
    ({"input": "x/NER", "output": "y/NER/:;x"}, "word label ':;x' is not"),
    ({"input": "x/Relation Extraction", "output": "y/Relation Extraction/:a;b"},
     "word label ':a;b' is not ':<head>;<relation>;<tail>'"),
    ({"input": "x/Relation Extraction", "output": "y/Relation Extraction/:a;;b"},
     "is not ':<head>"),
    ({"input": "x\ud800/NER", "output": "y/NER/"}, "lone surrogate"),
]


@pytest.mark.parametrize(("record", "message"), BAD)
def test_malformed_records_raise_one_error_type_naming_the_place(record, message):
    with pytest.raises(MMMFormatError) as info:
        parse_mmm_record(record, source="train.jsonl", line=7)
    assert message in str(info.value)
    assert str(info.value).startswith("train.jsonl, line 7: ")
    assert info.value.line == 7 and info.value.source == "train.jsonl"


def test_unknown_lang_lists_choices():
    with pytest.raises(ConfigError, match="'en', 'ja', 'zh'"):
        parse_mmm_record({"input": "x/NER", "output": "y/NER/"}, lang="fr")


@pytest.mark.parametrize(
    ("example", "message"),
    [
        (MREExample("x", "a/NER/b"), "'/NER/'"),
        (MREExample("x", "tail/NER"), "nor end with '/NER'"),
        (MREExample("x", ""), "text label is empty"),
        (MREExample("", "a"), "empty text"),
        (MREExample("x", "a", word_labels=[("per;son", "x")]), "would read back"),
        (MREExample("x", "a", word_labels=[("", "x")]), "is not ':<label>;<span>'"),
        (MREExample("x", "a", relations=[("h", "r", "t")]), "cannot hold relations"),
        (
            MREExample("x", "a", TaskWord.RELATION_EXTRACTION, word_labels=[("l", "s")]),
            "relations only",
        ),
    ],
)
def test_format_refuses_examples_that_would_not_read_back(example, message):
    with pytest.raises(MMMFormatError, match="cannot write example") as info:
        format_mmm_record(example)
    assert message in str(info.value)


def _write(path, text: str | bytes) -> None:
    if isinstance(text, str):
        text = text.encode("utf-8")
    path.write_bytes(text)


GOOD_LINES = [json.dumps(r, ensure_ascii=False) for r, *_ in GOOD[:3]]


def test_read_jsonl_streams_and_skips_blank_lines(tmp_path):
    path = tmp_path / "a.jsonl"
    _write(path, GOOD_LINES[0] + "\n\n  \r\n" + GOOD_LINES[1] + "\r\n" + GOOD_LINES[2])
    reader = read_mmm(path, lang="en")
    assert reader.format == "jsonl"
    examples = reader.read()
    assert [e.text_label for e in examples] == ["event", "tech", "Sci/Tech"]
    assert all(e.lang == "en" for e in examples)
    assert list(reader) == examples  # iterable again


def test_read_json_array_detected_by_first_byte(tmp_path):
    path = tmp_path / "a.json"
    _write(path, "\ufeff \n [" + ",\n".join(GOOD_LINES) + "]\n")
    reader = read_mmm(path)
    assert reader.format == "json"
    assert [e.text_label for e in reader] == ["event", "tech", "Sci/Tech"]
    _write(path, " []")
    assert read_mmm(path).read() == []


def test_jsonl_errors_name_the_line_and_skip_counts(tmp_path):
    path = tmp_path / "bad.jsonl"
    lines = [
        GOOD_LINES[0],
        "",
        '{"input": "x/NER", "output": "y/Sentiment N/"}',
        '{"input": "x/NER"',
        GOOD_LINES[1],
    ]
    _write(path, "\n".join(lines).encode() + b"\n\xff\xfe\n")
    with pytest.raises(MMMFormatError, match=r"bad.jsonl, line 3: task word in input 'NER'"):
        read_mmm(path).read()
    reader = read_mmm(path, on_error="skip")
    assert [e.text_label for e in reader] == ["event", "tech"]
    assert reader.skipped == 3
    assert [e.line for e in reader.errors] == [3, 4, 6]
    assert "not UTF-8" in str(reader.errors[2])
    assert "invalid JSON" in str(reader.errors[1])


def test_json_array_errors_name_line_and_record(tmp_path):
    path = tmp_path / "bad.json"
    bad = '{"input": "x", "output": "y"},\n 7,\n'
    _write(path, "[\n" + GOOD_LINES[0] + ",\n" + bad + GOOD_LINES[1] + "\n]")
    with pytest.raises(MMMFormatError, match=r"bad.json, line 3, record 1: input must end"):
        read_mmm(path).read()
    reader = read_mmm(path, on_error="skip")
    assert len(reader.read()) == 2
    assert [(e.line, e.index) for e in reader.errors] == [(3, 1), (4, 2)]


def test_json_array_syntax_error_ends_reading_in_skip_mode(tmp_path):
    path = tmp_path / "broken.json"
    _write(path, "[\n" + GOOD_LINES[0] + "\n" + GOOD_LINES[1] + "\n]")  # missing comma
    reader = read_mmm(path, on_error="skip")
    assert len(reader.read()) == 1
    assert reader.skipped == 1
    assert "line 3" in str(reader.errors[0]) and "expected ',' or ']'" in str(reader.errors[0])
    _write(path, "[]  x")
    reader = read_mmm(path, on_error="skip")
    assert reader.read() == [] and "extra data" in str(reader.errors[0])


def test_read_mmm_bad_arguments(tmp_path):
    path = tmp_path / "a.jsonl"
    _write(path, "")
    with pytest.raises(ConfigError, match="'raise', 'skip'"):
        read_mmm(path, on_error="ignore")  # type: ignore[arg-type]
    with pytest.raises(FileNotFoundError):
        read_mmm(tmp_path / "missing.jsonl")
    assert read_mmm(path).read() == []


@pytest.mark.parametrize("fmt", ["jsonl", "json"])
def test_write_then_read_then_write_gives_the_same_bytes(tmp_path, fmt):
    examples = [parse_mmm_record(r) for r, *_ in GOOD]
    full_width = {"input": "東京：晴れ/NER", "output": "天気/NER/：地名；東京"}
    examples.append(parse_mmm_record(full_width))
    first, second = tmp_path / f"1.{fmt}", tmp_path / f"2.{fmt}"
    assert write_mmm(first, examples, format=fmt) == len(examples)
    again = read_mmm(first).read()
    assert again == examples
    write_mmm(second, again, format=fmt)
    assert first.read_bytes() == second.read_bytes()
    assert "：地名；東京" in first.read_text(encoding="utf-8")


def test_write_formats_and_empty(tmp_path):
    ex = MREExample("a", "b")
    write_mmm(tmp_path / "e.json", [], format="json")
    assert (tmp_path / "e.json").read_text() == "[]\n"
    write_mmm(tmp_path / "one.json", [ex], format="json")
    assert (tmp_path / "one.json").read_text() == '[\n{"input": "a/NER", "output": "b/NER/"}\n]\n'
    with pytest.raises(ConfigError, match="'jsonl', 'json'"):
        write_mmm(tmp_path / "x", [ex], format="csv")  # type: ignore[arg-type]


def test_write_is_atomic_and_names_the_bad_example(tmp_path):
    path = tmp_path / "out.jsonl"
    path.write_text("old\n")
    bad = [MREExample("a", "b"), MREExample("a", "x/NER/y")]
    with pytest.raises(MMMFormatError, match=r"out.jsonl, record 1: "):
        write_mmm(path, bad)
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]


def test_validate_reports_counts_and_errors(tmp_path):
    path = tmp_path / "v.jsonl"
    _write(path, "\n".join(GOOD_LINES + ["{}"]) + "\n")
    report = validate_mmm(path)
    assert report.records == 3 and not report.ok
    assert report.tasks == {"NER": 3}
    assert report.text_labels == {"event": 1, "tech": 1, "Sci/Tech": 1}
    assert report.errors[0].line == 4


def test_pathological_word_labels_stay_fast():
    part = ":a;" * 3000
    record = {"input": "a" * 5000 + "/NER", "output": "x/NER/" + part}
    start = time.perf_counter()
    ex = parse_mmm_record(record)
    assert time.perf_counter() - start < 5
    assert len(ex.word_labels) == 3000


SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"
SAMPLE_SETS = [
    (lang, slug) for lang in ("en", "ja", "zh") for slug in ("scpos-adj-n", "scnm")
]


@pytest.mark.parametrize(("lang", "slug"), SAMPLE_SETS)
def test_shipped_samples_parse_and_are_balanced(lang, slug):
    train = read_mmm(SAMPLES / f"{lang}-{slug}.train.jsonl", lang=lang).read()
    test = read_mmm(SAMPLES / f"{lang}-{slug}.test.jsonl", lang=lang).read()
    assert 40 <= len(train) <= 80 and 20 <= len(test) <= 30
    train_counts = Counter(e.text_label for e in train)
    assert 2 <= len(train_counts) <= 4
    assert min(train_counts.values()) >= 5
    assert set(Counter(e.text_label for e in test)) == set(train_counts)
    assert not {e.text for e in train} & {e.text for e in test}
    task = TaskWord.SENTIMENT_ADJ_AND_N if slug == "scpos-adj-n" else TaskWord.NER
    for example in train + test:
        assert example.task is task
        assert all(span in example.text for span in example.words)
    labels = {label for e in train + test for label, _ in e.word_labels}
    expected = {"adj", "n"} if slug == "scpos-adj-n" else {"person", "location", "organization"}
    assert labels <= expected


def test_shipped_samples_are_canonical(tmp_path):
    for path in sorted(SAMPLES.glob("*.jsonl")):
        copy = tmp_path / path.name
        write_mmm(copy, read_mmm(path).read())
        assert copy.read_bytes() == path.read_bytes(), path.name


# The one real MMM record known here: English SCNM, from the dataset card of
# ganchengguang/MMM-dataset-Trainset (CC-BY-NC-4.0), written as the card writes it.
REAL_SCNM_LINE = (
    '{"input": "In 1953, filming of \\"On the Waterfront\\" starring Marlon Brando began, '
    "and Kazan struggled with Spiegel's persistent budget cuts and managed to complete the "
    "film, which was released the following year in 1954 and became a huge hit with support "
    'from the laborer class./NER", "output": "Literature/NER/:Person;Marlon Brando:Product '
    'Name;On the Waterfront:Person;Kazan:Person;Spiegel"}'
)


@pytest.mark.parametrize("format", ["jsonl", "json"])
def test_the_real_scnm_record_round_trips_byte_for_byte(tmp_path, format):
    example = parse_mmm_record(REAL_SCNM_LINE, lang="en")
    assert example.text.startswith('In 1953, filming of "On the Waterfront"')
    assert example.text.endswith("support from the laborer class.")
    assert (example.text_label, example.task) == ("Literature", TaskWord.NER)
    assert example.word_labels == (("Person", "Marlon Brando"),
                                   ("Product Name", "On the Waterfront"),
                                   ("Person", "Kazan"), ("Person", "Spiegel"))
    assert mmm_record_to_json(example) == REAL_SCNM_LINE
    original = tmp_path / f"real.{format}"
    body = REAL_SCNM_LINE + "\n" if format == "jsonl" else f"[\n{REAL_SCNM_LINE}\n]\n"
    original.write_bytes(body.encode("utf-8"))
    examples = read_mmm(original, lang="en").read()
    assert examples == [example]
    written = tmp_path / f"again.{format}"
    write_mmm(written, examples, format=format)
    assert written.read_bytes() == original.read_bytes()
