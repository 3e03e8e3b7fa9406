"""The catalog of the 21 MMM sub-datasets and ``load_mmm``.

MMM (Multilingual Mutual-Reinforcement-Effect Mix) has {en, ja, zh} x {SCNM,
SCPOS:RW, SCPOS:Adj & N, SCPOS:Adj, SCPOS:N, TCREE, TCONER}. The train files are
in the Hugging Face dataset repo ``ganchengguang/MMM-dataset-Trainset``, the test
files in ``ganchengguang/MMM-datasets-Testset`` (licence CC-BY-NC-4.0).

File names: the repos name their files
``{Train|test}_{En|Ch|Cn|Ja}_{n}_{family}_<suffix>.json`` where ``n`` and ``family``
are ``0_SCNM``, ``1_SCPOS_RW``, ``2_SCPOS`` (Adj & N), ``3_SCPOS`` (N), ``4_SCPOS``
(Adj), ``5_TCREE``, and TCONER is ``..._MRE_OIEDataset.json`` (Chinese is ``Ch`` or
``Cn``), e.g. ``Train_En_2_SCPOS_1W_adj_n_clear2.json``. The catalog records the
names known to be on the Hub (28 of the 42). The others (``None`` in
:attr:`MMMDataset.train_file` / ``test_file``), or a recorded name a folder lacks,
are found by :meth:`MMMDataset.file_patterns` in the repo's file listing (or, offline,
the files of the repo in the Hugging Face cache) or in the local folder;
:meth:`MMMDataset.find_file` says which files matched when not exactly one did.
``load_mmm(..., filename="...")`` or ``path=<the file>`` overrides all of this.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Literal

from mrekv.data.example import LANGS, Family, MREExample, TaskWord
from mrekv.data.hub import DatasetUnavailableError, HubAccess
from mrekv.data.mmm import OnError, read_mmm
from mrekv.errors import ConfigError, unknown_choice

__all__ = [
    "MMM_DATASETS",
    "MMM_LICENSE",
    "MMM_REPOS",
    "DatasetUnavailableError",
    "MMMDataset",
    "get_mmm_dataset",
    "load_mmm",
]

Split = Literal["train", "test"]
SPLITS: tuple[Split, ...] = ("train", "test")
#: The Hugging Face dataset repos holding each split.
MMM_REPOS: dict[str, str] = {
    "train": "ganchengguang/MMM-dataset-Trainset",
    "test": "ganchengguang/MMM-datasets-Testset",
}
MMM_LICENSE = "CC-BY-NC-4.0"

#: The file names known to be on the Hub, by alias.
_TRAIN_FILES = {
    "en-scnm": "Train_En_0_SCNM_dataset.json",
    "en-scpos-rw": "Train_En_1_SCPOS_RW_dataset.json",
    "en-scpos-adj-n": "Train_En_2_SCPOS_1W_adj_n_clear2.json",
    "en-scpos-n": "Train_En_3_SCPOS_1W_n_clear2.json",
    "en-scpos-adj": "Train_En_4_SCPOS_1W_adj_clear2.json",
    "en-tcree": "Train_En_5_TCREE_2k_clear2.json",
    "ja-scnm": "Train_Ja_0_SCNM_5343.json",
    "ja-scpos-adj-n": "Train_Ja_2_SCPOS_18W_adj_n.json",
    "zh-scnm": "Train_Ch_0_SCNM_dataset.json",
    "zh-scpos-rw": "Train_Ch_1_SCPOS_RW_clear2.json",
    "zh-scpos-adj-n": "Train_Ch_2_SCPOS_1W_adj_n_clear2.json",
    "zh-scpos-n": "Train_Ch_3_SCPOS_1W_n_clear2.json",
    "zh-scpos-adj": "Train_Ch_4_SCPOS_1W_adj_clear2.json",
    "zh-tcree": "Train_Ch_5_TCREE_2k_clear2.json",
    "zh-tconer": "Train_Ch_MRE_OIEDataset.json",
}
_TEST_FILES = {
    "en-scnm": "test_En_0_SCNM_dataset.json",
    "en-scpos-rw": "test_En_1_SCPOS_RW_dataset.json",
    "en-scpos-adj-n": "test_En_2_SCPOS_1W_adj_n_clear2.json",
    "en-scpos-n": "test_En_3_SCPOS_1W_n_clear2.json",
    "en-scpos-adj": "test_En_4_SCPOS_1W_adj_clear2.json",
    "ja-tcree": "test_Ja_5_TCREE_2k.json",
    "zh-scnm": "test_Ch_0_SCNM_dataset.json",
    "zh-scpos-rw": "test_Ch_1_SCPOS_RW_clear2.json",
    "zh-scpos-adj-n": "test_Ch_2_SCPOS_1W_adj_n_clear2.json",
    "zh-scpos-n": "test_Ch_3_SCPOS_1W_n_clear2.json",
    "zh-scpos-adj": "test_Ch_4_SCPOS_1W_adj_clear2.json",
    "zh-tcree": "test_Ch_5_TCREE_2k_clear2.json",
    "zh-tconer": "test_Cn_MRE_OIEDataset.json",
}
#: How file names spell the split, the language and the family.
_SPLIT_WORDS = {"train": "Train", "test": "test"}
_LANG_WORDS = {"en": ("En",), "ja": ("Ja",), "zh": ("Ch", "Cn")}
_FAMILY_WORDS = {
    Family.SCNM: ("0_SCNM",),
    Family.SCPOS_RW: ("1_SCPOS_RW",),
    Family.SCPOS_ADJ_N: ("2_SCPOS",),
    Family.SCPOS_N: ("3_SCPOS",),
    Family.SCPOS_ADJ: ("4_SCPOS",),
    Family.TCREE: ("5_TCREE",),
    Family.TCONER: ("MRE_OIE", "*TCONER"),
}
#: How many file names an error message lists at most.
_LISTED = 30

_SLUGS = {
    Family.SCNM: "scnm",
    Family.SCPOS_RW: "scpos-rw",
    Family.SCPOS_ADJ_N: "scpos-adj-n",
    Family.SCPOS_ADJ: "scpos-adj",
    Family.SCPOS_N: "scpos-n",
    Family.TCREE: "tcree",
    Family.TCONER: "tconer",
}


@dataclass(frozen=True)
class MMMDataset:
    """One MMM sub-dataset.

    Args:
        name: e.g. ``"en-SCPOS:Adj & N"``.
        alias: the same without special characters, e.g. ``"en-scpos-adj-n"``.
        lang: ``"en"``, ``"ja"`` or ``"zh"``.
        family: the family.
        train_file, test_file: the file names known to be on the Hub, or None where
            the name is not known (the file is then found by :meth:`file_patterns`).
    """

    name: str
    alias: str
    lang: str
    family: Family
    train_file: str | None
    test_file: str | None

    @property
    def task_word(self) -> TaskWord:
        """The task word the records of this dataset carry."""
        return self.family.task_word

    def filename(self, split: Split) -> str | None:
        """The recorded file name of ``split``, or None when it is not known."""
        return self.train_file if _check_split(split) == "train" else self.test_file

    def repo_id(self, split: Split) -> str:
        """The Hugging Face dataset repo holding ``split``."""
        return MMM_REPOS[_check_split(split)]

    def file_patterns(self, split: Split) -> tuple[str, ...]:
        """The glob patterns (matched ignoring case) the file of ``split`` is named by.

        Example:
            >>> get_mmm_dataset("ja-scpos-n").file_patterns("test")
            ('test_Ja_3_SCPOS*.json',)
        """
        start = f"{_SPLIT_WORDS[_check_split(split)]}_"
        return tuple(
            f"{start}{lang}_{family}*.json"
            for lang in _LANG_WORDS[self.lang]
            for family in _FAMILY_WORDS[self.family]
        )

    def find_file(self, split: Split, files: Iterable[str], *, source: str = "the listing") -> str:
        """Pick the file of ``split`` among ``files`` (a repo's listing or a folder's names).

        The recorded name wins where present; otherwise the one file whose name
        (after the last ``/``) matches :meth:`file_patterns`.

        Args:
            split: ``"train"`` or ``"test"``.
            files: file names or repo paths.
            source: where ``files`` come from, for the error message.

        Returns:
            The chosen entry of ``files``.

        Raises:
            DatasetUnavailableError: none or several files match; the message lists
                them (or, when none matches, the JSON files there).

        Example:
            >>> get_mmm_dataset("en-tconer").find_file("train", ["Train_En_MRE_OIE.json"])
            'Train_En_MRE_OIE.json'
        """
        files = list(files)
        recorded = self.filename(split)
        if recorded is not None:
            for file in files:
                if _basename(file) == recorded:
                    return file
        patterns = self.file_patterns(split)
        matches = sorted(
            f for f in files if any(fnmatchcase(_basename(f).lower(), p.lower()) for p in patterns)
        )
        if len(matches) == 1:
            return matches[0]
        wanted = " or ".join(([repr(recorded)] if recorded else []) + list(patterns))
        what = f"{self.name} ({split})"
        if matches:
            raise DatasetUnavailableError(
                f"{what}: {len(matches)} files in {source} match {wanted} (ignoring case): "
                f"{_listing(matches)}; pass filename= to choose one"
            )
        found = sorted(f for f in files if f.lower().endswith((".json", ".jsonl")))
        raise DatasetUnavailableError(
            f"{what}: no file in {source} matches {wanted} (ignoring case); its JSON files: "
            f"{_listing(found) if found else 'none'}; pass filename= if your copy is named "
            "differently"
        )


def _basename(file: str) -> str:
    return file.rsplit("/", 1)[-1]


def _listing(names: list[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:_LISTED])
    return shown + (f" and {len(names) - _LISTED} more" if len(names) > _LISTED else "")


def _check_split(split: str) -> Split:
    if split not in SPLITS:
        raise ConfigError(unknown_choice("split", split, SPLITS))
    return split  # type: ignore[return-value]


def _build() -> tuple[MMMDataset, ...]:
    out = []
    for lang in LANGS:
        for family in Family:
            slug = _SLUGS[family]
            out.append(
                MMMDataset(
                    name=f"{lang}-{family.value}",
                    alias=f"{lang}-{slug}",
                    lang=lang,
                    family=family,
                    train_file=_TRAIN_FILES.get(f"{lang}-{slug}"),
                    test_file=_TEST_FILES.get(f"{lang}-{slug}"),
                )
            )
    return tuple(out)


#: The 21 sub-datasets, language-major, families in ``Family`` order.
MMM_DATASETS: tuple[MMMDataset, ...] = _build()
"""The 21 MMM sub-datasets ({en, ja, zh} x 7 families), language-major, families in
``Family`` order."""


def _key(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.lower().replace("&", "and"))


_BY_KEY = {_key(k): d for d in MMM_DATASETS for k in (d.name, d.alias)}


def get_mmm_dataset(name: str | MMMDataset) -> MMMDataset:
    """Return the catalog entry for ``name`` or its alias (any case, ``&``/``and`` alike).

    Raises:
        ConfigError: unknown name; the message lists the valid ones.

    Example:
        >>> get_mmm_dataset("EN-scpos-adj-n").name
        'en-SCPOS:Adj & N'
    """
    if isinstance(name, MMMDataset):
        return name
    found = _BY_KEY.get(_key(name)) if isinstance(name, str) else None
    if found is None:
        raise ConfigError(
            unknown_choice("MMM dataset", name, [d.name for d in MMM_DATASETS])
            + f" (or their aliases, e.g. {MMM_DATASETS[2].alias!r})"
        )
    return found


def load_mmm(
    name: str | MMMDataset,
    split: Split = "train",
    path: str | Path | None = None,
    *,
    filename: str | None = None,
    revision: str | None = None,
    on_error: OnError = "raise",
) -> list[MREExample]:
    """Load one split of an MMM sub-dataset, from a local copy or the Hugging Face Hub.

    Args:
        name: catalog name or alias, e.g. ``"ja-SCNM"`` or ``"ja-scnm"``.
        split: ``"train"`` or ``"test"``.
        path: a local folder holding the file, or the file itself; when given the
            Hub is never contacted. In a folder the file is the recorded name, or
            else the one file matching :meth:`MMMDataset.file_patterns`.
        filename: the file name to use instead of the recorded or matched one.
        revision: Hub revision (branch, tag or commit); Hub only.
        on_error: ``"raise"`` or ``"skip"`` malformed records (see ``read_mmm``).

    Returns:
        The examples, with ``lang`` set from the catalog.

    Raises:
        ConfigError: unknown name, split or on_error.
        DatasetUnavailableError: the local file is missing, none or several files
            match the patterns (the message lists them), or the Hub cannot be
            reached (``HF_HUB_OFFLINE`` set, no network) and the file is not in the
            Hugging Face cache. Fails within a few seconds, never retrying.
        MMMFormatError: a malformed record (``on_error="raise"``).

    Example:
        >>> load_mmm("en-scpos-adj-n", "test", path="data/mmm/")  # doctest: +SKIP
    """
    entry = get_mmm_dataset(name)
    split = _check_split(split)
    if path is not None:
        local = _local_file(entry, split, Path(path), filename)
    else:
        local = _hub_file(entry, split, filename, revision)
    return read_mmm(local, lang=entry.lang, on_error=on_error).read()


def _local_file(entry: MMMDataset, split: Split, path: Path, filename: str | None) -> Path:
    """``path`` itself, ``path / filename``, or the file of ``split`` found in folder ``path``."""
    if path.is_dir():
        if filename is None:
            names = sorted(p.name for p in path.iterdir() if p.is_file())
            return path / entry.find_file(split, names, source=str(path))
        path = path / filename
    if path.is_file():
        return path
    wanted = filename or entry.filename(split) or " or ".join(entry.file_patterns(split))
    raise DatasetUnavailableError(
        f"{path} does not exist: expected the {split} file of {entry.name} ({wanted} "
        f"from https://huggingface.co/datasets/{entry.repo_id(split)}) or a folder holding "
        "it; pass filename= if your copy is named differently"
    )


def _hub_file(entry: MMMDataset, split: Split, filename: str | None, revision: str | None) -> Path:
    """Download (or find in the Hugging Face cache) one file; fail fast when offline.

    A file whose name is not recorded is looked for in the repo's listing (offline:
    among the repo's files in the Hugging Face cache).
    """
    hub = HubAccess.check(licence=MMM_LICENSE)
    repo = entry.repo_id(split)
    what = f"{entry.name} ({split})"
    file_name = filename or entry.filename(split)
    if file_name is None:
        patterns = " or ".join(entry.file_patterns(split))
        files, source = hub.list_files(
            repo,
            revision=revision,
            what=f"{entry.name} ({split}; its file name is not recorded)",
            wanted=f"the file matching {patterns}",
        )
        file_name = entry.find_file(split, files, source=source)
    return hub.download(repo, file_name, revision=revision, what=what)
