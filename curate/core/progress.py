"""Progress: rich bars on a terminal, plain lines elsewhere (CI logs, pipes)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


class Reporter:
    def __init__(self, console: Console | None = None, quiet: bool = False):
        self.console = console or Console(stderr=True, soft_wrap=True)
        self.quiet = quiet
        self.live = self.console.is_terminal and not quiet

    def info(self, message: str) -> None:
        if not self.quiet:
            self.console.print(message, highlight=False, markup=False)

    def warn(self, message: str) -> None:
        self.console.print(f"warning: {message}", style="yellow", highlight=False, markup=False)

    @contextmanager
    def stage(self, label: str, parts: int) -> Iterator[StageProgress]:
        tracker = StageProgress(label, parts, self)
        if self.live:
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"),
                TimeElapsedColumn(),
                console=self.console,
                transient=True,
            ) as bar:
                tracker.task = bar.add_task(label, total=parts, rate="")
                tracker.bar = bar
                yield tracker
        else:
            yield tracker
        tracker.done()


def rows_through(rows_in: int, added: int, kept: int, rejected: int) -> str:
    """A step's rows as an equation that adds up: rows in, plus the rows it made (synthetic rows, copies), are kept
    or rejected."""
    made = f" + {added:,} added" if added else ""
    return f"{rows_in:,} rows in{made}, {kept:,} kept, {rejected:,} rejected"


class StageProgress:
    def __init__(self, label: str, parts: int, reporter: Reporter):
        self.label, self.parts, self.reporter = label, parts, reporter
        self.rows_in = self.rows_out = self.rejected = self.added = 0
        self.started = time.perf_counter()
        self.bar = self.task = None
        self.cached = False

    def advance(self, rows_in: int, rows_out: int, rejected: int, added: int = 0) -> None:
        self.rows_in += rows_in
        self.rows_out += rows_out
        self.rejected += rejected
        self.added += added
        if self.bar is not None:
            self.bar.update(self.task, advance=1, rate=f"{self.rows_in:,} rows, {self.rate():,.0f} rows/s")

    def rate(self) -> float:
        return self.rows_in / max(time.perf_counter() - self.started, 1e-9)

    def done(self) -> None:
        seconds = time.perf_counter() - self.started
        note = " (cached)" if self.cached else f" in {seconds:.1f}s, {self.rate():,.0f} rows/s"
        self.reporter.info(
            f"{self.label}: {rows_through(self.rows_in, self.added, self.rows_out, self.rejected)}{note}"
        )
