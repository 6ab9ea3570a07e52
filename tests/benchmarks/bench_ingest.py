"""Benchmark: storing 2,000,000 hourly bars (1,000 symbols × 2,000 bars) in PostgreSQL.

Measures, in one run on the same data: our ingest path (validate → adjust → compare with stored bars →
COPY binary, two batches in flight) into a fresh database, pandas ``DataFrame.to_sql(chunksize=10_000)``
into another fresh database with the same schema, and a reload of the same data through our path (every
bar unchanged, nothing written). Targets: fresh load >= 200,000 rows/s and >= 2x to_sql; reload >=
100,000 rows/s with 0 rows changed. The machine's load average is printed before and after: on a
shared machine the figures mean little without it.

``--layout`` picks the market_data layout: ``partitioned`` (the schema at head: range partitions,
migration 0011), ``plain`` (the schema just before 0011: one table) or ``both`` (default), which loads
the same bars into a fresh database of each layout, ``--rounds`` times in alternating order, and prints
the partitioned/plain ratio of the medians — the comparison that means something on a shared machine.

    python3 tests/benchmarks/bench_ingest.py [--scale 0.1] [--tosql-fraction 0.25] [--layout both --rounds 3]
        [--admin-url postgresql://postgres@127.0.0.1/postgres]

``--tosql-fraction`` times to_sql on the first part of the same bars only (its rate is then measured on
that part, and the output says so); by default it loads everything; ``--tosql-fraction 0`` skips it.

The databases (bench_ingest_<pid>_…) are created here and dropped afterwards.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL, make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from workstation.db.engine import create_db_engine
from workstation.db.migrate import previous_revision, upgrade
from workstation.db.partitions import ensure_partitions
from workstation.market.frame import ProviderBatch
from workstation.market.ingest import process_batch

SYMBOLS, BARS = 1_000, 2_000
# The schema just before partitioning: the unpartitioned layout to compare with.
PLAIN = previous_revision("0011_partitioning")


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


class Databases:
    """Fresh benchmark databases on the admin URL's server, all dropped at the end."""

    def __init__(self, admin_url: URL) -> None:
        self.url = admin_url
        self.admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self.names: list[str] = []

    def fresh(self, label: str, revision: str = "heads") -> Engine:
        name = f"bench_ingest_{os.getpid()}_{label}_{len(self.names)}"
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        self.names.append(name)
        engine = create_db_engine(self.url.set(database=name).render_as_string(hide_password=False))
        upgrade(engine, revision)
        return engine

    def drop(self, engine: Engine) -> None:
        engine.dispose()
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{engine.url.database}" WITH (FORCE)'))

    def close(self) -> None:
        with self.admin.connect() as conn:
            for name in self.names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()


def load_and_reload(engine: Engine, bars: pd.DataFrame) -> tuple[float, float, int, int]:
    """(fresh seconds, reload seconds, rows changed by the reload, rows unchanged) through our ingest path."""
    rows = len(bars)
    t0 = time.perf_counter()
    fresh = process_batch(engine, ProviderBatch(bars=bars.copy()), interval="1h", source="bench")
    fresh_s = time.perf_counter() - t0
    if fresh.inserted != rows or fresh.failures:
        raise SystemExit(f"fresh load stored {fresh.inserted} of {rows} rows: {fresh.failures}")
    t0 = time.perf_counter()
    again = process_batch(engine, ProviderBatch(bars=bars.copy()), interval="1h", source="bench")
    return fresh_s, time.perf_counter() - t0, again.inserted + again.updated, again.unchanged


