"""``timed``: a performance_logs row for a block or a function, as a context manager or a decorator."""

from __future__ import annotations

import functools
import inspect
import os
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, ParamSpec, TypeVar

import psutil

from workstation.monitoring.recorders import record_performance

P = ParamSpec("P")
R = TypeVar("R")

_process: psutil.Process | None = None
_process_pid = 0


def _proc() -> psutil.Process:
    global _process, _process_pid
    pid = os.getpid()
    if _process is None or _process_pid != pid:  # a forked worker is another process
        _process, _process_pid = psutil.Process(pid), pid
    return _process


def _cpu_seconds() -> float:
    times = _proc().cpu_times()
    return float(times.user + times.system)


class timed:
    """Time a block: ``with timed("get_features", component="ml_pipeline") as t: ...``

    or a function: ``@timed("fit", component="ml")``. Records duration_ms, status (``success``;
    ``error`` when an exception escapes; ``timeout`` for a TimeoutError, or when ``timeout_ms``
    is exceeded), the process's resident memory (MB) and its CPU use during the block (percent of
    one core). Inside the block, ``t.status`` may be set and ``t.metadata`` extended.
    """

    def __init__(
        self,
        operation_name: str,
        *,
        component: str | None = None,
        timeout_ms: float | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self.operation_name = operation_name
        self.component = component
        self.timeout_ms = timeout_ms
        self.metadata: dict[str, Any] = dict(metadata or {})
        self.status: str | None = None
        self.duration_ms: float | None = None
        self._start = 0.0
        self._cpu_start = 0.0

    def __enter__(self) -> timed:
        self._cpu_start = _cpu_seconds()
        self._start = time.perf_counter()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        elapsed = time.perf_counter() - self._start
        cpu = _cpu_seconds() - self._cpu_start
        self.duration_ms = elapsed * 1000.0
        status = self.status
        if status is None:
            if exc_type is not None and issubclass(exc_type, TimeoutError):
                status = "timeout"
            elif exc_type is not None and not issubclass(exc_type, GeneratorExit):
                status = "error"
            elif self.timeout_ms is not None and self.duration_ms > self.timeout_ms:
                status = "timeout"
            else:
                status = "success"
        if exc is not None:
            self.metadata.setdefault("error", f"{exc_type.__name__ if exc_type else ''}: {exc}")
        try:
            memory_mb = _proc().memory_info().rss / 1_048_576
        except psutil.Error:
            memory_mb = None
        record_performance(
            self.operation_name,
            self.duration_ms,
            status=status,
            component=self.component,
            memory_usage_mb=memory_mb,
            cpu_usage_percent=(cpu / elapsed * 100.0) if elapsed > 0 else 0.0,
            metadata=self.metadata or None,
        )

    def __call__(self, func: Callable[P, R]) -> Callable[P, R]:
        """Decorator use: every call is timed separately (safe from many threads at once)."""
        name, component, timeout_ms, metadata = self.operation_name, self.component, self.timeout_ms, self.metadata

        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                with timed(name, component=component, timeout_ms=timeout_ms, metadata=metadata):
                    return await func(*args, **kwargs)

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            with timed(name, component=component, timeout_ms=timeout_ms, metadata=metadata):
                return func(*args, **kwargs)

        return wrapper
