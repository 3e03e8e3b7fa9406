"""Property tests for the MMM format: 10,500 generated inputs per run, derandomized.

(a) anything fed to ``parse_mmm_record`` parses or raises ``MMMFormatError``, and
    whatever parses formats back to the very same record;
(b) generated examples (texts and spans with ``/ : ;`` and unicode, every task
    word, full-width separators) round-trip through the record and its JSON text;
(c) ``read_mmm`` on random files raises only ``MMMFormatError``, and never
    raises with ``on_error="skip"``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.strategies import composite

from mrekv.data.example import MREExample, TaskWord
from mrekv.data.mmm import format_mmm_record, mmm_record_to_json, parse_mmm_record, read_mmm
from mrekv.errors import MMMFormatError

SETTINGS = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TASK_WORDS = [t.value for t in TaskWord]
# Small alphabets keep generation cheap; they still cover separators of both widths,
# '/', spaces, accents, CJK, an astral character and a line break.
ALPHABET = "abcxyz ./?=-:;：；東京駅人名é😀\n"
SEPARATOR_FREE = st.text("abcxyz ./?=-東京駅人名é😀\n", min_size=1, max_size=6)
ANY_TEXT = st.text(ALPHABET, min_size=1, max_size=16)
# Pieces that make strings land near the format's edges far more often than random text.
PIECES = st.sampled_from(
    ["/", ":", ";", "：", "；", "//", "://", " ", "a", "é", "東京", "x;y", "10:30"]
    + TASK_WORDS
    + [f"/{w}" for w in TASK_WORDS]
    + [f"/{w}/" for w in TASK_WORDS]
)
EDGY = st.lists(st.one_of(PIECES, st.text(max_size=4)), max_size=8).map("".join)
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6) | EDGY,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


@composite
def near_records(draw) -> dict[str, str]:
    """Records that are valid or one edit away from valid."""
    task = draw(st.sampled_from(TASK_WORDS))
    out_task = draw(st.sampled_from([task] * 5 + TASK_WORDS))
    items = draw(st.lists(
        st.tuples(st.sampled_from(":：" + ";"), ANY_TEXT, st.sampled_from(";；:"), EDGY,
                  st.sampled_from(["", ";r;", "；r；"]), EDGY),
        max_size=3,
    ))
    part = "".join(c + a + s + b + (m + t if m else "") for c, a, s, b, m, t in items)
    text, label = draw(st.one_of(ANY_TEXT, EDGY)), draw(st.one_of(ANY_TEXT, EDGY))
    return {"input": f"{text}/{task}", "output": f"{label}/{out_task}/{part}"}


RECORDS = st.one_of(
    near_records(),
    near_records(),
    near_records(),
    near_records(),
    JSONISH,
    st.fixed_dictionaries({"input": EDGY, "output": EDGY}),
    st.fixed_dictionaries({"input": st.one_of(EDGY, JSONISH), "output": st.one_of(EDGY, JSONISH)}),
    st.fixed_dictionaries({"input": EDGY, "output": EDGY, "extra": JSONISH}),
    st.text(max_size=30),
    st.fixed_dictionaries({"input": EDGY, "output": EDGY}).map(json.dumps),
)


@settings(SETTINGS, max_examples=4500)
@given(RECORDS)
def test_parse_raises_only_mmm_format_error_and_parsed_records_format_back(record):
    try:
        example = parse_mmm_record(record)
    except MMMFormatError as err:
        assert err.reason
        event("refused")
        return
    event("parsed")
    original = json.loads(record) if isinstance(record, str) else record
    assert format_mmm_record(example) == original


@composite
def examples(draw) -> tuple[MREExample, bool]:
    """An example, and whether it must be writable (no separators in spans or heads)."""
    task = draw(st.sampled_from(list(TaskWord)))
    text = draw(ANY_TEXT)
    label = draw(ANY_TEXT.filter(
        lambda s: f"/{task.value}/" not in s and not s.endswith(f"/{task.value}")
    ))
    plain = draw(st.booleans())

    def span():
        if plain:
            return draw(st.one_of(SEPARATOR_FREE, st.just("")))
        # mostly spans found in the text, as in real data
        if draw(st.booleans()):
            return draw(ANY_TEXT)
        i, j = sorted(draw(st.lists(st.integers(0, len(text)), min_size=2, max_size=2)))
        return text[i:j]

    n = draw(st.integers(0, 4))
    if task is TaskWord.RELATION_EXTRACTION:
        relations = [(draw(SEPARATOR_FREE) if plain else span() or "h", draw(SEPARATOR_FREE),
                      span()) for _ in range(n)]
        pairs: list = []
        width = 3
    else:
        pairs = [(draw(SEPARATOR_FREE), span()) for _ in range(n)]
        relations = []
        width = 2
    wide = draw(st.one_of(st.none(), st.lists(st.booleans(), min_size=width * n,
                                              max_size=width * n)))
    style = None
    if wide is not None:  # one colon then one or two semicolons per item, each either width
        style = "".join(
            ("：" if w else ":") if i % width == 0 else ("；" if w else ";")
            for i, w in enumerate(wide)
        )
    example = MREExample(text, label, task, pairs, relations, separators=style)
    return example, plain


@settings(SETTINGS, max_examples=4000)
@given(examples())
def test_generated_examples_round_trip(case):
    example, must_write = case
    try:
        record = format_mmm_record(example)
    except MMMFormatError:
        assert not must_write, "a separator-free example must always be writable"
        event("ambiguous, refused")
        return
    event(f"written, {len(example.word_labels) + len(example.relations)} items")
    back = parse_mmm_record(record)
    assert back == example
    style = example.separators
    assert back.separators == (None if style is None or style.isascii() else style)
    assert format_mmm_record(back) == record
    assert parse_mmm_record(mmm_record_to_json(example)) == example


LINE = st.one_of(
    st.binary(max_size=40),
    near_records().map(lambda r: json.dumps(r, ensure_ascii=False).encode("utf-8")),
    st.fixed_dictionaries({"input": EDGY, "output": EDGY}).map(
        lambda r: json.dumps(r, ensure_ascii=False).encode("utf-8")
    ),
    st.text(ALPHABET + '{}[]",', max_size=30).map(lambda t: t.encode("utf-8")),
    st.sampled_from([b"", b" ", b"[", b"]", b",", b"\xef\xbb\xbf", b'{"input": "a/NER"']),
)
FILES = st.one_of(
    st.binary(max_size=200),
    st.lists(LINE, max_size=6).map(b"\n".join),
    st.lists(LINE, max_size=6).map(lambda ls: b"[" + b",\n".join(ls) + b"]"),
)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("mmm-prop") / "f.jsonl"


@settings(SETTINGS, max_examples=2000)
@given(data=FILES)
def test_read_mmm_on_random_files(scratch, data):
    scratch.write_bytes(data)
    try:
        read_mmm(scratch).read()
    except MMMFormatError:
        pass
    reader = read_mmm(scratch, on_error="skip")
    examples = reader.read()
    event(f"{reader.format}, {'some' if examples else 'no'} records, "
          f"{'some' if reader.skipped else 'no'} skipped")
    if reader.format == "jsonl":
        body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
        lines = [line for line in body.split(b"\n") if line.strip(b" \t\r\n")]
        assert len(examples) + reader.skipped == len(lines)