def time_to_sql(databases: Databases, bars: pd.DataFrame, fraction: float) -> tuple[float, int]:
    theirs = databases.fresh("tosql")
    try:
        with theirs.begin() as conn:  # the foreign key needs the symbols; not part of the timing
            conn.execute(
                text("INSERT INTO stock_info (symbol, source) VALUES (:s, 'bench')"),
                [{"s": s} for s in bars["symbol"].unique()],
            )
        ensure_partitions(theirs, "market_data", bars["timestamp"])  # to_sql cannot make ranges itself
        plain = bars.drop(columns="row")
        rows = max(1, round(len(bars) * min(1.0, fraction)))
        t0 = time.perf_counter()
        plain.iloc[:rows].to_sql("market_data", theirs, if_exists="append", index=False, chunksize=10_000)
        return time.perf_counter() - t0, rows
    finally:
        databases.drop(theirs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="Fraction of the 1,000 symbols to use.")
    parser.add_argument("--tosql-fraction", type=float, default=1.0, help="Share of the bars to time pandas to_sql on.")
    parser.add_argument("--layout", choices=("partitioned", "plain", "both"), default="both")
    parser.add_argument("--rounds", type=int, default=1, help="Fresh loads per layout (alternating order).")
    parser.add_argument(
        "--admin-url", default=os.environ.get("BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1/postgres")
    )
    args = parser.parse_args()
    symbols = max(1, round(SYMBOLS * args.scale))
    layouts = {"partitioned": "heads", "plain": PLAIN}
    chosen = list(layouts) if args.layout == "both" else [args.layout]
    databases = Databases(make_url(args.admin_url).set(drivername="postgresql+psycopg"))
    try:
        bars = make_bars(symbols, BARS)
        rows = len(bars)
        print(f"bench_ingest: {symbols:,} symbols x {BARS:,} hourly bars = {rows:,} rows (scale {args.scale:g}); "
              f"layouts {', '.join(chosen)} ({PLAIN} = plain), {args.rounds} round(s)")  # fmt: skip
        print("load average before: {:.2f} {:.2f} {:.2f} on {} cores".format(*os.getloadavg(), os.cpu_count()))
        results: dict[str, list[tuple[float, float, int, int]]] = {name: [] for name in chosen}
        for round_ in range(args.rounds):
            order = chosen if round_ % 2 == 0 else chosen[::-1]  # neither layout always runs on a warmer machine
            for name in order:
                engine = databases.fresh(name, layouts[name])
                try:
                    fresh_s, reload_s, changed, unchanged = load_and_reload(engine, bars)
                finally:
                    databases.drop(engine)
                results[name].append((fresh_s, reload_s, changed, unchanged))
                print(f"  round {round_ + 1} {name:<11} fresh {rows / fresh_s:12,.0f} rows/s   "
                      f"reload {rows / reload_s:12,.0f} rows/s   changed {changed}   "
                      f"(load {os.getloadavg()[0]:.1f})")  # fmt: skip
        tosql = time_to_sql(databases, bars, args.tosql_fraction) if args.tosql_fraction > 0 else None

        checks: dict[str, bool] = {}
        medians = {}
        for name, runs in results.items():
            fresh_rate = rows / statistics.median(r[0] for r in runs)
            reload_rate = rows / statistics.median(r[1] for r in runs)
            medians[name] = (fresh_rate, reload_rate)
            print(f"{name:<11} fresh load (validate + COPY binary): median {fresh_rate:12,.0f} rows/s; "
                  f"reload (all unchanged): median {reload_rate:12,.0f} rows/s")  # fmt: skip
            checks[f"{name}: fresh >= 200,000 rows/s"] = fresh_rate >= 200_000
            checks[f"{name}: reload >= 100,000 rows/s"] = reload_rate >= 100_000
            checks[f"{name}: reload changed 0 rows"] = all(r[2] == 0 and r[3] == rows for r in runs)
        if tosql is not None:
            tosql_s, tosql_rows = tosql
            tosql_rate = tosql_rows / tosql_s
            subset = "" if tosql_rows == rows else f"  (rate on the first {tosql_rows:,} rows)"
            best = medians[chosen[0]][0]
            print(f"pandas to_sql(chunksize=10_000):     {tosql_s:7.2f} s  {tosql_rate:12,.0f} rows/s{subset}")
            print(f"ratio {chosen[0]} / to_sql:          {best / tosql_rate:7.2f}x")
            checks[f"{chosen[0]}: fresh >= 2x to_sql"] = best >= 2 * tosql_rate
        if len(medians) == 2:
            fresh_ratio = medians["partitioned"][0] / medians["plain"][0]
            reload_ratio = medians["partitioned"][1] / medians["plain"][1]
            print(f"partitioned / plain: fresh {fresh_ratio:.3f}x, reload {reload_ratio:.3f}x (1.0 = same speed)")
            checks["partitioned fresh within 10% of plain"] = fresh_ratio >= 0.9
            checks["partitioned reload within 10% of plain"] = reload_ratio >= 0.9
        print("load average after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
        for name, ok in checks.items():
            print(f"  {'PASS' if ok else 'FAIL'}  {name}")
        return 0 if all(checks.values()) else 1
    finally:
        databases.close()


if __name__ == "__main__":
    sys.exit(main())
