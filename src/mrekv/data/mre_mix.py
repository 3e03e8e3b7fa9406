"""Build MRE-mix (MMM-format) records from any labelled corpus.

The SCPOS sub-datasets of MMM pair each sentence's class with word-level items
taken from the sentence itself. :func:`build_mre_examples` rebuilds them for
any corpus with the language's word tokenizer (:mod:`mrekv.tokenizers`):

``SCPOS:Adj`` (task word ``Sentiment Adj``)
    the adjectives: tokens tagged ADJ.
``SCPOS:N`` (``Sentiment N``)
    the nouns: tokens tagged NOUN or PROPN.
``SCPOS:Adj & N`` (``Sentiment Adj and N``)
    both, in text order.
``SCPOS:RW`` (``Sentiment Relation Word``)
    the *relation words*: content words significantly associated with the
    sentence's class on a **knowledge split** given explicitly
    (``knowledge=``), never on the texts being labelled; the chi-square test
    that picks them is in :mod:`mrekv.data.relation_words`. A token of a
    sentence of class ``y`` is a relation word when its lemma is a relation
    word of ``y``; a sentence whose class the knowledge split lacks gets none.

The word-level label of every SCPOS item is the sentence's class, and its span
the token's surface as it appears in the text (``positive;delicious``), as in
the SCPOS data of the MRE papers. Repeated words of a sentence are kept once,
at their first occurrence; items stay in text order.

Corpora with gold word labels (aspect terms, TNEWS keywords, named entities)
keep them when ``gold_word_labels`` is given: they are used as they are,
without tokenizing. The NER families (``SCNM``, ``TCONER``) need them, as
there is no entity tagger here; ``TCREE`` (relation triples) is not built.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from mrekv.data.example import LANGS, Family, MREExample
from mrekv.data.relation_words import RELATION_UPOS as RELATION_UPOS
from mrekv.data.relation_words import RelationWords as RelationWords
from mrekv.data.relation_words import check_lengths, has_letters, word_tokenizer
from mrekv.data.relation_words import chi_square_2x2 as chi_square_2x2
from mrekv.data.relation_words import chi_square_critical as chi_square_critical
from mrekv.data.relation_words import mine_relation_words as mine_relation_words
from mrekv.errors import ConfigError, unknown_choice

if TYPE_CHECKING:
    from mrekv.tokenizers.base import Token, WordTokenizer

#: UPOS tags of the items of each POS-based family.
FAMILY_UPOS: Mapping[Family, frozenset[str]] = MappingProxyType({
    Family.SCPOS_ADJ: frozenset({"ADJ"}),
    Family.SCPOS_N: frozenset({"NOUN", "PROPN"}),
    Family.SCPOS_ADJ_N: frozenset({"ADJ", "NOUN", "PROPN"}),
})
#: Families whose items are gold labels only.
GOLD_ONLY = frozenset({Family.SCNM, Family.TCONER})

WordLabels = tuple[tuple[str, str], ...]


def _dedupe(pairs: Iterable[tuple[str, str]], *, by_span: bool) -> WordLabels:
    seen: set[object] = set()
    out = []
    for pair in pairs:
        key = pair[1] if by_span else pair
        if key not in seen:
            seen.add(key)
            out.append((pair[0], pair[1]))
    return tuple(out)


def build_mre_examples(
    texts: Sequence[str],
    labels: Sequence[str],
    lang: str,
    family: Family | str,
    *,
    tokenizer: WordTokenizer | None = None,
    gold_word_labels: Sequence[Iterable[tuple[str, str]]] | None = None,
    knowledge: RelationWords | tuple[Sequence[str], Sequence[str]] | None = None,
    min_count: int = 3,
    p_value: float = 0.05,
    stopwords: Collection[str] | None = None,
    show_progress: bool = False,
) -> list[MREExample]:
    """Turn labelled texts into MMM records of ``family`` (see the module docstring).

    Args:
        texts: the sentences.
        labels: the class of each sentence.
        lang: ``"en"``, ``"ja"`` or ``"zh"``.
        family: a :class:`~mrekv.data.example.Family` or its string (``"SCPOS:Adj & N"``).
        tokenizer: the word tokenizer (default: ``get_tokenizer(lang)``).
        gold_word_labels: gold ``(label, span)`` pairs per text; when given they are the
            items (duplicates dropped), whatever the family.
        knowledge: for ``SCPOS:RW``: the knowledge split as ``(texts, labels)``, or relation
            words already mined from it with :func:`mine_relation_words`.
        min_count: relation words: minimum number of knowledge texts.
        p_value: relation words: significance level.
        stopwords: surfaces or lemmas never taken as items (default: the language's
            stopwords from :func:`mrekv.verbalizer.stopwords.get_stopwords`; ``()`` for none).
        show_progress: show a progress bar while tokenizing.

    Returns:
        One :class:`~mrekv.data.example.MREExample` per text, in order.

    Raises:
        ConfigError: unknown language or family, lengths differ, ``SCPOS:RW`` without
            ``knowledge``, a NER family without ``gold_word_labels``, or ``TCREE``.

    Example:
        >>> ex = build_mre_examples(["The soup was delicious."], ["positive"], "en",
        ...                         "SCPOS:Adj")
        >>> ex[0].word_labels
        (('positive', 'delicious'),)
    """
    if lang not in LANGS:
        raise ConfigError(unknown_choice("language", lang, LANGS))
    fam = _parse_family(family)
    check_lengths(texts, labels, "input")
    task = fam.task_word
    if gold_word_labels is not None:
        if len(gold_word_labels) != len(texts):
            raise ConfigError(
                f"gold_word_labels has {len(gold_word_labels)} entries for {len(texts)} texts"
            )
        return [
            MREExample(text, label, task, _dedupe(gold, by_span=False), lang=lang)
            for text, label, gold in zip(texts, labels, gold_word_labels, strict=True)
        ]
    if fam in GOLD_ONLY:
        raise ConfigError(f"family {fam.value!r} (named entities) needs gold_word_labels")
    if fam is Family.TCREE:
        raise ConfigError("family 'TCREE' (relation triples) cannot be built from POS tags")
    tok = word_tokenizer(lang, tokenizer)
    relation_words: RelationWords | None = None
    if fam is Family.SCPOS_RW:
        if knowledge is None:
            raise ConfigError(
                "family 'SCPOS:RW' needs knowledge=(texts, labels) of a knowledge split "
                "disjoint from the data being labelled (or mined RelationWords)"
            )
        if isinstance(knowledge, RelationWords):
            relation_words = knowledge
        else:
            k_texts, k_labels = knowledge
            relation_words = mine_relation_words(
                k_texts, k_labels, lang, tokenizer=tok, min_count=min_count, p_value=p_value
            )
    tokens = _tokenize(tok, texts, show_progress)
    if stopwords is None:
        from mrekv.verbalizer.stopwords import get_stopwords

        stopwords = get_stopwords(lang)
    stop = frozenset(stopwords)
    upos = FAMILY_UPOS.get(fam, RELATION_UPOS)
    out = []
    for text, label, words in zip(texts, labels, tokens, strict=True):
        chosen = relation_words.of(label) if relation_words is not None else None
        pairs = (
            (label, t.surface)
            for t in words
            if t.upos in upos
            and has_letters(t.surface)
            and t.surface not in stop
            and t.lemma not in stop
            and (chosen is None or t.lemma in chosen)
        )
        out.append(MREExample(text, label, task, _dedupe(pairs, by_span=True), lang=lang))
    return out


def _tokenize(tok: WordTokenizer, texts: Sequence[str], show_progress: bool) -> list[list[Token]]:
    if not show_progress:
        return tok.tokenize_batch(texts)
    from tqdm.auto import tqdm

    out: list[list[Token]] = []
    step = 256
    with tqdm(total=len(texts), desc="tokenizing", unit="text") as bar:
        for start in range(0, len(texts), step):
            out += tok.tokenize_batch(texts[start : start + step])
            bar.update(min(step, len(texts) - start))
    return out


def read_labelled_tsv(path: str | Path) -> tuple[list[str], list[str]]:
    """Read ``label<TAB>text`` lines (see :func:`mrekv.data.labelled.read_label_file`).

    Blank lines and a header row are skipped, quoted fields lose their quotes, labels
    are normalised; the text may itself contain tabs.

    Raises:
        CorpusFormatError: a line has no tab or an empty label (file and line are named).
    """
    from mrekv.data.labelled import read_label_file

    return read_label_file(path, tabs_in_text=True)


def build_mre_file(
    out: str | Path,
    family: Family | str,
    *,
    corpus: str | None = None,
    input_path: str | Path | None = None,
    lang: str | None = None,
    split: str | None = None,
    knowledge_split: str | None = None,
    knowledge_path: str | Path | None = None,
    use_gold: bool | None = None,
    min_count: int = 3,
    p_value: float = 0.05,
    format: str = "jsonl",
    root: str | Path | None = None,
    show_progress: bool = False,
) -> int:
    """Build MMM records of ``family`` from a registered corpus or a TSV file and write them.

    The function behind ``mrekv build-mre``.

    Args:
        out: the MMM file to write (JSON Lines, or a JSON array with ``format="json"``).
        family: the family to build (``"SCPOS:Adj & N"``, ``"SCPOS:RW"``, ...).
        corpus: a corpus name of :func:`mrekv.data.corpora.load_corpus` (or give ``input_path``).
        input_path: a ``label<TAB>text`` file (see :func:`read_labelled_tsv`); needs ``lang``.
        lang: the language; for a corpus, defaults to (and must equal) the corpus's.
        split: the corpus split to label (default: every record).
        knowledge_split: ``SCPOS:RW``: the corpus split the relation words are mined from;
            it must not share a record with ``split``.
        knowledge_path: ``SCPOS:RW``: a ``label<TAB>text`` knowledge file instead.
        use_gold: keep the corpus's gold word labels. ``None``: when the corpus has them
            and its family is ``family``.
        min_count: relation words: minimum number of knowledge texts.
        p_value: relation words: significance level.
        format: ``"jsonl"`` or ``"json"``.
        root: the corpora root (default: see :func:`mrekv.data.paths.datasets_root`).
        show_progress: show a progress bar while tokenizing.

    Returns:
        The number of records written.

    Raises:
        ConfigError: not exactly one of ``corpus`` / ``input_path``, a language mismatch,
            overlapping knowledge and labelled records, or the conditions of
            :func:`build_mre_examples`.
        CorpusFormatError: a malformed TSV line (file and line named).

    Example:
        >>> build_mre_file("out.jsonl", "SCPOS:Adj", corpus="sst2", split="train")  # doctest: +SKIP
        6920
    """
    from mrekv.data.mmm import write_mmm

    if (corpus is None) == (input_path is None):
        raise ConfigError("give exactly one of corpus (a corpus name) and input_path (a TSV file)")
    fam = _parse_family(family)
    gold: Sequence[WordLabels] | None = None
    knowledge: tuple[Sequence[str], Sequence[str]] | None = None
    if corpus is not None:
        from mrekv.data.corpora import load_corpus

        data = load_corpus(corpus, root)
        if lang is not None and lang != data.lang:
            raise ConfigError(f"corpus {corpus!r} is {data.lang!r}, not {lang!r}")
        lang = data.lang
        labelled = range(len(data)) if split is None else data.split_indices(split)
        if knowledge_split is not None:
            shared = set(labelled) & set(data.split_indices(knowledge_split))
            if shared:
                raise ConfigError(
                    f"corpus {corpus!r}: knowledge split {knowledge_split!r} shares "
                    f"{len(shared)} records with {split or 'the whole corpus'!r}; "
                    "relation words must come from records that are not labelled"
                )
            k = data.split(knowledge_split)
            knowledge = (k.texts, k.labels)
        subset = data.subset(labelled)
        texts, labels = list(subset.texts), list(subset.labels)
        if use_gold is None:
            use_gold = subset.word_labels is not None and subset.family is fam
        if use_gold:
            if subset.word_labels is None:
                raise ConfigError(f"corpus {corpus!r} has no gold word labels")
            gold = subset.word_labels
    else:
        if lang is None:
            raise ConfigError("input_path needs lang ('en', 'ja' or 'zh')")
        if split is not None or knowledge_split is not None or use_gold:
            raise ConfigError("split, knowledge_split and use_gold apply to a corpus only")
        texts, labels = read_labelled_tsv(input_path)  # type: ignore[arg-type]
    if knowledge_path is not None:
        if knowledge is not None:
            raise ConfigError("give knowledge_split or knowledge_path, not both")
        knowledge = read_labelled_tsv(knowledge_path)
    examples = build_mre_examples(
        texts, labels, lang, fam, gold_word_labels=gold, knowledge=knowledge,
        min_count=min_count, p_value=p_value, show_progress=show_progress,
    )
    return write_mmm(out, examples, format=format)  # type: ignore[arg-type]


def _parse_family(value: Family | str) -> Family:
    try:
        return Family.parse(value)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
