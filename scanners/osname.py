"""Names for the scan's threads and worker processes as the system shows them (`comm`:
`top -H`, `ps -L`, /proc/PID/task/TID/comm), so that an IT lead watching a long scan, and
the bench that splits its CPU time, can tell the walk's parsing from DuckDB's writing,
libmagic from the hashing workers. Linux only; elsewhere a no-op."""

from __future__ import annotations

import ctypes

_PR_SET_NAME = 15
_COMM_BYTES = 15  # the kernel keeps 15 bytes and a NUL


def name_thread(name: str) -> None:
    """Name the calling OS thread; in a process's main thread, that names the process."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_NAME, name.encode("ascii", "replace")[:_COMM_BYTES], 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: nothing to name
