"""Files of Hugging Face dataset repos, failing fast offline: download, list, find in the cache.

``huggingface_hub`` on its own retries an unreachable Hub for about a minute. Here a
TCP probe of the endpoint (``HUB_TIMEOUT`` seconds) first decides whether to go
online or to use the Hugging Face cache only, and every failure is a
:class:`DatasetUnavailableError` that says how to supply a local copy.

Example:
    >>> hub = HubAccess.check()  # doctest: +SKIP
    >>> files, source = hub.list_files("ganchengguang/MMM-datasets-Testset", revision=None,
    ...                                what="MMM test", wanted="the test files")  # doctest: +SKIP
"""

from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from mrekv.errors import MrekvError

__all__ = ["CLI_DATA_FLAG", "HUB_TIMEOUT", "DatasetUnavailableError", "HubAccess",
           "network_errors"]

#: Seconds to wait for the Hub before giving up (connection probe and etag request).
HUB_TIMEOUT = 5.0
#: The CLI flag that supplies a local copy (named in error messages).
CLI_DATA_FLAG = "--data-dir"


class DatasetUnavailableError(MrekvError, FileNotFoundError):
    """A dataset file cannot be had: the Hub is unreachable or offline, or a local copy is missing.

    The message says how to supply a local copy.
    """


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
    answered: list[bool] = []

    def connect() -> None:
        try:
            with socket.create_connection((url.hostname or "", port), timeout=HUB_TIMEOUT):
                answered.append(True)
        except OSError:
            pass

    # the name lookup ignores the socket timeout, so the whole probe runs in a thread
    probe = threading.Thread(target=connect, daemon=True)
    probe.start()
    probe.join(HUB_TIMEOUT)
    return bool(answered)


@dataclass(frozen=True)
class HubAccess:
    """How the Hub can be used now: online, or through the Hugging Face cache only.

    Attributes:
        reachable: ``HF_HUB_OFFLINE`` is not set and the endpoint answered.
        why: why it is not reachable, for messages.
        licence: the data's licence, named where a message says what to download.
    """

    reachable: bool
    why: str
    licence: str | None = None

    @classmethod
    def check(cls, *, licence: str | None = None) -> HubAccess:
        """Probe the Hub once (at most ``HUB_TIMEOUT`` seconds)."""
        from huggingface_hub import constants

        offline = _offline()
        reachable = not offline and _hub_reachable(constants.ENDPOINT)
        why = "HF_HUB_OFFLINE is set" if offline else f"{constants.ENDPOINT} cannot be reached"
        return cls(reachable=reachable, why=why, licence=licence)

    def remedy(self, repo: str, wanted: str) -> str:
        """What to do instead: download ``wanted`` elsewhere and pass a local path."""
        licence = f" ({self.licence})" if self.licence else ""
        return (
            f"download {wanted} from https://huggingface.co/datasets/{repo}{licence} "
            f"on a machine that reaches the Hub and pass path=<folder or file> instead "
            f"(CLI: {CLI_DATA_FLAG} DIR)"
        )

    def download(self, repo: str, file_name: str, *, revision: str | None, what: str) -> Path:
        """The local path of one file: downloaded, or (not reachable) from the cache.

        Args:
            repo: the dataset repo id.
            file_name: the file's path in the repo.
            revision: branch, tag or commit (None: the default branch).
            what: what the file is, to start error messages with.

        Raises:
            DatasetUnavailableError: not reachable and not cached, no such file, or
                the Hub failed; the message says how to supply a local copy.
        """
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import (
            EntryNotFoundError,
            HfHubHTTPError,
            LocalEntryNotFoundError,
        )

        remedy = self.remedy(repo, repr(file_name))
        failed: tuple[type[BaseException], ...] = (HfHubHTTPError, OSError, *network_errors())
        try:
            downloaded = hf_hub_download(
                repo,
                file_name,
                repo_type="dataset",
                revision=revision,
                etag_timeout=HUB_TIMEOUT,
                local_files_only=not self.reachable,
            )
        except LocalEntryNotFoundError:
            raise DatasetUnavailableError(
                f"{what}: {self.why} and {file_name!r} is not in the Hugging Face cache; {remedy}"
            ) from None
        except EntryNotFoundError:
            raise DatasetUnavailableError(
                f"{what}: {repo} has no file {file_name!r} (the recorded name may differ from "
                f"the Hub's: pass filename=); or {remedy}"
            ) from None
        except failed as err:
            raise DatasetUnavailableError(
                f"{what}: the Hub failed ({type(err).__name__}: {err}); {remedy}"
            ) from None
        return Path(str(downloaded))

    def list_files(
        self, repo: str, *, revision: str | None, what: str, wanted: str
    ) -> tuple[list[str], str]:
        """The files of ``repo`` and where the list came from: the Hub, or else the cache.

        Args:
            repo: the dataset repo id.
            revision: branch, tag or commit (None: the Hub's default branch; in the
                cache, every cached revision).
            what: what is looked for, to start error messages with.
            wanted: the file(s) looked for, named in the remedy.

        Raises:
            DatasetUnavailableError: the listing failed, or the Hub is not reachable
                and the cache holds no file of ``repo``.
        """
        from huggingface_hub import list_repo_files

        if self.reachable:
            try:
                return list(list_repo_files(repo, repo_type="dataset", revision=revision)), repo
            except Exception as err:  # noqa: BLE001 - HTTP and network errors alike: same remedy
                raise DatasetUnavailableError(
                    f"{what}: listing the files of {repo} failed ({type(err).__name__}: {err}); "
                    f"{self.remedy(repo, wanted)}"
                ) from None
        cached = _cached_files(repo, revision)
        if not cached:
            raise DatasetUnavailableError(
                f"{what}: {self.why}, so {repo} cannot be listed, and the Hugging Face cache "
                f"holds none of its files; {self.remedy(repo, wanted)}"
            )
        return cached, f"the Hugging Face cache of {repo}"


def network_errors() -> tuple[type[BaseException], ...]:
    """The error types of a failed Hub request, the HTTP clients' included (those imported).

    ``huggingface_hub`` lets its HTTP client's transport errors (``httpx``'s
    ``ConnectError``, ``requests``' ``ConnectionError``) escape unwrapped.
    """
    import sys

    found: list[type[BaseException]] = []
    for module, attr in (("httpx2", "HTTPError"), ("httpx", "HTTPError"),
                         ("requests", "RequestException"), ("urllib3.exceptions", "HTTPError")):
        error = getattr(sys.modules.get(module), attr, None)
        if isinstance(error, type) and issubclass(error, BaseException):
            found.append(error)
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    return (*found, HfHubHTTPError, OfflineModeIsEnabled, ConnectionError, TimeoutError)


def _cached_files(repo: str, revision: str | None) -> list[str]:
    """The files of dataset ``repo`` in the Hugging Face cache (of ``revision``, or of any)."""
    from huggingface_hub import constants, scan_cache_dir
    from huggingface_hub.errors import CacheNotFound

    try:
        cache = scan_cache_dir(constants.HF_HUB_CACHE)
    except (CacheNotFound, OSError):
        return []
    names: set[str] = set()
    for cached in cache.repos:
        if cached.repo_id != repo or cached.repo_type != "dataset":
            continue
        for rev in cached.revisions:
            if revision is None or revision == rev.commit_hash or revision in rev.refs:
                names.update(
                    f.file_path.relative_to(rev.snapshot_path).as_posix() for f in rev.files
                )
    return sorted(names)
