"""Fast metadata walk of a local tree by GNU find, yielding the same rows as `walk`.

On a local disk the Python walk spends ~10 µs per entry in the interpreter. Here GNU
find (findutils, present on every Debian) does the readdir and lstat calls in C and
prints each entry's fields NUL-separated; Python only splits the stream and builds the
Arrow columns with vectorised kernels, while find works on another core. The root's
entries are shared among a few find processes (`--listages`, one per core by default),
each parsed by its own thread (scanners/findparse.py turns find's output into Arrow
columns).

The rows equal those of `scanners.filesystem.walk` (only their order and ids differ),
with two gaps that the caller closes (`catalogue.scan`):
- find names the directories it cannot read and the entries it cannot lstat only on
  stderr, and leaves the latter out; after such an error, the caller checks every
  directory and has the Python walk list again those whose entries are missing;
- find has no per-directory checkpoint, so the walk is post-order (-depth): a
  directory's line comes after its whole subtree, so each directory line completes a
  directory and an interrupted scan resumes (with the Python walk) from there.

Used for a fresh scan of a local disk without --exclude (find's -prune does nothing in
post-order), where directory access times can be kept (`find_command`); network shares
keep the Python walk, which lists many directories at once (find is one listing at a
time, and a few processes would not hide a share's latency).
"""

from __future__ import annotations

import fcntl
import functools
import os
import queue
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator

import pyarrow as pa

from scanners.filesystem import WalkStats
from scanners.findparse import FORMAT, K, split_fields, to_batch
from scanners.fsaccess import open_path
from scanners.mounts import has_submounts, mount_of
from scanners.osname import name_thread
from scanners.owners import Owners
from scanners.schemas import WALK, WALK_SCHEMA, ScannerInfo

SCANNER = ScannerInfo("filesystem", (WALK,))

READ_BYTES = 2 << 20  # bytes of find's output parsed at a time (~15,000 entries)
PIPE_BYTES = 1 << 20  # the most an unprivileged process may ask (fs.pipe-max-size)
GROUPS_PER_PROCESS = 3  # groups of the root's folders per find process (see `_work_units`)



