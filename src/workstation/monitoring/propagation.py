"""Carry the correlation id into threads and process-pool workers.

Threads: ``submit_with_context(executor, fn, ...)`` and ``ContextThread`` run the callable in a
copy of the caller's contextvars, so the id (and any other context) follows the work.
Processes cannot share a context: ``submit_with_context`` on a ProcessPoolExecutor sends the id
along with the call and sets it in the worker; ``worker_initializer`` gives every worker of a pool
the id of the job that created it (and optionally installs monitoring there).
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from typing import Any, Generic, ParamSpec, TypeVar

from workstation.monitoring.correlation import correlation_scope, current_correlation_id

P = ParamSpec("P")
R = TypeVar("R")


class CorrelatedCall(Generic[R]):
    """A picklable callable that runs ``func`` under ``correlation_id`` (for process pools)."""

    def __init__(self, func: Callable[..., R], correlation_id: str | None) -> None:
        self.func = func
        self.correlation_id = correlation_id

    def __call__(self, *args: Any, **kwargs: Any) -> R:
        if self.correlation_id is None:
            return self.func(*args, **kwargs)
        with correlation_scope(self.correlation_id):
            return self.func(*args, **kwargs)


def with_correlation(func: Callable[..., R], correlation_id: str | None = None) -> CorrelatedCall[R]:
    """``func`` bound to the current correlation id (or ``correlation_id``), picklable if ``func`` is."""
    return CorrelatedCall(func, correlation_id or current_correlation_id())


def submit_with_context(executor: Executor, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> Future[R]:
    """``executor.submit`` that keeps the caller's correlation id in the worker thread or process."""
    if isinstance(executor, ProcessPoolExecutor):
        return executor.submit(with_correlation(fn), *args, **kwargs)
    context = contextvars.copy_context()

    def run() -> R:
        return context.run(fn, *args, **kwargs)

    return executor.submit(run)


def map_with_context(executor: Executor, fn: Callable[..., R], *iterables: Any, **kwargs: Any) -> Any:
    """``executor.map`` with the caller's correlation id in every call."""
    if isinstance(executor, ProcessPoolExecutor):
        return executor.map(with_correlation(fn), *iterables, **kwargs)
    context = contextvars.copy_context()

    def call(*args: Any) -> R:
        return context.copy().run(fn, *args)

    return executor.map(call, *iterables, **kwargs)


class ContextThread(threading.Thread):
    """A Thread whose target runs in a copy of the creating thread's context (correlation id included)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._context = contextvars.copy_context()

    def run(self) -> None:
        self._context.run(super().run)


_worker_scope: Any = None


def worker_initializer(correlation_id: str | None, database_url: str | None = None, component: str = "worker") -> None:
    """ProcessPoolExecutor(initializer=worker_initializer, initargs=(current_correlation_id(), url)).

    Sets the id for everything the worker runs (a call submitted with ``submit_with_context``
    still gets its own caller's id) and, given a database URL, installs monitoring in the worker
    so its logs, timings and errors reach the log tables too (flushed when the worker exits).
    """
    global _worker_scope
    if correlation_id:
        _worker_scope = correlation_scope(correlation_id)
        _worker_scope.__enter__()
    if database_url:
        from workstation.db.engine import create_db_engine
        from workstation.monitoring.install import install_monitoring

        install_monitoring(create_db_engine(database_url), component=component)
