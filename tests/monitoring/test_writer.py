"""The batching writer: everything arrives, from many threads, in order; the queue-full policy; bad rows."""

from __future__ import annotations

import json
import logging
import threading
import time

from monitoring_helpers import Install, count, messages
from sqlalchemy import Engine, event

from workstation.monitoring.recorders import record_trading_event, submit_row
from workstation.monitoring.rows import TRADING_EVENTS


def test_records_from_many_threads_all_arrive(engine: Engine, install: Install, log: logging.Logger) -> None:
    handle = install(engine)
    threads, per_thread = 8, 500

    def work(n: int) -> None:
        for i in range(per_thread):
            log.info("thread %d record %d", n, i)

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert handle.flush()
    assert count(engine, "system_logs") == threads * per_thread
    got = messages(engine)
    assert len(set(got)) == threads * per_thread
    for n in range(threads):  # each thread's records keep their order
        own = [m for m in got if m.startswith(f"thread {n} ")]
        assert own == [f"thread {n} record {i}" for i in range(per_thread)]
    assert handle.stats()["written"] == threads * per_thread


def test_row_columns_come_from_the_record(engine: Engine, install: Install, log: logging.Logger) -> None:
    handle = install(engine)
    log.warning("disk %s%% full", 93, extra={"monitoring_metadata": {"disk": "/data"}})
    log.log(25, "a custom level")
    assert handle.flush()
    from sqlalchemy import text

    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT level, logger_name, message, function_name, thread_name, process_id, metadata FROM system_logs"
            )
        ).all()
    assert rows[0][:5] == (
        "WARNING",
        "wstest.app",
        "disk 93% full",
        "test_row_columns_come_from_the_record",
        "MainThread",
    )
    assert rows[0][5] > 0
    meta = rows[0][6] if isinstance(rows[0][6], dict) else json.loads(rows[0][6])
    assert meta == {"disk": "/data"}
    assert rows[1][0] == "INFO"  # level 25 is stored as the standard level below it


def test_full_queue_blocks_briefly_then_spills_and_loses_nothing(engine: Engine, install: Install) -> None:
    gate = threading.Event()

    def slow_connect(*_args: object) -> None:
        gate.wait(10)  # the writer is stuck connecting, as with a database that hangs

    event.listen(engine, "do_connect", slow_connect)
    engine.dispose()
    handle = install(engine, max_queue=50, block_timeout=0.05, batch_size=10)
    log = logging.getLogger("wstest.full")
    started = time.perf_counter()
    for i in range(300):
        log.info("r%d", i)
    elapsed = time.perf_counter() - started
    assert handle.stats()["overflowed"] > 0
    assert elapsed < 20
    gate.set()
    event.remove(engine, "do_connect", slow_connect)
    assert handle.flush()
    deadline = time.monotonic() + 20
    while count(engine, "system_logs") < 300 and time.monotonic() < deadline:
        handle.flush()
    got = messages(engine)
    assert sorted(got) == sorted(f"r{i}" for i in range(300))
    assert len(got) == 300


def test_a_row_the_database_refuses_is_set_aside_and_the_rest_kept(engine: Engine, install: Install) -> None:
    handle = install(engine)
    record_trading_event("order_placed", symbol="AAPL", side="buy", quantity=1, price=10)
    submit_row(TRADING_EVENTS, {"event_type": "order_placed", "side": "hold"})  # violates the CHECK on side
    record_trading_event("order_filled", symbol="AAPL", side="buy", quantity=1, price=10)
    assert handle.flush()
    assert count(engine, "trading_events") == 2
    assert handle.stats()["rejected"] == 1
    rejected = (handle.spill_directory / "rejected.jsonl").read_text().splitlines()
    assert len(rejected) == 1
    assert "hold" in json.loads(rejected[0])["row"]


def test_install_is_idempotent_and_shutdown_flushes(engine: Engine, install: Install, log: logging.Logger) -> None:
    first = install(engine, flush_interval=30)
    assert install(engine) is first
    for i in range(10):
        log.info("before shutdown %d", i)
    first.shutdown()
    first.shutdown()
    assert count(engine, "system_logs") == 10
