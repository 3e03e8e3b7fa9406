"""One writer per results file: a second run is refused, and repair never cuts whole lines."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from mrekv.errors import ResultsLockedError
from mrekv.experiment.results import (
    append_line,
    lock_path,
    read_results,
    repair,
    results_lock,
)

_HOLD = textwrap.dedent("""
    import sys, time
    from mrekv.experiment.results import results_lock
    with results_lock(sys.argv[1]):
        print("locked", flush=True)
        sys.stdin.read()                 # until the test closes stdin
""")


@pytest.fixture
def other_writer(tmp_path):
    """A second process holding the lock of ``tmp_path / "r.jsonl"``; yields (path, pid)."""
    out = tmp_path / "r.jsonl"
    proc = subprocess.Popen([sys.executable, "-c", _HOLD, str(out)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    yield out, proc.pid
    assert proc.stdin is not None
    proc.stdin.close()
    proc.wait(timeout=30)


def test_a_second_writer_is_refused_with_the_file_and_pid(other_writer):
    out, pid = other_writer
    with pytest.raises(ResultsLockedError, match=rf"{out.name}: another process \(pid {pid}\)"):
        with results_lock(out):
            pass


def test_a_second_run_experiment_is_refused_before_writing(other_writer, tmp_path):
    from mrekv.experiment.runner import run_experiment

    out, pid = other_writer
    append_line(out, {"cell_key": "a"})
    config = tmp_path / "exp.toml"
    config.write_text('name = "t"\nmethods = ["probe:manual"]\nshots = [0]\nseeds = [0]\n'
                      '[[datasets]]\nname = "toy"\nsource = "mmm"\nlang = "en"\n'
                      'train = "train.jsonl"\ntest = "test.jsonl"\n', encoding="utf-8")
    with pytest.raises(ResultsLockedError, match=str(pid)):
        run_experiment(config, output=out, resume=False, progress=False)
    assert read_results(out) == [{"cell_key": "a"}]  # not moved aside, not repaired


def test_the_lock_is_released_and_its_file_removed(tmp_path):
    out = tmp_path / "r.jsonl"
    with results_lock(out) as lock:
        assert lock == lock_path(out)
        assert lock.read_text().strip() == str(os.getpid())
        with pytest.raises(ResultsLockedError):  # a second open file description conflicts too
            with results_lock(out):
                pass
    assert not lock_path(out).exists()
    with results_lock(out):  # and can be taken again
        pass


def test_a_killed_holder_leaves_no_stale_lock(tmp_path):
    out = tmp_path / "r.jsonl"
    proc = subprocess.Popen([sys.executable, "-c", _HOLD, str(out)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    proc.kill()
    proc.wait(timeout=30)
    with results_lock(out):
        pass


def test_repair_keeps_a_whole_last_line_without_its_newline(tmp_path):
    out = tmp_path / "r.jsonl"
    out.write_bytes(b'{"a": 1}\n{"b": 2}')
    assert repair(out) == 0
    assert out.read_bytes() == b'{"a": 1}\n{"b": 2}\n'
    out.write_bytes(b'{"a": 1}\n{"b": ')
    assert repair(out) == len(b'{"b": ')
    assert out.read_bytes() == b'{"a": 1}\n'


def test_repair_never_cuts_lines_a_concurrent_writer_appends(tmp_path):
    out = tmp_path / "r.jsonl"
    stop = threading.Event()
    written = []

    def writer():
        i = 0
        while not stop.is_set():
            append_line(out, {"i": i, "pad": "x" * 20000})
            written.append(i)
            i += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            repair(out)
    finally:
        stop.set()
        thread.join()
    repair(out)
    assert [r["i"] for r in read_results(out)] == written


def test_results_lines_follow_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        append_line(tmp_path / "r.jsonl", {"a": 1})
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "r.jsonl").stat().st_mode) == 0o640
    assert json.loads((tmp_path / "r.jsonl").read_text()) == {"a": 1}


def test_a_symlink_or_hard_link_to_a_locked_file_meets_the_same_lock(tmp_path):
    out = tmp_path / "r.jsonl"
    append_line(out, {"cell_key": "a"})
    (tmp_path / "alias.jsonl").symlink_to(out)
    os.link(out, tmp_path / "hard.jsonl")
    proc = subprocess.Popen([sys.executable, "-c", _HOLD, str(out)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        with pytest.raises(ResultsLockedError, match=rf"pid {proc.pid}"):
            with results_lock(tmp_path / "alias.jsonl"):
                pass
        with pytest.raises(ResultsLockedError, match="hard link"):
            with results_lock(tmp_path / "hard.jsonl"):
                pass
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=30)
    with results_lock(tmp_path / "hard.jsonl"):  # free again once the writer is done
        pass
    assert read_results(tmp_path / "hard.jsonl") == [{"cell_key": "a"}]
