"""Keep optional heavy modules out of a scan's memory.

pyarrow and DuckDB import pandas the first time they are handed a Python object, to
check whether it is a DataFrame, whenever pandas is installed (it is with the notebook
extra). A scan never needs it, and it costs about 48 MB of resident memory: at a
million files that is a tenth of the memory budget (docs/benchmarks.md).
"""

from __future__ import annotations

import importlib.abc
import sys
from collections.abc import Iterator
from contextlib import contextmanager

LEFT_OUT = ("pandas",)


class _LeaveOut(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        if fullname.partition(".")[0] in LEFT_OUT:
            # What an import of a module that is not installed raises: callers fall back.
            raise ModuleNotFoundError(f"{fullname} écarté pendant le scan", name=fullname)
        return None


@contextmanager
def without_optional_modules() -> Iterator[None]:
    """While inside, importing pandas fails as if it were not installed (unless it was
    already imported, e.g. in a notebook: then nothing changes)."""
    if any(name in sys.modules for name in LEFT_OUT):
        yield
        return
    finder = _LeaveOut()
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
