"""Benchmark of the live feed path (a script, not collected by pytest).

    python3 tests/benchmarks/bench_feed.py [--symbols 50] [--minutes 780] [--backend sqlite|postgresql]
                                           [--admin-url postgresql://postgres@127.0.0.1/postgres]

The demo universe's hourly bars are replayed as fast as possible (speed 0, with synthetic trades and
quotes) over loopback by ReplayServer; a LiveFeed (the ``feed run`` path: alpaca-py's client, the writer
thread, the bar store, the announcements) receives them into a second database. Printed:

1. Messages per second through the client (bars + trades + quotes + daily bars) and minute bars stored
   per second, with the writer's delay from arrival to commit (median, max).
2. Baseline in the same run: the same minute bars written by one ``store_bars`` call (no stream).
3. Every minute the client received stored once (counted).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from workstation.db.engine import create_db_engine
from workstation.db.migrate import upgrade
from workstation.market.bars import load_bars
from workstation.market.demo import load_demo_universe
from workstation.market.replay.server import ReplayServer
from workstation.market.store import store_bars
from workstation.market.stream.service import FeedConfig, LiveFeed


def _target(backend: str, admin_url: str, tmp: Path) -> tuple[str, object]:
    if backend == "sqlite":
        return f"sqlite:///{tmp / 'target.db'}", None
    name = f"bench_feed_{os.getpid()}"
    admin = create_engine(make_url(admin_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False), (admin, name)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--symbols", type=int, default=50)
    parser.add_argument("--minutes", type=int, default=780, help="minute bars per symbol to receive (2 sessions)")
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        source = create_db_engine(f"sqlite:///{tmp / 'demo.db'}")
        upgrade(source)
        load_demo_universe(source, symbols=args.symbols, years=1, seed=7)
        url, cleanup = _target(args.backend, args.admin_url, tmp)
        target = create_db_engine(url)
        upgrade(target)
        try:
            server = ReplayServer(source, interval="1h", speed=0).start()
            feed = LiveFeed(
                target,
                FeedConfig(
                    tuple(server.universe.symbols),
                    "bench",
                    "bench",
                    stream_url=server.url,
                    source="replay",
                    backfill=False,
                ),
            )
            started = time.monotonic()
            feed.start()
            expected = args.minutes * len(server.universe.symbols)
            while feed.summary()["bars"] < expected and time.monotonic() - started < 600:
                time.sleep(0.05)
            received = time.monotonic() - started
            server.stop()  # no more messages: what arrived is what must be stored
            feed.stop()
            stored_at = time.monotonic() - started
            summary = feed.summary()
            messages = summary["messages"]
            print(f"backend {args.backend}, {len(server.universe.symbols)} symbols, {summary['bars']:,} minute bars")
            print(
                f"client: {messages:,} messages in {received:.2f} s = {messages / received:,.0f} messages/s "
                f"({summary['trades']:,} trades, {summary['quotes']:,} quotes, {summary['bars']:,} minute bars)"
            )
            print(
                f"stored {summary['stored_inserted']:,} minute bars in {stored_at:.2f} s = "
                f"{summary['stored_inserted'] / stored_at:,.0f} bars/s; writer delay median "
                f"{summary['median_delay_seconds'] * 1000:.0f} ms, max {summary['max_delay_seconds'] * 1000:.0f} ms, "
                f"{summary['batches']} batches"
            )
            frame = pd.concat(
                [
                    load_bars(target, s, "1m", source="replay").reset_index().assign(symbol=s)
                    for s in server.universe.symbols
                ]
            )
            assert len(frame) == summary["bars"] == summary["stored_inserted"], (len(frame), summary)
            baseline = create_db_engine(f"sqlite:///{tmp / 'baseline.db'}") if args.backend == "sqlite" else None
            if baseline is None:
                with target.begin() as conn:
                    conn.execute(text("DELETE FROM market_data_events"))
                    conn.execute(text("DELETE FROM market_data WHERE source = 'replay'"))
                baseline = target
            else:
                upgrade(baseline)
            batch = frame.assign(row=range(1, len(frame) + 1), interval="1m", source="replay")
            t0 = time.perf_counter()
            result = store_bars(baseline, batch)
            elapsed = time.perf_counter() - t0
            print(
                f"baseline: the same {len(batch):,} bars in one store_bars call: {elapsed:.2f} s = "
                f"{len(batch) / elapsed:,.0f} bars/s ({sum(c.inserted for c in result.counts.values()):,} inserted)"
            )
            print("every received minute stored once: yes")
        finally:
            target.dispose()
            if cleanup is not None:
                admin, name = cleanup  # type: ignore[misc]
                with admin.connect() as conn:  # type: ignore[attr-defined]
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
