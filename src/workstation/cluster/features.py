"""Feature batches on the cluster: each batch one task, written by the worker through its own connection.

The caller plans (one grouped query, as locally) and cuts the work into batches; a worker reads the
batch's bars, computes the catalog and replaces the rows and build state in one transaction, exactly
what a local pool worker does (``features.worker.run_in_worker``, which keeps one engine per database
for the life of the worker process). The rows are therefore the same as a local build's.

Cancel keeps the local promise that a finished build leaves nothing behind: batches not started are
cancelled, batches already running finish (each is one transaction) before the build returns.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from workstation.cluster.connect import worker_threads
from workstation.cluster.executor import task_key
from workstation.cluster.secret import DatabaseUrl
from workstation.errors import JobCancelledError
from workstation.features.state import load_states
from workstation.features.worker import BatchTask, SymbolOutcome, run_batch, worker_engine

if TYPE_CHECKING:
    from distributed import Client, Future

log = logging.getLogger(__name__)

TASK_NAME = "features-batch"
POLL_SECONDS = 0.2


def build_batch(url: DatabaseUrl, task: BatchTask) -> list[SymbolOutcome]:
    """The task: one batch, computed and written on the worker.

    A task may run twice: when its worker dies after the batch committed but before the result reached
    the scheduler. Rewriting rows is harmless (they are replaced whole), but an incremental state's
    counts are the planned ones plus this batch's change, and would be off after a second application;
    so symbols whose state already records this plan's bars are reported up to date instead.
    """
    engine = worker_engine(url.reveal())
    done = _already_built(engine, task)
    if not done:
        return run_batch(engine, task)
    rest = replace(task, plans=tuple(p for p in task.plans if p.symbol not in done))
    skipped = [SymbolOutcome(p.symbol, p.source, "up_to_date") for p in task.plans if p.symbol in done]
    return skipped + (run_batch(engine, rest) if rest.plans else [])


def _already_built(engine: Engine, task: BatchTask) -> set[str]:
    """Symbols of an incremental plan whose stored state is no longer the planned one but its outcome."""
    pending = {p.symbol: p for p in task.plans if p.mode != "full" and p.previous is not None}
    if not pending:
        return set()
    with engine.connect() as conn:
        states = load_states(conn, task.interval, task.version, list(pending))
    return {
        symbol for symbol, plan in pending.items()
        if (state := states.get(symbol)) is not None and state != plan.previous
        and (state.built_through, state.bar_count, state.bar_checksum) == (plan.through, plan.bar_count, plan.checksum)
    }  # fmt: skip


def _running(dask_scheduler: Any, keys: list[str]) -> list[str]:
    """Of ``keys``, those a worker has started or holds (runs on the scheduler)."""
    return [k for k in keys if k in dask_scheduler.tasks and dask_scheduler.tasks[k].state == "processing"]


class ClusterBatchRunner:
    """``features.engine``'s batch runner for a cluster (the local one is the process pool)."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.workers = worker_threads(client)

    def run(
        self, engine: Engine, tasks: list[BatchTask], cancel: Any | None
    ) -> Iterator[tuple[BatchTask, list[SymbolOutcome]]]:
        from distributed import wait

        url = DatabaseUrl(engine.url)
        # A finished future is dropped as soon as its outcome is handed on: its result leaves the worker.
        pending: dict[Future, BatchTask] = {
            self.client.submit(build_batch, url, task, key=task_key(TASK_NAME), pure=False): task for task in tasks
        }
        symbols_done = 0
        try:
            while pending:
                if cancel is not None and cancel.cancelled:
                    raise JobCancelledError(f"cancelled by the user after {symbols_done} symbols")
                try:
                    with self.client.as_current():  # distributed.wait finds its client there
                        finished = wait(list(pending), timeout=POLL_SECONDS, return_when="FIRST_COMPLETED").done
                except TimeoutError:
                    continue
                for future in finished:
                    task = pending.pop(future)
                    outcomes = future.result()
                    future.release()
                    symbols_done += len(task.plans)
                    yield task, outcomes
        except BaseException:
            self._stop(list(pending))
            raise

    def _stop(self, pending: list[Future]) -> None:
        """Cancel what has not started; let what runs finish (each batch is one transaction); release all."""
        if not pending:
            return
        started = time.perf_counter()
        try:
            running = set(self.client.run_on_scheduler(_running, keys=[f.key for f in pending]))
        except Exception:  # the scheduler is gone: nothing more can be cancelled or waited for
            log.warning("cluster unreachable while cancelling %d feature batches", len(pending))
            return
        # Cancelling a finished future releases its result on the worker.
        self.client.cancel([f for f in pending if f.key not in running])
        running_futures = [f for f in pending if f.key in running]
        if running_futures:
            from distributed import wait

            with self.client.as_current():
                wait(running_futures)
            self.client.cancel(running_futures)
        log.info("feature build stopped: %d batches cancelled or dropped, %d let finish in %.1fs",
                 len(pending) - len(running_futures), len(running_futures), time.perf_counter() - started)  # fmt: skip
