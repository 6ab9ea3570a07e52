"""Benchmark: storing 2,000,000 hourly bars (1,000 symbols × 2,000 bars) in PostgreSQL.

Measures, in one run on the same data: our ingest path (validate → adjust → compare with stored bars →
COPY binary, two batches in flight) into a fresh database, pandas ``DataFrame.to_sql(chunksize=10_000)``
into another fresh database with the same schema, and a reload of the same data through our path (every
bar unchanged, nothing written). Targets: fresh load >= 200,000 rows/s and >= 2x to_sql; reload >=
100,000 rows/s with 0 rows changed. The machine's load average is printed before and after: on a
shared machine the figures mean little without it.

    python3 tests/benchmarks/bench_ingest.py [--scale 0.1] [--tosql-fraction 0.25]
        [--admin-url postgresql://postgres@127.0.0.1/postgres]

``--tosql-fraction`` times to_sql on the first part of the same bars only (its rate is then measured on
that part, and the output says so); by default it loads everything.

The databases (bench_ingest_<pid>_ours / _tosql) are created here and dropped afterwards.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from workstation.db.engine import create_db_engine
from workstation.db.migrate import upgrade
from workstation.market.frame import ProviderBatch
from workstation.market.ingest import process_batch

SYMBOLS, BARS = 1_000, 2_000


def make_bars(symbols: int, bars: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    stamps = pd.date_range("2023-01-03 14:30", periods=bars, freq="h", tz="UTC")
    n = symbols * bars
    close = np.exp(np.log(rng.uniform(10, 500, symbols))[:, None] + np.cumsum(rng.normal(0, 0.004, (symbols, bars)), 1))
    close = close.ravel()
    open_ = close * np.exp(rng.normal(0, 0.002, n))
    high = np.maximum(open_, close) * (1 + np.abs(rng.normal(0, 0.002, n)))
    low = np.minimum(open_, close) * (1 - np.abs(rng.normal(0, 0.002, n)))
    return pd.DataFrame(
        {
            "row": np.arange(1, n + 1),
            "symbol": np.repeat([f"B{i:04d}" for i in range(symbols)], bars),
            "interval": "1h",
            "timestamp": np.tile(stamps, symbols),
            "open": open_.round(4), "high": high.round(4), "low": low.round(4), "close": close.round(4),
            "volume": rng.integers(100, 1_000_000, n),
            "source": "bench",
        }
    )  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="Fraction of the 1,000 symbols to use.")
    parser.add_argument("--tosql-fraction", type=float, default=1.0, help="Share of the bars to time pandas to_sql on.")
    parser.add_argument(
        "--admin-url", default=os.environ.get("BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1/postgres")
    )
    args = parser.parse_args()
    symbols = max(1, round(SYMBOLS * args.scale))
    admin_url = make_url(args.admin_url).set(drivername="postgresql+psycopg")
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    names = [f"bench_ingest_{os.getpid()}_ours", f"bench_ingest_{os.getpid()}_tosql"]
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        ours = create_db_engine(admin_url.set(database=names[0]).render_as_string(hide_password=False))
        theirs = create_db_engine(admin_url.set(database=names[1]).render_as_string(hide_password=False))
        upgrade(ours)
        upgrade(theirs)
        bars = make_bars(symbols, BARS)
        rows = len(bars)
        print(f"bench_ingest: {symbols:,} symbols x {BARS:,} hourly bars = {rows:,} rows (scale {args.scale:g})")
        print("load average before: {:.2f} {:.2f} {:.2f} on {} cores".format(*os.getloadavg(), os.cpu_count()))

        t0 = time.perf_counter()
        fresh = process_batch(ours, ProviderBatch(bars=bars.copy()), interval="1h", source="bench")
        ours_s = time.perf_counter() - t0
        if fresh.inserted != rows or fresh.failures:
            raise SystemExit(f"fresh load stored {fresh.inserted} of {rows} rows: {fresh.failures}")

        with theirs.begin() as conn:  # the foreign key needs the symbols; not part of the timing
            conn.execute(
                text("INSERT INTO stock_info (symbol, source) VALUES (:s, 'bench')"),
                [{"s": s} for s in bars["symbol"].unique()],
            )
        plain = bars.drop(columns="row")
        tosql_rows = max(1, round(rows * min(1.0, args.tosql_fraction)))
        t0 = time.perf_counter()
        plain.iloc[:tosql_rows].to_sql("market_data", theirs, if_exists="append", index=False, chunksize=10_000)
        tosql_s = time.perf_counter() - t0

        t0 = time.perf_counter()
        again = process_batch(ours, ProviderBatch(bars=bars.copy()), interval="1h", source="bench")
        reload_s = time.perf_counter() - t0
        changed = again.inserted + again.updated

        fresh_rate, tosql_rate, reload_rate = rows / ours_s, tosql_rows / tosql_s, rows / reload_s
        subset = "" if tosql_rows == rows else f"  (rate on the first {tosql_rows:,} rows)"
        print(f"fresh load (validate + COPY binary): {ours_s:7.2f} s  {fresh_rate:12,.0f} rows/s")
        print(f"pandas to_sql(chunksize=10_000):     {tosql_s:7.2f} s  {tosql_rate:12,.0f} rows/s{subset}")
        print(f"ratio ours / to_sql:                 {fresh_rate / tosql_rate:7.2f}x")
        print(f"reload (all unchanged):              {reload_s:7.2f} s  {reload_rate:12,.0f} rows/s  "
              f"changed {changed}, unchanged {again.unchanged:,}")  # fmt: skip
        checks = {
            "fresh >= 200,000 rows/s": fresh_rate >= 200_000,
            "fresh >= 2x to_sql": fresh_rate >= 2 * tosql_rate,
            "reload >= 100,000 rows/s": reload_rate >= 100_000,
            "reload changed 0 rows": changed == 0 and again.unchanged == rows,
        }
        print("load average after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
        for name, ok in checks.items():
            print(f"  {'PASS' if ok else 'FAIL'}  {name}")
        ours.dispose()
        theirs.dispose()
        return 0 if all(checks.values()) else 1
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    sys.exit(main())
