"""siegfried (PRONOM identification) as a Go library: import pygfried from here, so that the
heap cap below is in the environment before any process that runs siegfried starts.

A soft cap on the Go heap (GOMEMLIMIT) makes Go's collector work harder instead of letting
the heap double. Go reads it from the environment a process *started* with: setting it in
`os.environ` reaches the processes started afterwards (siegfried's own process, forked from
the fork server, which inherits it), not the Go runtime of this one. Measured in a child
process on 40,000 files of the bench tree, 2 workers (run to run the collector moves the
peak by a few MiB and the time by 10 %): no cap, peak PSS 176-178 MB; 160 MiB, 170 MB;
128 MiB, 142 MB, as fast as no cap; 96 MiB, 112 MB but 20-25 % slower, the collector
running all the time (the old cap: in paired runs at 100,000 files, a full scan took 1.31 x
siegfried alone, 1.12 at 128 MiB; docs/benchmarks.md). Each Go worker holds its own
buffers, hence a share per core. A GOMEMLIMIT set by the user wins.
"""

import os


def heap_cap() -> str:
    """The GOMEMLIMIT given to siegfried's process: 128 MiB on 2 cores, 16 MiB more per core."""
    return f"{96 + 16 * (os.cpu_count() or 2)}MiB"


os.environ.setdefault("GOMEMLIMIT", heap_cap())

import pygfried  # noqa: E402

__all__ = ["heap_cap", "pygfried"]
