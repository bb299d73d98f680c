"""Progress display on stderr (rich), one bar per scan phase; silent with --quiet."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from catalogue.formatting import french_bytes, french_int


class _RateColumn(ProgressColumn):
    """Entries per second, live then final."""

    def render(self, task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{french_int(int(speed))} él./s" if speed else "", style="progress.data.speed")


class PhaseProgress:
    """Counts items (and bytes) for one phase; `advance` is cheap enough per batch."""

    def __init__(self, progress: Progress | None, task_id, unit: str) -> None:
        self._progress = progress
        self._task = task_id
        self.items = 0
        self.bytes = 0
        self._unit = unit

    def advance(self, items: int = 0, nbytes: int = 0) -> None:
        self.items += items
        self.bytes += nbytes
        if self._progress is not None:
            self._progress.update(self._task, advance=items,
                                  detail=f"{french_bytes(self.bytes)}" if self.bytes else "")

    def set(self, items: int, nbytes: int = 0) -> None:
        self.advance(items - self.items, nbytes - self.bytes)


class ScanProgress:
    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self._progress: Progress | None = None

    def __enter__(self) -> ScanProgress:
        if not self.quiet:
            self._progress = Progress(
                TextColumn("{task.description:<28}"),
                BarColumn(),
                MofNCompleteColumn(),
                TaskProgressColumn(),
                _RateColumn(),
                TextColumn("{task.fields[detail]}"),
                TimeElapsedColumn(),
                console=Console(file=sys.stderr),
                transient=False,
            )
            self._progress.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.stop()

    @contextmanager
    def phase(self, label: str, total: int | None = None) -> Iterator[PhaseProgress]:
        """A bar for one phase, labelled LABEL; when it ends, its total is what was done."""
        progress = self._progress
        if progress is None:
            yield PhaseProgress(None, None, label)
            return
        task = progress.add_task(label, total=total, detail="")
        try:
            yield PhaseProgress(progress, task, label)
        finally:
            done = progress.tasks[task].completed
            progress.update(task, total=done, completed=done)
