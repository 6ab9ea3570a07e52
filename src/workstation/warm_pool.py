"""Warm process pools: started on first use, kept for the life of the process, gone with it.

Starting a pool costs more than half a second (a forkserver, then workers importing numpy, pandas,
TA-Lib, scikit-learn), so the feature build, the online feature helpers, the sweep and model training
each keep theirs between jobs. Three rules hold for every pool:

* forkserver, not fork: workers never inherit the caller's threads (Qt, the log writer, SQLAlchemy
  pools); the first pool's module is preloaded into the forkserver, and every worker imports its own
  pool's module when it starts, so ``warm_up`` leaves workers ready to run;
* the forkserver starts with SIGINT blocked, so a terminal's Ctrl+C reaches the parent only (it
  cancels; a worker hit mid-task would die with a traceback and break the pool);
* workers end with the process that started them, even when it is killed outright (_exit_with_parent).
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import logging
import multiprocessing
import os
import signal
import threading
from concurrent.futures import CancelledError, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import forkserver, resource_tracker
from multiprocessing.connection import Connection

log = logging.getLogger(__name__)


def local_workers() -> int:
    return max(1, os.cpu_count() or 1)


class WarmPool:
    """A process pool started on first use and kept for the life of the process (see the module docstring)."""

    def __init__(self, workers: int, preload: str) -> None:
        self.workers = workers
        self.preload = preload
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._warming = False
        self._warm: ProcessPoolExecutor | None = None  # the pool whose workers all answered a warm-up
        self._alive: Connection | None = None
        atexit.register(self.shutdown)

    def get(self) -> ProcessPoolExecutor:
        """The pool, started on first use (or again after it broke or was shut down)."""
        with self._lock:
            if self._pool is None:
                context = multiprocessing.get_context("forkserver")
                context.set_forkserver_preload([self.preload])
                _start_forkserver_deaf_to_ctrl_c()
                # Each worker watches this pipe: its write end lives only here (see _worker_start).
                alive, self._alive = context.Pipe(duplex=False)
                self._pool = ProcessPoolExecutor(
                    max_workers=self.workers,
                    mp_context=context,
                    initializer=_worker_start,
                    initargs=(alive, self.preload),
                )
            return self._pool

    def warm_up(self) -> None:
        """Start the workers in the background, so the first real task does not wait for them (once:
        later calls, e.g. one per symbol a live loop primes, do nothing)."""
        with self._lock:
            if self._warming or (self._pool is not None and self._warm is self._pool):
                return
            self._warming = True

        def start() -> None:
            try:
                pool = self.get()
                # Each submit starts at most one worker; ``workers`` trivial tasks start them all.
                for future in [pool.submit(_ready) for _ in range(self.workers)]:
                    future.result()
                with self._lock:
                    if self._pool is pool:
                        self._warm = pool
            except (RuntimeError, BrokenProcessPool, CancelledError) as exc:
                # The process is exiting (a short command finished first), or the pool broke or was
                # discarded meanwhile: its users report that; a warm-up has nothing to add.
                log.debug("pool warm-up skipped: %s", exc)
            except Exception as exc:  # e.g. the forkserver could not start: the next use tries again
                log.warning("starting the %s workers failed: %s", self.preload, exc)
            finally:
                with self._lock:
                    self._warming = False

        try:
            threading.Thread(target=start, name="pool-warm-up", daemon=True).start()
        except RuntimeError as exc:  # no thread to be had (interpreter shutting down)
            log.debug("pool warm-up not started: %s", exc)
            with self._lock:
                self._warming = False

    def is_warm(self) -> bool:
        """The workers are up (``warm_up`` finished): a task starts at once instead of behind a start-up."""
        return self.warm_pool() is not None

    def warm_pool(self) -> ProcessPoolExecutor | None:
        """The pool when its workers are up, else None (checked and returned under one lock)."""
        with self._lock:
            return self._pool if self._pool is not None and self._warm is self._pool else None

    def discard(self, pool: ProcessPoolExecutor) -> None:
        """Forget a pool that broke (a worker died): the next use starts a fresh one."""
        with self._lock:
            if self._pool is pool:
                self._pool, self._alive = None, None  # a worker still running ends with its pipe
        pool.shutdown(wait=False, cancel_futures=True)

    def shutdown(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
            alive, self._alive = self._alive, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        del alive  # the old workers' pipe closes only now, after they ended; a new pool has its own


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


def _worker_start(alive: Connection, preload: str) -> None:
    """A worker imports its pool's module (a process has one forkserver, whose preload served only the
    first pool started) and ends with the process that started the pool (_exit_with_parent)."""
    importlib.import_module(preload)
    _exit_with_parent(alive)


def _exit_with_parent(alive: Connection) -> None:
    """A worker ends as soon as the process that started the pool does, however that one ended.

    A process killed outright (SIGTERM, SIGKILL) runs no atexit, and a pool's workers would then wait
    forever on their task queue (each holds that pipe's write end itself, so it never reads EOF) and
    keep the forkserver alive — holding the terminal's or a caller's stdout open, so
    ``subprocess.communicate`` on a killed CLI never returned. Nothing is ever sent on ``alive``; its
    only write end is in the starting process, so the read returns (EOF) exactly when that one is gone.
    """

    def watch() -> None:
        with contextlib.suppress(EOFError, OSError):
            alive.recv()
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _ready() -> bool:
    return True
