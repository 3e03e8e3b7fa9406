"""OpenPrompt's ``openprompt.data_utils.text_classification_dataset``: readers of local folders.

Each processor reads one split of a dataset from a folder laid out as
OpenPrompt's ``datasets/TextClassification/<name>/`` (the files its and KPT's
download scripts fetch), ``split`` being ``"train"``, ``"dev"``, ``"test"`` or
any other file stem:

| processor | files | classes |
|---|---|---|
| `AgnewsProcessor` | `{split}.csv`: `label,title,body` | 4, `label` 1-based |
| `DBpediaProcessor` | `{split}.txt` + `{split}_labels.txt` | 14, labels 0-based |
| `ImdbProcessor` | `{split}.txt` + `{split}_labels.txt` | 2 (negative, positive) |
| `AmazonProcessor` | `{split}.txt` + `{split}_labels.txt` | 2 (bad, good) |
| `YahooProcessor` | `{split}.csv`: `label,title,content,answer` | 10, 1-based |
| `SST2Processor` | `{split}.tsv`: a header, then `sentence<TAB>label` | `'0'`, `'1'` |
| `MnliProcessor` | `{split}.csv`: `label,text_a,text_b` | 3, 1-based |

``*.txt`` files hold one text a line and ``*_labels.txt`` one class index a
line, line for line. The texts are cleaned exactly as OpenPrompt does (the CSV
readers replace each backslash, the files' newline escape, by a space; DBpedia
splits a line at its first ``". "`` into ``text_a`` = the title sentence and
``text_b`` = the rest), and ``guid`` is the row index as a string (SST-2:
``"<split>-<index>"``), so a script gets the same examples as under OpenPrompt.

Unlike OpenPrompt, files are read as UTF-8, a malformed row (wrong number of
fields, a label that is not a class) raises :class:`~mrekv.errors.CorpusFormatError`
naming the file and line, a text file and its labels file of different lengths
are an error, and a missing file raises :class:`FileNotFoundError` naming the
layout expected.

Example:
    >>> from mrekv.openprompt.data_utils.text_classification_dataset import PROCESSORS
    >>> processor = PROCESSORS["agnews"]()
    >>> processor.get_labels()
    ['World', 'Sports', 'Business', 'Tech']
    >>> test = processor.get_test_examples("datasets/TextClassification/agnews")  # doctest: +SKIP
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mrekv.errors import ConfigError, CorpusFormatError
from mrekv.openprompt.data_utils.data_processor import DataProcessor
from mrekv.openprompt.data_utils.utils import InputExample

__all__ = [
    "PROCESSORS",
    "AgnewsProcessor",
    "AmazonProcessor",
    "DBpediaProcessor",
    "ImdbProcessor",
    "MnliProcessor",
    "SST2Processor",
    "YahooProcessor",
]


# ---------------------------------------------------------------------- file helpers


def _path(processor: DataProcessor, data_dir: str | Path | None, name: str) -> Path:
    if data_dir is None:
        raise ConfigError(f"{type(processor).__name__}.get_examples needs data_dir (a folder)")
    path = Path(data_dir) / name
    if not path.is_file():
        layout = getattr(processor, "layout", "")
        raise FileNotFoundError(
            f"{path}: no such file; {type(processor).__name__} reads {layout} in {data_dir}"
        )
    return path


def _open(path: Path) -> Any:
    return path.open(encoding="utf-8")


def _csv_rows(path: Path, width: int, fields: str) -> Iterator[tuple[int, list[str]]]:
    """``(line, row)`` of each CSV record of ``path``, which must have ``width`` fields."""
    try:
        with _open(path) as f:
            reader = csv.reader(f, delimiter=",")
            for row in reader:
                if len(row) != width:
                    raise CorpusFormatError(
                        f"{path}, line {reader.line_num}: expected {width} fields "
                        f"({fields}), got {len(row)}"
                    )
                yield reader.line_num, row
    except UnicodeDecodeError as err:
        raise CorpusFormatError(f"{path}: not UTF-8 text ({err})") from None


def _text_lines(path: Path) -> list[str]:
    # iterating the file splits lines as OpenPrompt does (universal newlines only)
    try:
        with _open(path) as f:
            return list(f)
    except UnicodeDecodeError as err:
        raise CorpusFormatError(f"{path}: not UTF-8 text ({err})") from None


def _class_index(raw: str, where: str, num_labels: int, offset: int = 0) -> int:
    """``int(raw) - offset``, checked to be a class index."""
    try:
        value = int(raw.strip()) - offset
    except ValueError:
        raise CorpusFormatError(f"{where}: label {raw.strip()!r} is not an integer") from None
    if not 0 <= value < num_labels:
        raise CorpusFormatError(
            f"{where}: label {raw.strip()!r} is not a class "
            f"(expected {offset}..{num_labels - 1 + offset})"
        )
    return value


def _texts_and_labels(
    processor: DataProcessor, data_dir: str | Path | None, split: str
) -> list[tuple[str, int]]:
    """The lines of ``{split}.txt`` with the class indices of ``{split}_labels.txt``."""
    texts_path = _path(processor, data_dir, f"{split}.txt")
    labels_path = _path(processor, data_dir, f"{split}_labels.txt")
    texts = _text_lines(texts_path)
    raw_labels = _text_lines(labels_path)
    if len(texts) != len(raw_labels):
        raise CorpusFormatError(
            f"{texts_path} has {len(texts)} lines but {labels_path} has {len(raw_labels)} labels"
        )
    n = processor.get_num_labels()
    labels = [
        _class_index(raw, f"{labels_path}, line {i + 1}", n) for i, raw in enumerate(raw_labels)
    ]
    return list(zip(texts, labels, strict=True))


def _unescape(text: str) -> str:
    return text.replace("\\", " ")


# ---------------------------------------------------------------------- processors


class AgnewsProcessor(DataProcessor):
    """AG News topics: ``{split}.csv`` rows ``label,title,description``, labels 1-4.

    ``text_a`` is the title, ``text_b`` the description (backslashes become spaces),
    ``label`` the 0-based class index.

    Example:
        >>> AgnewsProcessor().get_num_labels()
        4
    """

    layout = "{split}.csv with rows label,title,description (label 1-4)"

    def __init__(self) -> None:
        super().__init__(labels=["World", "Sports", "Business", "Tech"])

    def get_examples(
        self, data_dir: str | Path | None = None, split: str | None = None
    ) -> list[InputExample]:
        """The examples of ``{data_dir}/{split}.csv``."""
        path = _path(self, data_dir, f"{split}.csv")
        examples = []
        for idx, (line, (label, title, body)) in enumerate(
            _csv_rows(path, 3, "label, title, description")
        ):
            examples.append(
                InputExample(
                    guid=str(idx),
                    text_a=_unescape(title),
                    text_b=_unescape(body),
                    label=_class_index(label, f"{path}, line {line}", 4, offset=1),
                )
            )
        return examples


class DBpediaProcessor(DataProcessor):
    """DBpedia ontology classes: ``{split}.txt`` and ``{split}_labels.txt`` (0-13).

    A line is split at its first ``". "``: ``text_a`` is the first sentence (with its
    ``"."``), ``text_b`` the rest.

    Example:
        >>> DBpediaProcessor().get_labels()[:3]
        ['company', 'school', 'artist']
    """

    layout = "{split}.txt (one text a line) and {split}_labels.txt (one class index 0-13 a line)"

    def __init__(self) -> None:
        super().__init__(
            labels=[
                "company",
                "school",
                "artist",
                "athlete",
                "politics",
                "transportation",
                "building",
                "river",
                "village",
                "animal",
                "plant",
                "album",
                "film",
                "book",
            ]
        )

    def get_examples(
        self, data_dir: str | Path | None = None, split: str | None = None
    ) -> list[InputExample]:
        """The examples of ``{data_dir}/{split}.txt`` with ``{split}_labels.txt``."""
        examples = []
        for idx, (line, label) in enumerate(_texts_and_labels(self, data_dir, str(split))):
            first, *rest = line.strip().split(". ")
            examples.append(
                InputExample(guid=str(idx), text_a=first + ".", text_b=". ".join(rest), label=label)
            )
        return examples


class ImdbProcessor(DataProcessor):
    """IMDB movie reviews: ``{split}.txt`` and ``{split}_labels.txt`` (0 negative, 1 positive).

    Example:
        >>> ImdbProcessor().get_labels()
        ['negative', 'positive']
    """

    layout = "{split}.txt (one review a line) and {split}_labels.txt (0 or 1 a line)"

    def __init__(self) -> None:
        super().__init__(labels=["negative", "positive"])

    def get_examples(
        self, data_dir: str | Path | None = None, split: str | None = None
    ) -> list[InputExample]:
        """The examples of ``{data_dir}/{split}.txt`` with ``{split}_labels.txt``."""
        return [
            InputExample(guid=str(idx), text_a=line.strip(), label=label)
            for idx, (line, label) in enumerate(_texts_and_labels(self, data_dir, str(split)))
        ]


class AmazonProcessor(ImdbProcessor):
    """Amazon reviews polarity: ``{split}.txt`` and ``{split}_labels.txt`` (0 bad, 1 good).

    Example:
        >>> AmazonProcessor().get_labels()
        ['bad', 'good']
    """

    def __init__(self) -> None:
        DataProcessor.__init__(self, labels=["bad", "good"])


class YahooProcessor(DataProcessor):
    """Yahoo! Answers topics: ``{split}.csv`` rows ``label,title,content,answer``, labels 1-10.

    ``text_a`` is the title and the content joined by a space, ``text_b`` the best
    answer; the files' ``\\n`` escapes and backslashes become spaces.

    Example:
        >>> YahooProcessor().get_num_labels()
        10
    """

    layout = "{split}.csv with rows label,title,content,answer (label 1-10)"

    def __init__(self) -> None:
        super().__init__(labels=list(YAHOO_TOPICS))

    def get_examples(
        self, data_dir: str | Path | None = None, split: str | None = None
    ) -> list[InputExample]:
        """The examples of ``{data_dir}/{split}.csv``."""

        def clean(text: str) -> str:
            return text.replace("\\n", " ").replace("\\", " ")

        path = _path(self, data_dir, f"{split}.csv")
        examples = []
        for idx, (line, (label, title, content, answer)) in enumerate(
            _csv_rows(path, 4, "label, title, content, answer")
        ):
            examples.append(
                InputExample(
                    guid=str(idx),
                    text_a=" ".join([clean(title), clean(content)]),
                    text_b=clean(answer),
                    label=_class_index(label, f"{path}, line {line}", 10, offset=1),
                )
            )
        return examples


class SST2Processor(DataProcessor):
    """SST-2 (the LM-BFF release): ``{split}.tsv``, a header line, then ``sentence<TAB>label``.

    The classes are the strings ``'0'`` and ``'1'``; ``label`` is their index and
    ``guid`` is ``"<split>-<index>"``.

    Example:
        >>> SST2Processor().get_labels()
        ['0', '1']
    """

    layout = "{split}.tsv: a header line, then sentence<TAB>label (label 0 or 1)"

    def __init__(self) -> None:
        super().__init__(labels=["0", "1"])

    def get_examples(
        self, data_dir: str | Path | None = None, split: str | None = None
    ) -> list[InputExample]:
        """The examples of ``{data_dir}/{split}.tsv``."""
        path = _path(self, data_dir, f"{split}.tsv")
        examples = []
        for idx, line in enumerate(_text_lines(path)[1:]):
            fields = line.strip().split("\t")
            if len(fields) < 2:
                raise CorpusFormatError(
                    f"{path}, line {idx + 2}: expected sentence<TAB>label, got {line.strip()!r}"
                )
            try:
                label = self.get_label_id(fields[1])
            except ConfigError as err:
                raise CorpusFormatError(f"{path}, line {idx + 2}: {err}") from None
            examples.append(InputExample(guid=f"{split}-{idx}", text_a=fields[0], label=label))
        return examples


class MnliProcessor(DataProcessor):
    """MNLI-style pairs: ``{split}.csv`` rows ``label,text_a,text_b``, labels 1-3.

    Example:
        >>> MnliProcessor().get_labels()
        ['contradiction', 'entailment', 'neutral']
    """

    layout = "{split}.csv with rows label,text_a,text_b (label 1-3)"

    def __init__(self) -> None:
        super().__init__(labels=["contradiction", "entailment", "neutral"])

    def get_examples(
        self, data_dir: str | Path | None = None, split: str | None = None
    ) -> list[InputExample]:
        """The examples of ``{data_dir}/{split}.csv``."""
        path = _path(self, data_dir, f"{split}.csv")
        return [
            InputExample(
                guid=str(idx),
                text_a=_unescape(a),
                text_b=_unescape(b),
                label=_class_index(label, f"{path}, line {line}", 3, offset=1),
            )
            for idx, (line, (label, a, b)) in enumerate(_csv_rows(path, 3, "label, text_a, text_b"))
        ]


#: The ten Yahoo! Answers topics, in class-index order.
YAHOO_TOPICS = (
    "Society & Culture",
    "Science & Mathematics",
    "Health",
    "Education & Reference",
    "Computers & Internet",
    "Sports",
    "Business & Finance",
    "Entertainment & Music",
    "Family & Relationships",
    "Politics & Government",
)

#: Dataset name -> processor class, as OpenPrompt's ``PROCESSORS`` of this module.
PROCESSORS: dict[str, type[DataProcessor]] = {
    "agnews": AgnewsProcessor,
    "dbpedia": DBpediaProcessor,
    "amazon": AmazonProcessor,
    "imdb": ImdbProcessor,
    "sst-2": SST2Processor,
    "mnli": MnliProcessor,
    "yahoo": YahooProcessor,
}
