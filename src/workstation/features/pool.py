"""The feature builder's worker processes (a warm_pool.WarmPool), kept warm between builds.

The window, the live loop and scripts build features again and again, so the workers stay up between
builds and keep their database engine; a one-shot CLI run pays the start-up (~0.5 s, a fifth of an
incremental build of 1,000 symbols) once.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor

from workstation.warm_pool import WarmPool

WORKERS = 2  # TA-Lib is single-threaded; the reference machine has two cores

_build = WarmPool(WORKERS, "workstation.features.worker")


def feature_pool() -> ProcessPoolExecutor:
    """The feature builder's shared pool, started on first use (or again after it broke)."""
    return _build.get()


def warm_up_feature_pool() -> None:
    """Start the build workers in the background (a build calls this before its planning query, so a
    cold start overlaps the query instead of following it)."""
    _build.warm_up()


def discard_feature_pool(pool: ProcessPoolExecutor) -> None:
    _build.discard(pool)


def shutdown_feature_pool() -> None:
    _build.shutdown()
