"""A progress bar on stderr while the report collects, shown only when stderr is a terminal."""

from __future__ import annotations

import sys

LABELS = {
    "catalog": "Reading the catalog",
    "queries": "Linting and planning top queries",
    "advice": "Verifying index candidates",
    "health": "Checking catalog health",
}


class Progress:
    """Named steps, each with a total; a no-op off a terminal (pipes, CI logs, tests)."""

    def __init__(self, enabled: bool | None = None, stream=None) -> None:
        self.stream = stream or sys.stderr
        if enabled is None:
            enabled = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.enabled = enabled
        self._bar = None
        self._tasks: dict[str, int] = {}

    def __enter__(self) -> Progress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress as RichProgress, TextColumn, TimeElapsedColumn

            self._bar = RichProgress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                console=Console(file=self.stream), transient=True,
            )
            self._bar.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def start(self, step: str, total: int) -> None:
        if self._bar is not None:
            self._tasks[step] = self._bar.add_task(LABELS.get(step, step), total=max(total, 1))

    def advance(self, step: str, amount: int = 1) -> None:
        if self._bar is not None and step in self._tasks:
            self._bar.advance(self._tasks[step], amount)

    def finish(self, step: str) -> None:
        if self._bar is not None and step in self._tasks:
            task = self._tasks[step]
            self._bar.update(task, completed=self._bar.tasks[task].total)
