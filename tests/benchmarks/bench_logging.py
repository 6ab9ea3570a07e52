"""Benchmark of the monitoring log path (a script, not collected by pytest).

    python3 tests/benchmarks/bench_logging.py [--quick] [--admin-url postgresql://postgres@127.0.0.1/postgres]

1. Caller cost: ``logger.info(...)`` with the database handler installed versus the same call
   with a plain ``logging.FileHandler`` (median and p99, same run, same process).
2. Sustained throughput into PostgreSQL (COPY): records per second from first emit to the last
   row committed, and a check that every record arrived.
3. Outage: records produced at a steady rate while the database is unreachable for 30 s
   (a TCP proxy in front of PostgreSQL is cut), then restored: every record must arrive exactly once.

Uses its own PostgreSQL database (created and dropped).
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "monitoring"))

from monitoring_proxy import TcpProxy

from workstation.db.engine import create_db_engine
from workstation.db.migrate import upgrade
from workstation.monitoring.install import install_monitoring

DB_NAME = f"bench_logging_{os.getpid()}"


def _percentile(values: list[int], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1000.0


def _time_calls(logger: logging.Logger, n: int) -> list[int]:
    clock = time.perf_counter_ns
    info = logger.info
    samples = []
    for i in range(n):
        start = clock()
        info("order %d accepted for %s at %.2f", i, "AAPL", 187.25)
        samples.append(clock() - start)
    return samples


def _count(engine, where: str = "1=1") -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM system_logs WHERE {where}")).scalar_one())


def bench_emit(engine, n: int, spill: Path) -> None:  # type: ignore[no-untyped-def]
    file_logger = logging.getLogger("bench.file")
    file_logger.propagate = False
    file_logger.setLevel(logging.INFO)
    with tempfile.TemporaryDirectory() as tmp:
        handler = logging.FileHandler(Path(tmp) / "bench.log")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        file_logger.addHandler(handler)
        _time_calls(file_logger, 2000)  # warm-up
        file_samples = _time_calls(file_logger, n)
        file_logger.removeHandler(handler)
        handler.close()
    db_logger = logging.getLogger("bench.db")
    db_logger.propagate = False
    handle = install_monitoring(engine, component="bench", logger=db_logger, spill_dir=spill, excepthooks=False)
    _time_calls(db_logger, 2000)
    handle.flush()
    db_samples = _time_calls(db_logger, n)
    handle.flush()
    handle.shutdown()
    fm, fp = statistics.median(file_samples) / 1000, _percentile(file_samples, 0.99)
    dm, dp = statistics.median(db_samples) / 1000, _percentile(db_samples, 0.99)
    print(f"emit (caller, {n:,} calls): database handler median {dm:.2f} µs, p99 {dp:.2f} µs")
    print(f"emit (caller, {n:,} calls): FileHandler      median {fm:.2f} µs, p99 {fp:.2f} µs")
    print(f"emit ratio database/file: median {dm / fm:.2f}x, p99 {dp / fp:.2f}x   (target: median <= 20 µs)")


def bench_throughput(engine, n: int, spill: Path) -> None:  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE system_logs"))
    logger = logging.getLogger("bench.throughput")
    logger.propagate = False
    handle = install_monitoring(
        engine, component="bench", logger=logger, spill_dir=spill, excepthooks=False, max_queue=200_000
    )
    start = time.perf_counter()
    for i in range(n):
        logger.info("fill %d for order %s", i, "c-1")
    produced = time.perf_counter() - start
    handle.flush(600)
    elapsed = time.perf_counter() - start
    stored = _count(engine)
    stats = handle.stats()
    handle.shutdown()
    print(
        f"throughput: {n:,} records in {elapsed:.2f} s = {n / elapsed:,.0f} records/s into PostgreSQL "
        f"(producer alone {n / produced:,.0f}/s); stored {stored:,}, lost {n - stored:,}, "
        f"spilled {stats['spilled']:,}   (target: >= 20,000/s, 0 lost)"
    )


def bench_outage(url: str, rate: int, before: float, outage: float, after: float, spill: Path) -> None:
    parsed = make_url(url)
    proxy = TcpProxy(parsed.host or "127.0.0.1", parsed.port or 5432)
    proxy.start()
    engine = create_db_engine(parsed.set(port=proxy.port))
    direct = create_db_engine(url)
    with direct.begin() as conn:
        conn.execute(text("TRUNCATE system_logs"))
    logger = logging.getLogger("bench.outage")
    logger.propagate = False
    handle = install_monitoring(engine, component="bench", logger=logger, spill_dir=spill, excepthooks=False)
    produced = 0
    start = time.perf_counter()
    phases = ((before, False), (outage, True), (after, False))
    cut_at = restored_at = 0.0
    for length, down in phases:
        if down:
            proxy.stop()
            cut_at = time.perf_counter() - start
        elif cut_at and not restored_at:
            proxy.start()
            restored_at = time.perf_counter() - start
        phase_end = time.perf_counter() + length
        while time.perf_counter() < phase_end:
            tick = time.perf_counter()
            for _ in range(rate // 100):
                logger.info("outage row %08d", produced)
                produced += 1
            time.sleep(max(0.0, 0.01 - (time.perf_counter() - tick)))
    deadline = time.perf_counter() + 600
    while (handle.in_outage or handle.writer.spill.has_pending()) and time.perf_counter() < deadline:
        handle.flush(60)
        time.sleep(0.2)
    handle.flush(60)
    caught_up = time.perf_counter() - start
    stats = handle.stats()
    handle.shutdown()
    stored = _count(direct)
    with direct.connect() as conn:
        distinct = int(conn.execute(text("SELECT count(DISTINCT message) FROM system_logs")).scalar_one())
    proxy.stop()
    engine.dispose()
    direct.dispose()
    print(
        f"outage: {produced:,} records at {rate:,}/s, database cut {cut_at:.0f}-{restored_at:.0f} s "
        f"({outage:.0f} s); spilled {stats['spilled']:,}, replayed {stats['replayed']:,}; stored {stored:,} "
        f"({distinct:,} distinct), lost {produced - distinct:,}, duplicated {stored - distinct:,}; "
        f"all in by {caught_up:.1f} s   (target: 0 lost, 0 duplicated)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="Shorter run (10 s outage, fewer records).")
    parser.add_argument(
        "--admin-url", default=os.environ.get("BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1/postgres")
    )
    args = parser.parse_args()
    admin = create_engine(make_url(args.admin_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{DB_NAME}"'))
        conn.execute(text(f'CREATE DATABASE "{DB_NAME}"'))
    url = make_url(args.admin_url).set(drivername="postgresql+psycopg", database=DB_NAME)
    url_text = url.render_as_string(hide_password=False)
    engine = create_db_engine(url_text)
    spill = Path(tempfile.mkdtemp(prefix="bench_logging_spill_"))
    try:
        upgrade(engine)
        mode = "quick" if args.quick else "full"
        print(f"bench_logging ({mode}), PostgreSQL database {DB_NAME}, {os.cpu_count()} cores")
        bench_emit(engine, 20_000 if args.quick else 100_000, spill / "emit")
        bench_throughput(engine, 100_000 if args.quick else 500_000, spill / "throughput")
        if args.quick:
            bench_outage(url_text, 2_000, 5, 10, 5, spill / "outage")
        else:
            bench_outage(url_text, 5_000, 15, 30, 15, spill / "outage")
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
