"""Outside `make`: missing model paths, an unreachable Hub, default data folders, the umask."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from mrekv import model_source
from mrekv._io import atomic_write_text
from mrekv.data.corpora import load_corpus
from mrekv.data.paths import datasets_root, default_datasets_root
from mrekv.errors import DataRootError, ModelUnavailableError
from mrekv.finetune import FineTuneClassifier
from mrekv.models import load_lm, load_tokenizer


@pytest.fixture
def hub_online(monkeypatch):
    """HF_HUB_OFFLINE unset; returns a function pointing the Hub endpoint somewhere."""
    from huggingface_hub import constants

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(model_source, "_HUB_CHECKS", {})
    return lambda endpoint: monkeypatch.setattr(constants, "ENDPOINT", endpoint)


@pytest.mark.parametrize("name", ["./no-such-model", "../nowhere/model", "/no/such/folder",
                                  "~/no-such-mrekv-model", "runs/a/b", "model.gguf"])
def test_a_missing_model_path_is_reported_as_a_path_at_once(name, monkeypatch):
    import socket

    touched: list[object] = []

    def no_network(*args, **kwargs):
        touched.append(args)
        raise OSError("the network was touched")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    with pytest.raises(ModelUnavailableError, match=r"no such file or folder"):
        load_lm(name)
    with pytest.raises(FileNotFoundError, match=r"no such file or folder"):
        load_tokenizer(name)
    with pytest.raises(ModelUnavailableError, match=r"no such file or folder"):
        FineTuneClassifier(name)
    assert touched == []  # "at once": refused before any Hub lookup


def test_an_unreachable_hub_fails_in_seconds_without_hf_hub_offline(hub_online):
    hub_online("http://127.0.0.1:9")  # nothing listens: refused at once
    start = time.perf_counter()
    with pytest.raises(ModelUnavailableError, match=r"cannot be reached.*--local-dir") as err:
        load_lm("mrekv-tests/no-such-model-4f2a")
    assert "not in the local Hugging Face cache" in str(err.value)
    clf = FineTuneClassifier("mrekv-tests/no-such-model-4f2a")  # scikit-learn style: no load
    with pytest.raises(ModelUnavailableError, match="cannot be reached"):
        clf.fit(["good", "bad"], ["positive", "negative"])
    assert time.perf_counter() - start < 10


def test_an_unreachable_hub_uses_the_cache_only(hub_online, monkeypatch):
    import huggingface_hub

    hub_online("http://127.0.0.1:9")
    monkeypatch.setattr(huggingface_hub, "try_to_load_from_cache", lambda *a, **k: "/c/config.json")
    seen = {}

    def load(name, **kwargs):
        seen.update(kwargs)
        return "loaded"

    assert model_source.hub_load("org/cached-model", "model", load) == "loaded"
    assert seen == {"local_files_only": True}


def test_network_errors_escaping_huggingface_hub_are_wrapped(hub_online, monkeypatch):
    import sys

    from transformers import AutoTokenizer

    monkeypatch.setattr(model_source, "_hub_access", lambda: SimpleNamespace(reachable=True))
    client = next(sys.modules[m] for m in ("httpx2", "httpx") if m in sys.modules)

    def fail(*args, **kwargs):
        raise client.ConnectError("connection reset by peer")

    monkeypatch.setattr(AutoTokenizer, "from_pretrained", fail)
    with pytest.raises(ModelUnavailableError, match=r"ConnectError.*--local-dir <folder>"):
        load_tokenizer("org/some-model")


def test_an_invalid_hub_id_is_named(hub_online):
    with pytest.raises(ModelUnavailableError, match="not a valid Hugging Face Hub id"):
        load_lm("no such model")


# --- default data folders -------------------------------------------------------------


@pytest.fixture
def no_data_env(monkeypatch, tmp_path):
    monkeypatch.delenv("MREKV_DATASETS", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_without_env_or_user_folder_the_error_names_the_variable(no_data_env):
    (no_data_env / ".." / "shared" / "datasets").resolve().mkdir(parents=True, exist_ok=True)
    with pytest.raises(DataRootError, match=r"set MREKV_DATASETS .*xdg/mrekv/datasets"):
        datasets_root()
    with pytest.raises(FileNotFoundError, match="MREKV_DATASETS"):
        load_corpus("sst2")


def test_the_per_user_folder_is_the_default(no_data_env):
    user = no_data_env / "xdg" / "mrekv" / "datasets"
    user.mkdir(parents=True)
    assert default_datasets_root() == user
    assert datasets_root() == user
    os.chdir("/")
    assert datasets_root() == user  # never relative to the working directory


def test_the_variable_wins_and_home_is_expanded(no_data_env, monkeypatch):
    (no_data_env / "xdg" / "mrekv" / "datasets").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(no_data_env))
    monkeypatch.setenv("MREKV_DATASETS", "~/corpora")
    assert datasets_root() == no_data_env / "corpora"
    assert datasets_root("elsewhere") == Path("elsewhere")


def test_xdg_default_is_under_home(monkeypatch, tmp_path):
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_datasets_root() == tmp_path / ".local" / "share" / "mrekv" / "datasets"


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_atomic_writes_follow_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        atomic_write_text(tmp_path / "out.txt", "x\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "out.txt").stat().st_mode) == mode
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_dataset_downloads_wrap_http_client_errors(monkeypatch):
    import sys

    import huggingface_hub

    from mrekv.data.hub import DatasetUnavailableError, HubAccess

    client = next(sys.modules[m] for m in ("httpx2", "httpx") if m in sys.modules)

    def fail(*args, **kwargs):
        raise client.ReadTimeout("timed out")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fail)
    with pytest.raises(DatasetUnavailableError, match=r"ReadTimeout.*path=<folder or file>"):
        HubAccess(reachable=True, why="").download("org/data", "f.json", revision=None,
                                                   what="MMM test")


def test_a_hanging_name_lookup_is_cut_off(monkeypatch):
    import socket

    from mrekv.data import hub

    monkeypatch.delenv("HTTPS_PROXY", raising=False)
    monkeypatch.delenv("https_proxy", raising=False)
    monkeypatch.delenv("ALL_PROXY", raising=False)
    monkeypatch.delenv("all_proxy", raising=False)
    monkeypatch.setattr(hub, "HUB_TIMEOUT", 0.5)
    def hang(*args, **kwargs):  # a name lookup that never answers in time
        time.sleep(5)
        raise OSError("no answer")

    monkeypatch.setattr(socket, "create_connection", hang)
    start = time.perf_counter()
    assert hub._hub_reachable("https://huggingface.co") is False
    assert time.perf_counter() - start < 3


def test_an_unwritable_folder_names_the_target_not_the_temporary(tmp_path, monkeypatch):
    import errno
    import tempfile

    def refuse(*args, dir=None, **kwargs):  # what a read-only folder does to mkstemp
        raise PermissionError(errno.EACCES, "Permission denied", f"{dir}/.out.json.x.tmp")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    target = tmp_path / "out.json"
    with pytest.raises(OSError) as info:
        atomic_write_text(target, "{}")
    assert info.value.errno == errno.EACCES and info.value.filename == str(target)
    assert f"cannot write {target}" in str(info.value) and ".tmp" not in str(info.value)
