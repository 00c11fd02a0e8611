"""The layout of a run directory, shared by the Trainer that writes it and the followers that read it
(ganlib.runs, the dashboard). Torch-free, so a follower imports it cheaply.

Every file a reader may open is written atomically: to ``<name>.tmp<pid>`` beside it, flushed to disk, then
renamed over the old one, so a reader (or a crash) never sees half a file. The temp name carries the writer's pid
because two processes write status.json: the trainer, and ganlib.runs when it marks a killed run as stopped. A
writer killed before its rename leaves its temp file behind; ``remove_orphans`` clears those when a run starts.

One trainer writes a run directory at a time: it holds ``WriterLock`` (an flock on ``.writer.lock``) for its life.
JSON from a run directory or a user is read through ``load_json``, with a size and a depth limit.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
from pathlib import Path
from stat import S_ISREG

from safetensors import SafetensorError

CONFIG_FILE = "config.json"
STATUS_FILE = "status.json"
STATS_FILE = "stats.jsonl"
SAMPLES_DIR = "samples"
KEPT_CHECKPOINTS_DIR = "checkpoints"  # step_NNNNNN.safetensors, with --keep-checkpoints
GENERATOR_FILE = "generator.safetensors"
STATE_FILE = "state/training_state.safetensors"
WRITER_LOCK_FILE = ".writer.lock"  # flock'ed by the one trainer writing the run directory; holds its pid
ORPHAN_FOLDERS = (".", "state", KEPT_CHECKPOINTS_DIR, SAMPLES_DIR)  # where atomic writes put their temp files
TEMPORARY_NAME = re.compile(r".+\.tmp(\d+)")  # <name>.tmp<pid>, as temporary_path makes them


def temporary_path(path: Path) -> Path:
    """Where to write ``path``'s new content before ``commit`` renames it into place."""
    path = Path(path)
    return path.with_name(f"{path.name}.tmp{os.getpid()}")


