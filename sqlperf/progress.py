"""A progress bar on stderr for long runs; rich is imported only once a bar is really drawn."""

from __future__ import annotations

import sys
import time

# A run that finishes sooner never shows a bar (and never pays for importing rich).
SHOW_AFTER_SECONDS = 0.5


class ProgressBar:
    """The ``progress`` callback of :func:`sqlperf.runner.check`: ``start(total)``, then one call per file."""

    def __init__(self, stream=None, show_after: float = SHOW_AFTER_SECONDS) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.show_after = show_after
        self.total = 0
        self.done = 0
        self._started = 0.0
        self._bar = None
        self._task = None

    def start(self, total: int) -> None:
        self.total = total
        self.done = 0
        self._started = time.monotonic()

    def __call__(self, shown: str) -> None:
        self.done += 1
        if self._bar is None:
            if time.monotonic() - self._started < self.show_after or self.done >= self.total:
                return
            self._open()
        self._bar.update(self._task, completed=self.done, description=shown)

    def _open(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        console = Console(file=self.stream)
        self._bar = Progress(
            TextColumn("[bold]checking"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.description}", style="dim"),
            console=console,
            transient=True,
        )
        self._task = self._bar.add_task("", total=self.total)
        self._bar.start()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
