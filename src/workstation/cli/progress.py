"""A terminal progress bar for long jobs, driven by the core's ProgressCallback; Ctrl+C cancels."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import click

from workstation.jobs import CancelToken, ProgressCallback, ProgressUpdate, no_progress


class TerminalProgress:
    """Draws ``label [#####     ] 42/100 message`` on stderr when it is a terminal, else stays quiet."""

    def __init__(self, label: str, *, enabled: bool = True) -> None:
        self.label = label
        self.enabled = enabled and sys.stderr.isatty()
        self._last = ""

    def __call__(self, update: ProgressUpdate) -> None:
        if not self.enabled:
            return
        width = 30
        filled = int(width * min(max(update.fraction, 0.0), 1.0))
        line = f"\r{self.label} [{'#' * filled}{' ' * (width - filled)}] {update.done}/{update.total} {update.message}"
        line = line[:119]
        if line != self._last:
            padding = " " * max(0, len(self._last) - len(line))
            click.echo(line + padding, nl=False, err=True)
            self._last = line

    def close(self) -> None:
        if self.enabled and self._last:
            click.echo("", err=True)


@contextmanager
def progress_and_cancel(label: str, *, enabled: bool = True) -> Iterator[tuple[ProgressCallback, CancelToken]]:
    """Yield (progress callback, cancel token); the first Ctrl+C cancels the job cleanly, a second one kills it."""
    token = CancelToken()
    bar = TerminalProgress(label, enabled=enabled)
    previous = signal.getsignal(signal.SIGINT)

    def _on_sigint(_signum: int, _frame: FrameType | None) -> None:
        if token.cancelled:
            raise KeyboardInterrupt
        token.cancel()
        click.echo("\ncancelling… (Ctrl+C again to abort)", err=True)

    installed = False
    try:
        signal.signal(signal.SIGINT, _on_sigint)
        installed = True
    except ValueError:  # not the main thread
        pass
    try:
        yield (bar if bar.enabled else no_progress), token
    finally:
        bar.close()
        if installed:
            signal.signal(signal.SIGINT, previous)
