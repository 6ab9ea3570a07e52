"""Progress reporting and cancellation for long jobs, shared by the CLI and the GUI workers.

The core never draws a progress bar: it calls a ``ProgressCallback`` and checks a ``CancelToken``.
The CLI renders the callback as a terminal bar; a GUI worker turns it into a Qt signal.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from workstation.errors import JobCancelledError


@dataclass(frozen=True, slots=True)
class ProgressUpdate:
    done: int
    total: int
    message: str = ""

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 0.0


ProgressCallback = Callable[[ProgressUpdate], None]


def no_progress(_update: ProgressUpdate) -> None:
    """The callback to use when nobody is watching."""


class CancelToken:
    """Thread-safe cancellation flag that a job polls between units of work."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise JobCancelledError("cancelled by the user")
