"""OpenPrompt's ``openprompt.data_utils.huggingface_dataset``: Yahoo! Answers topics, read locally.

OpenPrompt's :class:`YahooAnswersTopicsProcessor` downloads the Hugging Face
dataset ``yahoo_answers_topics`` and, when that fails, reads
``datasets.load_from_disk(data_dir)``. mrekv never reaches the network: it
reads ``data_dir`` only, in the first of these forms it finds:

1. a ``DatasetDict.save_to_disk`` folder (``dataset_dict.json`` and one folder a
   split), what OpenPrompt's fallback reads; needs the ``datasets`` package;
2. ``{split}.jsonl``: JSON Lines with the Hub dataset's columns ``id``, ``topic``
   (0-9), ``question_title``, ``question_content`` (and ``best_answer``), as
   ``Dataset.to_json`` writes them;
3. ``{split}.csv``: the original release's rows ``class,title,content,answer``
   (``class`` 1-10; ``id`` is the row index), the files the Hub dataset is built from.

As in OpenPrompt, ``text_a`` is the question title, ``text_b`` the question
content (the best answer is not used), ``label`` the topic and ``guid`` the id;
the splits ``"dev"`` and ``"valid"`` read the training split.

Example:
    >>> from mrekv.openprompt.data_utils.huggingface_dataset import YahooAnswersTopicsProcessor
    >>> YahooAnswersTopicsProcessor().get_num_labels()
    10
    >>> processor = YahooAnswersTopicsProcessor()
    >>> train = processor.get_train_examples("yahoo_answers_topics/")  # doctest: +SKIP
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from mrekv.errors import ConfigError, CorpusFormatError, MissingDependencyError
from mrekv.openprompt.data_utils.data_processor import DataProcessor
from mrekv.openprompt.data_utils.text_classification_dataset import YAHOO_TOPICS
from mrekv.openprompt.data_utils.utils import InputExample

__all__ = ["PROCESSORS", "YahooAnswersTopicsProcessor"]

_COLUMNS = ("id", "topic", "question_title", "question_content")


class YahooAnswersTopicsProcessor(DataProcessor):
    """Yahoo! Answers topics (10 classes) from a local folder (forms in the module docstring).

    Example:
        >>> YahooAnswersTopicsProcessor().get_labels()[0]
        'Society & Culture'
    """

    layout = (
        "a DatasetDict.save_to_disk folder (dataset_dict.json), {split}.jsonl with the "
        "columns id, topic, question_title, question_content, or {split}.csv rows "
        "class,title,content,answer"
    )

    def __init__(self) -> None:
        super().__init__(labels=list(YAHOO_TOPICS))

    def get_examples(
        self, data_dir: str | Path | None = None, split: str | None = None
    ) -> list[InputExample]:
        """The examples of ``split`` (``"dev"`` / ``"valid"``: the training split) in ``data_dir``.

        Raises:
            FileNotFoundError: none of the three forms is in ``data_dir``.
            CorpusFormatError: a malformed record (the message names file and line).
            MissingDependencyError: a ``save_to_disk`` folder without ``datasets`` installed.
        """
        if data_dir is None:
            raise ConfigError("YahooAnswersTopicsProcessor.get_examples needs data_dir (a folder)")
        name = "train" if split in ("dev", "valid") else str(split)
        folder = Path(data_dir)
        if (folder / "dataset_dict.json").is_file():
            rows: Iterator[tuple[str, Mapping[str, Any]]] = _from_disk(folder, name)
        elif (folder / f"{name}.jsonl").is_file():
            rows = _json_lines(folder / f"{name}.jsonl")
        elif (folder / f"{name}.csv").is_file():
            rows = _csv_rows(folder / f"{name}.csv")
        else:
            raise FileNotFoundError(
                f"{folder}: no Yahoo! Answers split {name!r}; "
                f"YahooAnswersTopicsProcessor reads {self.layout}"
            )
        return [self._example(row, where) for where, row in rows]

    def transform(self, example: Mapping[str, Any]) -> InputExample:
        """One Hub-style record (``id``, ``topic``, ``question_title``, ...) as an example."""
        return self._example(example, "record")

    def _example(self, row: Mapping[str, Any], where: str) -> InputExample:
        missing = [c for c in _COLUMNS if c not in row]
        if missing:
            raise CorpusFormatError(f"{where}: missing field(s) {', '.join(missing)}")
        try:
            topic = int(row["topic"])
        except (TypeError, ValueError):
            raise CorpusFormatError(f"{where}: topic {row['topic']!r} is not an integer") from None
        if not 0 <= topic < len(YAHOO_TOPICS):
            raise CorpusFormatError(f"{where}: topic {topic} is not a class (expected 0..9)")
        return InputExample(
            guid=str(row["id"]),
            text_a=str(row["question_title"] or ""),
            text_b=str(row["question_content"] or ""),
            label=topic,
        )


def _from_disk(folder: Path, split: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    try:
        import datasets
    except ImportError:
        raise MissingDependencyError(
            f"{folder} is a datasets save_to_disk folder; reading it needs the datasets "
            "package: pip install datasets"
        ) from None
    loaded = datasets.load_from_disk(str(folder))
    if split not in loaded:
        raise ConfigError(
            f"{folder}: no split {split!r}; valid choices: {', '.join(map(repr, loaded))}"
        )
    for i, row in enumerate(loaded[split]):
        yield f"{folder} split {split!r}, row {i}", row


def _json_lines(path: Path) -> Iterator[tuple[str, Mapping[str, Any]]]:
    try:
        with path.open(encoding="utf-8") as f:
            for n, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                where = f"{path}, line {n}"
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as err:
                    raise CorpusFormatError(f"{where}: not JSON ({err.msg})") from None
                if not isinstance(row, dict):
                    raise CorpusFormatError(f"{where}: expected a JSON object")
                yield where, row
    except UnicodeDecodeError as err:
        raise CorpusFormatError(f"{path}: not UTF-8 text ({err})") from None


def _csv_rows(path: Path) -> Iterator[tuple[str, Mapping[str, Any]]]:
    try:
        with path.open(encoding="utf-8", newline="") as f:
            reader = csv.reader(f)
            for i, row in enumerate(reader):
                where = f"{path}, line {reader.line_num}"
                if len(row) != 4:
                    raise CorpusFormatError(
                        f"{where}: expected 4 fields (class, title, content, answer), "
                        f"got {len(row)}"
                    )
                try:
                    topic = int(row[0]) - 1
                except ValueError:
                    raise CorpusFormatError(
                        f"{where}: class {row[0]!r} is not an integer"
                    ) from None
                yield (
                    where,
                    {
                        "id": i,
                        "topic": topic,
                        "question_title": row[1],
                        "question_content": row[2],
                        "best_answer": row[3],
                    },
                )
    except UnicodeDecodeError as err:
        raise CorpusFormatError(f"{path}: not UTF-8 text ({err})") from None


#: Dataset name -> processor class, as OpenPrompt's ``PROCESSORS`` of this module.
PROCESSORS: dict[str, type[DataProcessor]] = {"yahoo_answers_topics": YahooAnswersTopicsProcessor}
