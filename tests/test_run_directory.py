"""run_directory's guards: JSON read within a size and a depth limit, one writer per run directory, and writes that
fail naming their file."""

from __future__ import annotations

import errno
import os

import pytest
from safetensors import SafetensorError

from ganlib.run_directory import (
    MAX_JSON_BYTES,
    WRITER_LOCK_FILE,
    RunDirectoryBusy,
    WriterLock,
    load_json,
    named_os_error,
    naming,
    read_json,
)


def test_load_json_refuses_what_is_not_a_small_shallow_regular_file_in_one_line(tmp_path):
    big = tmp_path / "big.json"
    with open(big, "wb") as handle:  # sparse: the limit, not the disk, is what is tested
        handle.truncate(MAX_JSON_BYTES + 1)
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)  # RecursionError in json.loads
    shallow_enough_to_parse = tmp_path / "deep100.json"
    shallow_enough_to_parse.write_text('{"a": ' * 100 + "1" + "}" * 100)  # parses, but a reader could still recurse
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)  # nobody writes to it: opening it for reading would wait forever
    cases = [
        ("/dev/zero", "is not a regular file"),  # endless: read whole, it grew memory without bound
        (str(fifo), "is not a regular file"),
        (str(big), "is larger than 4 MB"),
        (str(deep), "is nested more than 32 levels deep"),
        (str(shallow_enough_to_parse), "is nested more than 32 levels deep"),
    ]
    for path, words in cases:
        with pytest.raises(ValueError) as error:
            load_json(path)
        message = str(error.value)
        assert path in message and words in message and "\n" not in message
        assert read_json(path) is None  # followers (the dashboard's run list) carry on without it


def test_load_json_reads_what_ganlib_writes(tmp_path):
    path = tmp_path / "report.json"
    path.write_text('{"meta": {"a": [1, 2, {"b": null}]}, "fd": 1.5}')
    assert load_json(path) == {"meta": {"a": [1, 2, {"b": None}]}, "fd": 1.5}
    with pytest.raises(FileNotFoundError):
        load_json(tmp_path / "missing.json")  # an OSError: the CLI prints it as one line naming the file


def test_one_writer_holds_a_run_directory_at_a_time(tmp_path):
    run_dir = tmp_path / "run"
    first = WriterLock.acquire(run_dir)
    with pytest.raises(RunDirectoryBusy, match=rf"{run_dir} is being written by another training process \(pid "):
        WriterLock.acquire(run_dir)
    first.release()
    first.release()  # twice is harmless
    assert not (run_dir / WRITER_LOCK_FILE).exists()
    assert not run_dir.exists()  # made by acquire and left empty: gone with the lock
    second = WriterLock.acquire(run_dir)  # free again
    (run_dir / "config.json").write_text("{}")
    second.release()
    assert sorted(p.name for p in run_dir.iterdir()) == ["config.json"]  # a written run directory stays


def test_a_lock_file_removed_by_a_releasing_holder_is_not_a_lock(tmp_path, monkeypatch):
    """The holder unlinks the file on release: a process that opened the old file just before must not count a lock
    on it (the next process would lock the new file, and two would write)."""
    holder = WriterLock.acquire(tmp_path)
    real_flock = __import__("fcntl").flock
    calls = []

    def release_in_between(descriptor, operation):
        calls.append(descriptor)
        if len(calls) == 1:  # this process has opened the old file; the holder releases now
            holder.release()
        return real_flock(descriptor, operation)

    monkeypatch.setattr("ganlib.run_directory.fcntl.flock", release_in_between)
    lock = WriterLock.acquire(tmp_path)
    assert len(calls) == 2  # the first lock was on a removed file: taken again on the file at the path
    assert (tmp_path / WRITER_LOCK_FILE).read_text().strip() == str(os.getpid())
    lock.release()


def test_a_failed_write_names_its_file(tmp_path):
    target = tmp_path / "generator.safetensors"
    full = SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")
    for raised in (full, OSError(errno.ENOSPC, "No space left on device")):  # as a flush reports it: no name
        with pytest.raises(OSError) as error, naming(target):
            raise raised
        assert (error.value.errno, error.value.strerror, error.value.filename) == (
            errno.ENOSPC,
            "No space left on device",
            str(target),
        )
    named = OSError(errno.EACCES, "Permission denied", "/elsewhere")
    assert named_os_error(named, target) is named  # a name it already has is the right one
    assert named_os_error(SafetensorError("odd"), target).errno == errno.EIO


def test_the_stats_of_a_foreign_run_folder_keep_only_their_object_lines(tmp_path):
    from ganlib import runs
    from ganlib.run_directory import STATS_FILE

    deep = "[" * 100_000 + "]" * 100_000  # was RecursionError in every page that shows the run's curves
    lines = ['{"step": 1, "loss_d": 0.5}', deep, "[1, 2]", '"text"', '{"step": 2, "loss_d": 0.4}', '{"step": 3']
    (tmp_path / STATS_FILE).write_text("\n".join(lines))
    stats = runs.read_stats(tmp_path)
    assert list(stats["step"]) == [1, 2] and list(stats["loss_d"]) == [0.5, 0.4]
