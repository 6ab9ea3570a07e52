"""Running FitTasks on an executor: the local process pool by default, any ``concurrent.futures.Executor`` given.

The caller hands over an Executor (or None for the local pool) and, optionally, a ``publish`` function
that turns the training arrays into a handle its workers can open (see :mod:`workstation.ml.tasks`).
Without one: a ProcessPoolExecutor gets memory-mapped files (no copy of the matrix per task), a thread
pool or :class:`SerialExecutor` the arrays with the caller's cancel token and progress, any other
executor an :class:`ArraysHandle` (a cluster adapter passes ``publish`` to scatter it once instead).

Progress and cancel: the runner polls while tasks run. It reports finished fits plus the running
fractions the workers wrote, and on cancel it cancels pending futures and tells running workers to stop
(they check between chunks of trees or epochs), then raises JobCancelledError.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from workstation.errors import JobCancelledError
from workstation.jobs import CancelToken
from workstation.ml.tasks import CANCEL_SLOT, ArraysHandle, FitOutcome, FitTask, LocalHandle, MappedHandle, run_fit
from workstation.warm_pool import WarmPool, local_workers

Publish = Callable[[ArraysHandle], Any]
Report = Callable[[float, str], None]  # (fraction of all fits done, message)
POLL_SECONDS = 0.2
_SHARED_MEMORY_DIR = "/dev/shm"

_training = WarmPool(local_workers(), "workstation.ml.tasks")


def training_pool() -> ProcessPoolExecutor:
    """The local pool, started on first use and kept for the life of the process (warm_pool: forkserver,
    scikit-learn imported once, workers gone with the process)."""
    return _training.get()


def shutdown_training_pool() -> None:
    _training.shutdown()


class SerialExecutor(Executor):
    """Runs each task at once in the caller's thread (small jobs, debugging, reproducibility checks)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future


def workers_of(executor: Executor) -> int:
    """How many tasks the executor runs at once, where that can be known (else the local core count)."""
    if isinstance(executor, SerialExecutor):
        return 1
    count = getattr(executor, "_max_workers", None)
    return int(count) if isinstance(count, int) and count > 0 else local_workers()


def threads_per_task(executor: Executor, tasks: int) -> int:
    """Cores left for each task's own threads when ``tasks`` run side by side on this machine."""
    at_once = max(1, min(workers_of(executor), tasks))
    return max(1, local_workers() // at_once)


class _Published:
    """The handle the tasks get, and what the runner reads back (progress) or writes (cancel)."""

    def __init__(self, handle: Any, slots: int, control: Any, directory: str | None) -> None:
        self.handle, self.slots, self._control, self._directory = handle, slots, control, directory
        self.local_fractions = np.zeros(slots)

    def fractions(self) -> np.ndarray:
        return np.asarray(self._control[1:], dtype=float) if self._control is not None else self.local_fractions

    def cancel(self) -> None:
        if self._control is not None:
            self._control[CANCEL_SLOT] = 1.0  # a shared mapping: workers see it without a flush

    def close(self) -> None:
        self._control = None
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)


@contextmanager
def published(
    executor: Executor, x: np.ndarray, y: np.ndarray, slots: int, token: CancelToken, publish: Publish | None
) -> Iterator[_Published]:
    if publish is not None:
        result = _Published(publish(ArraysHandle(x, y)), slots, None, None)
    elif isinstance(executor, ProcessPoolExecutor):
        base = _SHARED_MEMORY_DIR if Path(_SHARED_MEMORY_DIR).is_dir() else None
        directory = tempfile.mkdtemp(prefix="workstation-train-", dir=base)
        np.save(f"{directory}/x.npy", x)
        np.save(f"{directory}/y.npy", y)
        np.save(f"{directory}/control.npy", np.zeros(1 + slots))
        control = np.load(f"{directory}/control.npy", mmap_mode="r+")
        result = _Published(MappedHandle(directory), slots, control, directory)
    elif isinstance(executor, SerialExecutor | ThreadPoolExecutor):
        result = _Published(None, slots, None, None)
        fractions = result.local_fractions
        result.handle = LocalHandle(x, y, lambda: token.cancelled, lambda s, f, _d: fractions.__setitem__(s, f))
    else:
        result = _Published(ArraysHandle(x, y), slots, None, None)
    try:
        yield result
    finally:
        result.close()


def run_tasks(
    executor: Executor,
    tasks: Sequence[FitTask],
    shared: _Published,
    token: CancelToken,
    report: Report,
    weights: dict[str, float],
) -> dict[str, FitOutcome]:
    """Submit every task, wait for all, report progress; outcomes by task key."""
    futures: dict[Future[FitOutcome], FitTask] = {executor.submit(run_fit, task, shared.handle): task for task in tasks}
    outcomes: dict[str, FitOutcome] = {}
    total = sum(weights.values()) or 1.0
    pending = set(futures)
    try:
        while pending:
            if token.cancelled:
                raise JobCancelledError("cancelled by the user")
            done, pending = wait(pending, timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
            for future in done:
                outcome = future.result()
                outcomes[outcome.key] = outcome
            fractions = shared.fractions()
            progress = sum(
                weights[t.key] * (1.0 if t.key in outcomes else float(fractions[t.slot])) for t in futures.values()
            )
            report(progress / total, f"{len(outcomes)}/{len(futures)} fits done")
    except BaseException:
        shared.cancel()
        for future in pending:
            future.cancel()
        wait(pending)  # workers stop at their next check; nothing is left running on their data
        raise
    return outcomes
