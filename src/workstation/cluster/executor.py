"""A ``concurrent.futures.Executor`` whose tasks run on the cluster, and the context that opens one.

Each ``submit`` becomes one Dask task with a key made of the function's name and a random id, so a key
never carries an argument (distributed would otherwise hash the arguments, and the dashboard shows
keys). The returned futures are ordinary ``concurrent.futures`` futures, so ``wait`` and
``as_completed`` work and the callers' progress and cancel code runs unchanged; cancelling one (Ctrl+C,
the window's cancel) cancels its Dask future. A worker that dies mid-task is not an error: the scheduler
runs the task again elsewhere (up to ``distributed.scheduler.allowed-failures`` times, 3 by default).
"""

from __future__ import annotations

import concurrent.futures as cf
import functools
import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from workstation.cluster.connect import connect, describe, worker_threads
from workstation.cluster.versions import check_workers

if TYPE_CHECKING:
    from distributed import Client, Future

log = logging.getLogger(__name__)


def task_key(name: str) -> str:
    """``name-<32 hex>``: the dashboard groups tasks by the name; the id makes each task its own."""
    return f"{name}-{uuid.uuid4().hex}"


def _name_of(fn: Callable[..., Any]) -> str:
    return str(getattr(fn, "__name__", None) or type(fn).__name__).replace("_", "-")


class ClusterExecutor(cf.Executor):
    """Runs each submitted call as a task on ``client``'s cluster."""

    def __init__(self, client: Client) -> None:
        self.client = client
        # ml.executors.workers_of reads this: how many tasks run at once.
        self._max_workers = worker_threads(client)
        self._lock = threading.Lock()
        self._outstanding: set[Future] = set()
        self._shutdown = False

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> cf.Future[Any]:
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot submit to a cluster executor after shutdown")
            key = task_key(_name_of(fn))
            # The call's keyword arguments go in a partial: client.submit has keywords of its own (workers=, …).
            call = functools.partial(fn, **kwargs) if kwargs else fn
            future = self.client.submit(call, *args, key=key, pure=False)
            self._outstanding.add(future)
        return self._wrap(future)

    def publish(self, data: Any) -> Future:
        """Send ``data`` to the cluster once; pass the returned future to ``submit`` in its place.

        ml.executors' ``publish`` hook: the training arrays travel once, not with every fold."""
        return self.client.scatter(data, hash=False)

    def _wrap(self, future: Future) -> cf.Future[Any]:
        outer: cf.Future[Any] = cf.Future()

        def cancel_task(done: cf.Future[Any]) -> None:
            if done.cancelled() and not future.done():
                future.cancel()

        def settle(finished: Future) -> None:  # runs in a thread of distributed's, once the task is over
            with self._lock:
                self._outstanding.discard(finished)
            if outer.done():  # cancelled here first
                return
            try:
                if finished.status == "finished":
                    outer.set_result(finished.result())
                elif finished.status == "cancelled":
                    outer.cancel()
                    outer.set_running_or_notify_cancel()  # wakes wait() and as_completed()
                else:
                    outer.set_exception(finished.exception())
            except cf.InvalidStateError:  # cancelled by the caller between the check and here
                pass
            except BaseException as exc:  # fetching the result failed (e.g. the scheduler went away)
                if not outer.done():
                    outer.set_exception(exc)

        outer.add_done_callback(cancel_task)
        future.add_done_callback(settle)
        return outer

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._shutdown = True
            outstanding = list(self._outstanding)
        if cancel_futures or not wait:
            self.client.cancel(outstanding)
        elif outstanding:
            from distributed import wait as wait_all

            with self.client.as_current():
                wait_all(outstanding)


@contextmanager
def cluster_client(address: str, *, announce: Callable[[str], None] | None = None) -> Iterator[Client]:
    """A checked client: connected, with workers that run our versions; closed at the end.

    ``announce`` receives the one line naming the cluster and its dashboard (the CLI prints it)."""
    client = connect(address)
    try:
        check_workers(client)
        line = describe(client)
        log.info("%s", line)
        if announce is not None:
            announce(line)
        yield client
    finally:
        client.close()


@contextmanager
def cluster_executor(address: str, *, announce: Callable[[str], None] | None = None) -> Iterator[ClusterExecutor]:
    """An Executor on the cluster at ``address`` (checked as :func:`cluster_client` does).

    On leaving, tasks still outstanding are cancelled (the block ended early: an error or a cancel)."""
    with cluster_client(address, announce=announce) as client:
        executor = ClusterExecutor(client)
        try:
            yield executor
        finally:
            executor.shutdown(wait=False, cancel_futures=True)
