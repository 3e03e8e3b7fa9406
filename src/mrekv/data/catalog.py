"""The catalog of the 21 MMM sub-datasets and ``load_mmm``.

MMM (Multilingual Mutual-Reinforcement-Effect Mix) has {en, ja, zh} x {SCNM,
SCPOS:RW, SCPOS:Adj & N, SCPOS:Adj, SCPOS:N, TCREE, TCONER}. The train files are
in the Hugging Face dataset repo ``ganchengguang/MMM-dataset-Trainset``, the test
files in ``ganchengguang/MMM-datasets-Testset`` (licence CC-BY-NC-4.0).

File names: the catalog records ``<lang>_<family slug>_<split>.json``, e.g.
``en_scpos-adj-n_train.json`` (slugs: ``scnm``, ``scpos-rw``, ``scpos-adj-n``,
``scpos-adj``, ``scpos-n``, ``tcree``, ``tconer``). These names follow mrekv's
own pattern: they could not be checked against the Hub from the machines mrekv
is built on. Where the Hub (or your local copy) names a file differently, pass
``load_mmm(..., filename="...")`` or point ``path=`` at the file itself.
"""

from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

from mrekv.data.example import LANGS, Family, MREExample, TaskWord
from mrekv.data.mmm import OnError, read_mmm
from mrekv.errors import ConfigError, MrekvError, unknown_choice

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
#: Seconds to wait for the Hub before giving up (connection probe and etag request).
HUB_TIMEOUT = 5.0
#: The CLI flag that supplies a local copy (named in error messages).
CLI_DATA_FLAG = "--data-dir"

_SLUGS = {
    Family.SCNM: "scnm",
    Family.SCPOS_RW: "scpos-rw",
    Family.SCPOS_ADJ_N: "scpos-adj-n",
    Family.SCPOS_ADJ: "scpos-adj",
    Family.SCPOS_N: "scpos-n",
    Family.TCREE: "tcree",
    Family.TCONER: "tconer",
}


class DatasetUnavailableError(MrekvError, FileNotFoundError):
    """A dataset file cannot be had: the Hub is unreachable or offline, or a local copy is missing.

    The message says how to supply a local copy.
    """


@dataclass(frozen=True)
class MMMDataset:
    """One MMM sub-dataset.

    Args:
        name: e.g. ``"en-SCPOS:Adj & N"``.
        alias: the same without special characters, e.g. ``"en-scpos-adj-n"``.
        lang: ``"en"``, ``"ja"`` or ``"zh"``.
        family: the family.
        train_file, test_file: the file names as recorded (see the module doc).
    """

    name: str
    alias: str
    lang: str
    family: Family
    train_file: str
    test_file: str

    @property
    def task_word(self) -> TaskWord:
        """The task word the records of this dataset carry."""
        return self.family.task_word

    def filename(self, split: Split) -> str:
        """The recorded file name of ``split``."""
        return self.train_file if _check_split(split) == "train" else self.test_file

    def repo_id(self, split: Split) -> str:
        """The Hugging Face dataset repo holding ``split``."""
        return MMM_REPOS[_check_split(split)]


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
                    train_file=f"{lang}_{slug}_train.json",
                    test_file=f"{lang}_{slug}_test.json",
                )
            )
    return tuple(out)


#: The 21 sub-datasets, language-major, families in ``Family`` order.
MMM_DATASETS: tuple[MMMDataset, ...] = _build()


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
            Hub is never contacted.
        filename: the file name to use instead of the recorded one.
        revision: Hub revision (branch, tag or commit); Hub only.
        on_error: ``"raise"`` or ``"skip"`` malformed records (see ``read_mmm``).

    Returns:
        The examples, with ``lang`` set from the catalog.

    Raises:
        ConfigError: unknown name, split or on_error.
        DatasetUnavailableError: the local file is missing, or the Hub cannot be
            reached (``HF_HUB_OFFLINE`` set, no network) and the file is not in the
            Hugging Face cache. Fails within a few seconds, never retrying.
        MMMFormatError: a malformed record (``on_error="raise"``).

    Example:
        >>> load_mmm("en-scpos-adj-n", "test", path="data/mmm/")  # doctest: +SKIP
    """
    entry = get_mmm_dataset(name)
    split = _check_split(split)
    file_name = filename or entry.filename(split)
    if path is not None:
        local = Path(path)
        if local.is_dir():
            local = local / file_name
        if not local.is_file():
            raise DatasetUnavailableError(
                f"{local} does not exist: expected the {split} file of {entry.name} "
                f"({file_name!r} from https://huggingface.co/datasets/{entry.repo_id(split)}); "
                "pass filename= if your copy is named differently"
            )
    else:
        local = _hub_file(entry, split, file_name, revision)
    return read_mmm(local, lang=entry.lang, on_error=on_error).read()


def _offline() -> bool:
    from huggingface_hub import constants

    flag = os.environ.get("HF_HUB_OFFLINE", "").upper() in {"1", "ON", "YES", "TRUE"}
    return flag or bool(constants.HF_HUB_OFFLINE)


def _hub_reachable(endpoint: str) -> bool:
    """A TCP connection to the Hub endpoint within ``HUB_TIMEOUT`` (skipped behind a proxy)."""
    if any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return True  # let huggingface_hub go through the proxy
    url = urlparse(endpoint)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname or "", port), timeout=HUB_TIMEOUT):
            return True
    except OSError:
        return False


def _hub_file(entry: MMMDataset, split: Split, file_name: str, revision: str | None) -> Path:
    """Download (or find in the Hugging Face cache) one file; fail fast when offline."""
    from huggingface_hub import constants, hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError, LocalEntryNotFoundError

    repo = entry.repo_id(split)
    remedy = (
        f"download {file_name!r} from https://huggingface.co/datasets/{repo} ({MMM_LICENSE}) "
        f"on a machine that reaches the Hub and pass path=<folder or file> to load_mmm "
        f"(CLI: {CLI_DATA_FLAG} DIR)"
    )
    offline = _offline()
    reachable = not offline and _hub_reachable(constants.ENDPOINT)
    try:
        downloaded = hf_hub_download(
            repo,
            file_name,
            repo_type="dataset",
            revision=revision,
            etag_timeout=HUB_TIMEOUT,
            local_files_only=not reachable,
        )
    except LocalEntryNotFoundError:
        why = "HF_HUB_OFFLINE is set" if offline else f"{constants.ENDPOINT} cannot be reached"
        raise DatasetUnavailableError(
            f"{entry.name} ({split}): {why} and {file_name!r} is not in the Hugging Face "
            f"cache; {remedy}"
        ) from None
    except EntryNotFoundError:
        raise DatasetUnavailableError(
            f"{entry.name} ({split}): {repo} has no file {file_name!r} (the recorded name "
            f"may differ from the Hub's: pass filename=); or {remedy}"
        ) from None
    except (HfHubHTTPError, OSError) as err:  # requests' errors are OSErrors
        raise DatasetUnavailableError(
            f"{entry.name} ({split}): the Hub failed ({type(err).__name__}: {err}); {remedy}"
        ) from None
    return Path(str(downloaded))
