"""siegfried (PRONOM identification) as a Go library in this process: import pygfried from
here, so that its heap is capped whichever scanner loads it first.

A soft cap on the Go heap (GOMEMLIMIT, read once when the library loads) makes Go's
collector work harder instead of letting the heap double. Single runs on 200,000 files with
2 workers (Go's collector makes the peak vary by tens of MiB from run to run): scan peak
449 MiB without a cap, 386 MiB at 96 MiB at the same speed, 364 MiB at 64 MiB but 60 %
slower (the collector then runs all the time). Each worker holds its own buffers, hence
the share per core. A GOMEMLIMIT set by the user wins.
"""

import os

os.environ.setdefault("GOMEMLIMIT", f"{64 + 16 * (os.cpu_count() or 2)}MiB")

import pygfried  # noqa: E402

__all__ = ["pygfried"]