def commit(temporary: Path, path: Path) -> None:
    """Rename a fully written temp file over ``path``. The data is fsynced before the rename and the folder after
    it: without the first, a power cut after the rename can leave an empty file where a good one was (the rename
    reaches the disk before the data); without the second, the rename itself can be lost."""
    with open(temporary, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    _fsync_folder(Path(path).parent)


def _fsync_folder(folder: Path) -> None:
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:  # Windows cannot open a folder; its renames are durable without this
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass  # some file systems refuse fsync on a folder; the file's own fsync is still done
    finally:
        os.close(descriptor)


def named_os_error(error: OSError | SafetensorError, path) -> OSError:
    """``error`` as an OSError that names a file: itself where it names one, else one naming ``path``. A full disk
    often shows only when data is flushed, as an OSError without a file name, and safetensors raises its own
    SafetensorError ("... No space left on device (os error 28)"), which is not an OSError at all."""
    if isinstance(error, OSError):
        if error.filename is not None:
            return error
        return OSError(error.errno, error.strerror or str(error), str(path))
    code = re.search(r"os error (\d+)", str(error))
    number = int(code.group(1)) if code else errno.EIO
    reason = os.strerror(number) if code else f"cannot be written ({str(error)[:120]})"
    return OSError(number, reason, str(path))


@contextlib.contextmanager
def naming(path):
    """Raise what goes wrong while writing ``path`` as an OSError that names it (``named_os_error``)."""
    try:
        yield
    except (OSError, SafetensorError) as error:
        named = named_os_error(error, path)
        if named is error:
            raise
        raise named from None


@contextlib.contextmanager
def replacing(path):
    """Yield the temp path to write ``path``'s new content to; once the block is done it is committed over ``path``.
    A failure is raised naming ``path`` (``naming``) and leaves neither half a file nor the temp file."""
    path = Path(path)
    temporary = temporary_path(path)
    try:
        with naming(path):
            yield temporary
            commit(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)  # left only by a failed write (a full disk); gone after a commit


def write_json(path: Path, value: dict) -> None:
    with replacing(path) as temporary:
        temporary.write_text(json.dumps(value, indent=2))


MAX_JSON_BYTES = 4 << 20  # config.json and status.json are about 1 KB, an evaluate report about 50 KB
MAX_JSON_DEPTH = 32  # ganlib's own files nest at most 5 deep


def load_json(path, max_bytes: int = MAX_JSON_BYTES, max_depth: int = MAX_JSON_DEPTH):
    """The parsed JSON in ``path``. A file that is not regular (/dev/zero, a pipe), larger than ``max_bytes``, not
    JSON or nested deeper than ``max_depth`` raises a one-line ValueError naming it, at once: at most
    ``max_bytes + 1`` bytes are read, and depth is measured without recursion. OSError (a missing file) passes."""
    path = Path(path)
    # O_NONBLOCK: opening a pipe nobody writes to would otherwise wait forever; reads of a regular file ignore it
    with open(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb") as handle:
        if not S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise ValueError(f"{path} is not a regular file")
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ValueError(f"{path} is larger than {max_bytes >> 20} MB, more than any JSON file ganlib writes")
    try:
        value = json.loads(data)
    except RecursionError:  # the parser recurses per level: a deep file fails here before the check below
        raise ValueError(f"{path} is nested more than {max_depth} levels deep") from None
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError
        raise ValueError(f"{path} is not valid JSON ({str(error)[:120]})") from None
    stack = [(value, 1)]
    while stack:  # a depth the parser allowed can still exhaust a recursive reader of the result (json.dumps)
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > max_depth:
                raise ValueError(f"{path} is nested more than {max_depth} levels deep")
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return value


def read_json(path: Path) -> dict | None:
    """The JSON object in ``path``, or None when the file is missing, unreadable, over ``load_json``'s limits or
    not a JSON object: for followers, which show what they can."""
    try:
        value = load_json(path)
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


class RunDirectoryBusy(ValueError):
    """Another process holds the run directory's writer lock."""


class WriterLock:
    """The run directory's one-writer lock: an exclusive flock on ``.writer.lock``, held from ``acquire`` to
    ``release`` (or the process's end: the kernel drops an flock with its last descriptor, so a killed trainer never
    leaves a stale lock). The file holds the holder's pid, for the refusal's message, and is removed on release."""

    def __init__(self, path: Path, descriptor: int, created: bool):
        self.path, self.descriptor, self.created = path, descriptor, created

    @classmethod
    def acquire(cls, run_dir) -> WriterLock:
        """Take the lock, creating the run directory; RunDirectoryBusy (one line) when another process holds it."""
        run_dir = Path(run_dir)
        created = not run_dir.is_dir()
        run_dir.mkdir(parents=True, exist_ok=True)
        path = run_dir / WRITER_LOCK_FILE
        while True:
            descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(descriptor, 32).decode("ascii", "replace").strip()
                os.close(descriptor)
                pid = f" (pid {holder})" if holder.isdigit() else ""
                raise RunDirectoryBusy(f"{run_dir} is being written by another training process{pid}") from None
            except BaseException:
                os.close(descriptor)
                raise
            # A holder that released a moment ago removed the file after this process opened it: the lock just won
            # is on a name nobody else will open. Try again on the file now at the path.
            try:
                current = os.stat(path)
            except FileNotFoundError:
                current = None
            opened = os.fstat(descriptor)
            if current is not None and (current.st_ino, current.st_dev) == (opened.st_ino, opened.st_dev):
                break
            os.close(descriptor)
        lock = cls(path, descriptor, created)
        try:
            with naming(path):
                os.ftruncate(descriptor, 0)
                os.write(descriptor, f"{os.getpid()}\n".encode())
        except BaseException:
            lock.release()  # a full disk: no lock half taken
            raise
        return lock

    def release(self) -> None:
        """Remove the file, then drop the lock (in that order: see acquire), and the run directory if acquire
        made it and nothing was written there (a trainer that failed to start). Safe to call twice."""
        if self.descriptor is None:
            return
        with contextlib.suppress(OSError):
            self.path.unlink()
        os.close(self.descriptor)
        self.descriptor = None
        if self.created:
            with contextlib.suppress(OSError):  # not empty: a run was written there, and stays
                self.path.parent.rmdir()

    def __del__(self):  # a trainer dropped without release (an error in its constructor): the lock goes with it
        with contextlib.suppress(Exception):
            self.release()


def remove_orphans(run_dir: Path) -> list[Path]:
    """Delete temp files (``<name>.tmp<pid>``) that writers killed mid-write left in the run directory, state/,
    checkpoints/ and samples/; return them. Their rename never happened, so nothing refers to them. A temp file whose pid is a
    live process other than this one may be a write in progress (ganlib.runs marking status.json) and is kept."""
    removed = []
    for folder in ORPHAN_FOLDERS:
        try:
            entries = list(os.scandir(Path(run_dir) / folder))
        except OSError:
            continue
        for entry in entries:
            match = TEMPORARY_NAME.fullmatch(entry.name)
            if not match or not entry.is_file(follow_symlinks=False):
                continue
            pid = int(match.group(1))
            if pid != os.getpid() and process_alive(pid):
                continue
            try:
                os.unlink(entry.path)
            except FileNotFoundError:
                continue
            removed.append(Path(entry.path))
    return removed


def process_alive(pid: int) -> bool:
    """True for a running process; a zombie (exited, not yet reaped) counts as gone."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True  # no /proc (macOS): os.kill said it exists
