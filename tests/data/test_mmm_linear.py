"""MMM parsing scales linearly in a record's word labels; double-encoded records are refused."""

from __future__ import annotations

import json
import time

import pytest

from mrekv.data.mmm import parse_mmm_record, read_mmm
from mrekv.data.mmm.substrings import DIRECT_LIMIT, SubstringIndex
from mrekv.errors import MMMFormatError


def _record(n: int, *, in_text: bool = True) -> dict[str, str]:
    words = [f"w{i}" for i in range(n)]
    text = " ".join(words) if in_text else "a short text"
    return {"input": f"{text}/NER", "output": "c/NER/" + "".join(f":PER;{w}" for w in words)}


def test_fifty_thousand_word_labels_parse_in_well_under_a_few_seconds():
    record = _record(50_000)
    start = time.perf_counter()
    example = parse_mmm_record(record)
    elapsed = time.perf_counter() - start
    assert len(example.word_labels) == 50_000
    assert example.word_labels[-1] == ("PER", "w49999")
    assert elapsed < 4.0, f"{elapsed:.1f} s (quadratic parsing took ~60 s here)"


def test_time_grows_linearly_not_quadratically():
    def timed(n: int) -> float:
        record = _record(n)
        start = time.perf_counter()
        parse_mmm_record(record)
        return time.perf_counter() - start

    small = min(timed(5_000) for _ in range(2))
    large = min(timed(40_000) for _ in range(2))
    assert large < 8 * small * 2.5  # 8 x the labels: linear ~8x, quadratic ~64x


def test_a_long_text_still_decides_ambiguous_spans_by_the_text():
    filler = " ".join(f"w{i}" for i in range(2_000))  # longer than DIRECT_LIMIT
    assert len(filler) > DIRECT_LIMIT
    url = "https://a.b/?x=1;y=2"
    one = parse_mmm_record({"input": f"{filler} see {url}/NER",
                            "output": f"c/NER/:url;{url}:PER;w1"})
    assert one.word_labels == (("url", url), ("PER", "w1"))
    two = parse_mmm_record({"input": f"{filler} Kyoto and Osaka/NER",
                            "output": "c/NER/:loc;Kyoto:loc;Osaka"})
    assert two.word_labels == (("loc", "Kyoto"), ("loc", "Osaka"))
    glued = parse_mmm_record({"input": f"{filler} Kyoto:loc;Osaka/NER",
                              "output": "c/NER/:loc;Kyoto:loc;Osaka"})
    assert glued.word_labels == (("loc", "Kyoto:loc;Osaka"),)


@pytest.mark.parametrize("text", ["abracadabra " * 500, "日本語のテキスト、" * 600])
def test_substring_index_agrees_with_in(text):
    index = SubstringIndex(text)
    probes = [text[i:j] for i in range(0, len(text), 397) for j in (i + 1, i + 7, i + 60)]
    probes += ["abracadabrx", "テキストX", "", "z", text, text + "a"]
    assert [index.contains(p) for p in probes] == [p in text for p in probes]


def test_a_jsonl_line_holding_a_json_string_is_refused(tmp_path):
    record = {"input": "a fine day/NER", "output": "positive/NER/:DATE;day"}
    path = tmp_path / "twice.jsonl"
    path.write_text(json.dumps(record) + "\n" + json.dumps(json.dumps(record)) + "\n",
                    encoding="utf-8")
    with pytest.raises(MMMFormatError, match=r"twice\.jsonl, line 2: .*got a JSON string") as err:
        read_mmm(path).read()
    assert err.value.line == 2
    reader = read_mmm(path, on_error="skip")
    assert [e.text for e in reader.read()] == ["a fine day"] and reader.skipped == 1


def test_a_json_array_element_holding_a_string_is_refused(tmp_path):
    record = {"input": "a fine day/NER", "output": "positive/NER/:DATE;day"}
    path = tmp_path / "twice.json"
    path.write_text(json.dumps([record, json.dumps(record)]), encoding="utf-8")
    with pytest.raises(MMMFormatError, match=r"record 1: .*got a JSON string"):
        read_mmm(path).read()