@functools.cache
def find_available() -> bool:
    """GNU find with -printf (not BusyBox's or BSD's) and -files0-from (findutils 4.9, 2022)."""
    exe = shutil.which("find")
    if exe is None:
        return False
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, timeout=10).stdout
        probe = subprocess.run([exe, "-files0-from", "-", "-maxdepth", "0", "-printf", "%p"], input=b"/\0",
                               capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return False
    return b"GNU findutils" in out and probe.returncode == 0 and probe.stdout == b"/"


def _find_args() -> list[str]:
    # Starting points NUL-separated on stdin: any name (a leading "-", "!", a newline) is
    # taken as it is, and there is no limit on their number.
    return ["find", "-files0-from", "-", "-depth", "-printf", FORMAT]


def direct_command(root: bytes) -> tuple[list, bytes | None]:
    """(argv before find's, cwd) running find in ROOT as it is (directory access times may change)."""
    return [], root


# Run find in a private mount namespace on a read-only, noatime bind mount of the root: a
# directory listing then leaves its access time as it was (the Python walk gets the same
# with O_NOATIME), and nothing under the root can be written. The host's mounts are untouched.
_PRIVATE_MOUNT = ('mount --bind -- "$1" "$1" && mount -o remount,bind,ro,noatime -- "$1" && cd -- "$1" && '
                  'shift && exec "$@"')


def find_command(root: bytes) -> tuple[list, bytes | None] | None:
    """(argv before find's, cwd) to run find on ROOT without changing any directory's access time, or
    None where that is not possible here (then the Python walk, with O_NOATIME, is used).

    Possible when the mount already ignores access times, or as root, where a private
    read-only noatime view of ROOT can be made (unless other filesystems are mounted
    below ROOT: a bind mount would hide them)."""
    if not find_available():
        return None
    mount = mount_of(root)
    if mount is not None and mount.options & {"noatime", "nodiratime"}:
        return direct_command(root)
    if os.geteuid() != 0 or shutil.which("unshare") is None or has_submounts(root):
        return None
    argv: list[str | bytes] = [
        "unshare", "--mount", "--propagation", "private", "--", "sh", "-c", _PRIVATE_MOUNT, "sh", root]
    try:
        probe = subprocess.run(argv + ["true"], capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return (argv, None) if probe.returncode == 0 else None


class FindErrors:
    """What find reported on stderr: the caller re-checks the tree when it is not empty."""

    def __init__(self) -> None:
        self.count = 0
        self.sample = ""


def find_walk(
    root: bytes,
    *,
    command: tuple[list, bytes | None] | None = None,
    processes: int = 1,
    stats: WalkStats | None = None,
    errors: FindErrors | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> Iterator[pa.RecordBatch]:
    """Yield batches of the entries under ROOT (bytes path to a directory), ids from 1.

    After each batch, `stats.done_dirs` holds the directories it completed; `errors`
    counts the lines find wrote on stderr (unreadable directories, failed lstat).
    `command` comes from `find_command`; by default find runs directly in ROOT.

    The entries of ROOT are shared among up to PROCESSES find processes, the largest
    folders first; each process takes the next ones when it is done, so a big folder
    does not leave the others idle. Each process's output is parsed in its own thread."""
    prefix, cwd = command or direct_command(root)
    stats = stats if stats is not None else WalkStats()
    errors = errors if errors is not None else FindErrors()
    run = _FindRun(prefix, cwd, _work_units(root, processes, errors), processes)
    try:
        run.start()
        for batch, done, counts in run.results():
            stats.done_dirs.extend(done)
            stats.entries += batch.num_rows
            stats.files += counts["files"]
            stats.bytes += counts["bytes"]
            for kind, count in counts["kinds"].items():
                stats.by_kind[kind] = stats.by_kind.get(kind, 0) + count
            if on_progress:
                on_progress(stats.entries, stats.bytes)
            yield batch
    finally:
        run.stop()
    lines = [line for text in run.stderr for line in text.decode("utf-8", "backslashreplace").splitlines()]
    errors.count += len(lines) + run.silent_failures
    errors.sample = errors.sample or (lines[0] if lines else "")
    # The root is complete too: an empty batch carries it (stored with the batches).
    stats.done_dirs.append(b"")
    yield pa.RecordBatch.from_pydict({f.name: [] for f in WALK_SCHEMA}, schema=WALK_SCHEMA)


def _work_units(root: bytes, processes: int, errors: FindErrors) -> list[list[bytes]]:
    """ROOT's entries in groups, each listed by one find: its folders in a few groups per
    process, those holding the most subfolders first, and its other entries together."""
    folders: list[tuple[int, bytes]] = []
    others: list[bytes] = []
    try:
        # Opened like the Python walk opens a folder: its access time is kept.
        fd = open_path(root, b"", directory=True)
        try:
            with os.scandir(fd) as entries:
                for entry in entries:
                    name = os.fsencode(entry.name)
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            folders.append((entry.stat(follow_symlinks=False).st_nlink, name))
                            continue
                    except OSError:
                        pass  # find reports it
                    others.append(name)
        finally:
            os.close(fd)
    except OSError as exc:
        # Let the caller's re-check record it, as for any directory find could not read.
        errors.count += 1
        errors.sample = f"{os.fsdecode(root)} : {exc.strerror}"
        return []
    if processes == 1:
        return [[name for _, name in folders] + others] if folders or others else []
    # Each find started costs a pause while its output begins to flow: a few groups per
    # process, dealt out largest first so that each gets a share of the big folders.
    folders.sort(key=lambda f: -f[0])
    groups = min(len(folders), GROUPS_PER_PROCESS * processes)
    units = [[name for _, name in folders[i::groups]] for i in range(groups)]
    return units + ([others] if others else [])


class _FindRun:
    """The find processes of one walk and the threads that parse their output."""

    def __init__(self, prefix: list, cwd: bytes | None, units: list[list[bytes]], processes: int) -> None:
        self.prefix, self.cwd = prefix, cwd
        self.units = units
        self.processes = max(1, min(processes, len(units)))
        self.lock = threading.Lock()
        self.next_id = 0
        self.owners = Owners()
        # Parsed batches waiting for the consumer (~5 MB each at 15,000 entries): one per
        # process keeps every find busy; more only held memory (1M files: +25 MiB at two).
        self.out: queue.Queue = queue.Queue(maxsize=self.processes)
        self.threads: list[threading.Thread] = []
        self.procs: set[subprocess.Popen] = set()
        self.stopping = False
        self.failure: list[BaseException] = []
        self.stderr: list[bytes] = []
        self.silent_failures = 0  # find exited in error without a word, or mid-record

    def start(self) -> None:
        for i in range(self.processes):
            thread = threading.Thread(target=self._worker, daemon=True, name=f"find-{i}")
            thread.start()
            self.threads.append(thread)

    def results(self) -> Iterator[tuple[pa.RecordBatch, list[bytes], dict]]:
        running = len(self.threads)
        while running:
            item = self.out.get()
            if item is None:
                running -= 1
            else:
                yield item
        if self.failure:
            raise self.failure[0]

    def stop(self) -> None:
        """Kill what still runs (an interrupted walk) and wait for the threads."""
        with self.lock:
            self.stopping = True
            for proc in self.procs:
                if proc.poll() is None:
                    proc.kill()
        while any(t.is_alive() for t in self.threads):
            try:  # unblock a thread waiting for room in the queue
                self.out.get(timeout=0.1)
            except queue.Empty:
                pass

    def _worker(self) -> None:
        name_thread("analyse-find")
        try:
            while True:
                with self.lock:
                    if self.stopping or not self.units:
                        break
                    names = self.units.pop(0)
                self._list(names)
        except BaseException as exc:  # handed to the consumer
            self.failure.append(exc)
        finally:
            self.out.put(None)

    def _list(self, names: list[bytes]) -> None:
        """Run one find on NAMES (entries of the root) and queue its parsed batches."""
        with tempfile.TemporaryFile() as listing, tempfile.TemporaryFile() as err:
            listing.write(b"".join(name + b"\0" for name in names))
            listing.seek(0)
            with self.lock:
                if self.stopping:
                    return
                # C locale: messages not translated, bytes printed as they are.
                proc = subprocess.Popen(self.prefix + _find_args(), cwd=self.cwd, stdin=listing,
                                        stdout=subprocess.PIPE, stderr=err, env={**os.environ, "LC_ALL": "C"})
                self.procs.add(proc)
            chunks: queue.Queue[bytes] = queue.Queue(maxsize=2)
            # A thread drains the pipe while this one parses, so find never waits on a full
            # pipe (the reads release the GIL).
            reader = threading.Thread(target=_drain, args=(proc.stdout, chunks), daemon=True, name="find-lecture")
            reader.start()
            try:
                rest = self._parse(chunks)
            except BaseException:
                proc.kill()
                raise
            finally:
                while reader.is_alive():  # unblock a reader waiting for room in the queue
                    try:
                        chunks.get(timeout=0.1)
                    except queue.Empty:
                        pass
                # At the end of its output find may still be exiting: waited for, not killed.
                proc.wait()
                if proc.stdout is not None:  # always, with stdout=PIPE
                    proc.stdout.close()
                with self.lock:
                    self.procs.discard(proc)
            err.seek(0)
            text = err.read()
        with self.lock:
            self.stderr.append(text)
            if (proc.returncode != 0 and not text.strip() and not self.stopping) or rest.strip(b"\0"):
                self.silent_failures += 1  # failed without a word, or stopped mid-record

    def _parse(self, chunks: queue.Queue) -> bytes:
        """Parse find's output from CHUNKS until its end; returns an unfinished last record."""
        rest = b""
        while True:
            chunk = chunks.get()
            fields = split_fields(rest + chunk)
            complete = (len(fields) - 1) // K
            rest = b"\0".join(fields.slice(complete * K).to_pylist())
            if complete:
                with self.lock:
                    first_id = self.next_id
                    self.next_id += complete
                self.out.put(to_batch(fields, complete, first_id, self.owners))
            if not chunk:
                return rest


def _drain(pipe, chunks: queue.Queue) -> None:
    """Read find's output into CHUNKS; an empty chunk marks the end."""
    name_thread("lecture-find")
    fd = pipe.fileno()
    try:
        # A bigger pipe: fewer wake-ups of this thread, each of which waits for the GIL.
        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), PIPE_BYTES)
    except OSError:
        pass
    try:
        pending: list[bytes] = []
        size = 0
        while data := os.read(fd, min(PIPE_BYTES, READ_BYTES)):
            pending.append(data)
            size += len(data)
            if size >= READ_BYTES:
                chunks.put(b"".join(pending))
                pending, size = [], 0
        if pending:
            chunks.put(b"".join(pending))
    finally:
        chunks.put(b"")
