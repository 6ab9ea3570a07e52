"""Correlation ids follow work into threads and process-pool workers, and onto every row."""

from __future__ import annotations

import logging
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pytest
from monitoring_helpers import TABLES, Install
from sqlalchemy import Engine, text

from workstation.monitoring.correlation import correlation_scope, current_correlation_id
from workstation.monitoring.propagation import (
    ContextThread,
    map_with_context,
    submit_with_context,
    with_correlation,
    worker_initializer,
)
from workstation.monitoring.recorders import record_error, record_trading_event, record_user_action
from workstation.monitoring.timing import timed


def _worker_id(_: object = None) -> str | None:
    return current_correlation_id()


def _worker_records(n: int) -> str | None:
    logging.getLogger("wstest.worker").warning("worker row %d", n)
    record_trading_event("signal_generated", symbol="MSFT", metadata={"n": n})
    return current_correlation_id()


def test_threads_inherit_the_id() -> None:
    with correlation_scope(prefix="job") as cid:
        with ThreadPoolExecutor(2) as pool:
            assert submit_with_context(pool, _worker_id).result() == cid
            assert list(map_with_context(pool, _worker_id, range(3))) == [cid] * 3
            assert pool.submit(_worker_id).result() is None  # a plain submit does not carry it
        seen: list[str | None] = []
        thread = ContextThread(target=lambda: seen.append(current_correlation_id()))
        thread.start()
        thread.join()
        assert seen == [cid]
        plain: list[str | None] = []
        other = threading.Thread(target=lambda: plain.append(current_correlation_id()))
        other.start()
        other.join()
        assert plain == [None]


@pytest.mark.slow
def test_process_pool_workers_get_the_id() -> None:
    context = multiprocessing.get_context("spawn")
    with correlation_scope(prefix="job") as cid, ProcessPoolExecutor(2, mp_context=context) as pool:
        assert submit_with_context(pool, _worker_id).result(timeout=120) == cid
        assert list(map_with_context(pool, _worker_id, range(2))) == [cid, cid]
        assert pool.submit(with_correlation(_worker_id, "given")).result(timeout=60) == "given"
    with ProcessPoolExecutor(1, mp_context=context, initializer=worker_initializer, initargs=("init-id",)) as pool:
        assert pool.submit(_worker_id).result(timeout=120) == "init-id"


@pytest.mark.slow
def test_rows_written_in_workers_carry_the_parent_id(db_url: str, engine: Engine, install: Install) -> None:
    handle = install(engine, logger=logging.getLogger())
    with correlation_scope(prefix="job") as cid:
        logging.getLogger("wstest.parent").info("parent starts")
        with ThreadPoolExecutor(2) as threads:
            list(map_with_context(threads, _worker_records, range(4)))
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(
            2, mp_context=context, initializer=worker_initializer, initargs=(cid, db_url, "pool")
        ) as pool:
            ids = [
                f.result(timeout=120) for f in [submit_with_context(pool, _worker_records, 10 + n) for n in range(4)]
            ]
        assert ids == [cid] * 4
        with timed("job.total", component="test"):
            pass
        try:
            raise RuntimeError("worker gave up")
        except RuntimeError as exc:
            record_error(exc, component="test")
        record_user_action("run_job", user_id="trader", request_path="jobs/run", response_status=200)
    assert handle.flush()
    with engine.connect() as conn:
        for table in TABLES:
            rows = conn.execute(text(f"SELECT correlation_id FROM {table}")).scalars().all()
            assert rows, table
            assert set(rows) == {cid}, table
        workers = conn.execute(text("SELECT count(*) FROM system_logs WHERE message LIKE 'worker row %'")).scalar()
        assert workers == 8  # four from threads, four from the process pool
        events = conn.execute(text("SELECT count(*) FROM trading_events")).scalar()
        assert events == 8
