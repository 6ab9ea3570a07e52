"""The feature builder's worker processes, started once and kept warm for the life of the process.

Starting a pool costs more than half a second (a forkserver, then workers importing numpy, pandas,
TA-Lib and SQLAlchemy) — a fifth of an incremental build of 1,000 symbols. The window, the live loop
and scripts build features again and again, so the workers stay up between builds and keep their
database engine; a one-shot CLI run pays the start-up once, as before.

forkserver, not fork: workers never inherit the caller's threads (Qt, the log writer, SQLAlchemy
pools), and the preload makes each worker's start a fork of an already-imported interpreter.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import signal
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import forkserver, resource_tracker

log = logging.getLogger(__name__)

WORKERS = 2  # TA-Lib is single-threaded; the reference machine has two cores

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None


def feature_pool() -> ProcessPoolExecutor:
    """The shared pool, started on first use (or again after it broke or was shut down)."""
    global _pool
    with _lock:
        if _pool is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["workstation.features.worker"])
            _start_forkserver_deaf_to_ctrl_c()
            _pool = ProcessPoolExecutor(max_workers=WORKERS, mp_context=context)
        return _pool


def _start_forkserver_deaf_to_ctrl_c() -> None:
    """Start the forkserver with SIGINT blocked; it and every worker it forks inherit the mask.

    A terminal's Ctrl+C reaches the whole process group. Cancelling is the parent's job (the first
    Ctrl+C lets running batches finish, each one transaction); a forkserver hit while importing its
    preload, or a worker hit mid-batch, would instead die with a traceback and break the pool.
    """
    if not hasattr(signal, "pthread_sigmask"):  # no forkserver where there are no POSIX signal masks
        return
    # The resource tracker unblocks SIGINT in the calling thread when it starts: start it first.
    resource_tracker.ensure_running()
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        forkserver.ensure_running()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _ready() -> bool:
    return True


def warm_up_feature_pool() -> None:
    """Start the workers in the background (a build calls this before its planning query, so a cold
    start overlaps the query instead of following it)."""

    def start() -> None:
        try:
            pool = feature_pool()
            # Each submit starts at most one worker; WORKERS trivial tasks start them all.
            for future in [pool.submit(_ready) for _ in range(WORKERS)]:
                future.result()
        except (RuntimeError, BrokenProcessPool) as exc:
            # The process is exiting (a short command finished first) or the pool broke: the build
            # itself reports a broken pool; a warm-up has nothing to add.
            log.debug("feature pool warm-up skipped: %s", exc)

    threading.Thread(target=start, name="feature-pool-warm-up", daemon=True).start()


def discard_feature_pool(pool: ProcessPoolExecutor) -> None:
    """Forget a pool that broke (a worker died): the next build starts a fresh one."""
    global _pool
    with _lock:
        if _pool is pool:
            _pool = None
    pool.shutdown(wait=False, cancel_futures=True)


def shutdown_feature_pool() -> None:
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


atexit.register(shutdown_feature_pool)
