"""Benchmark: feature builds for 1,000 symbols × 2,000 bars in PostgreSQL (run as a script, not collected).

    PYTHONPATH=src python3 tests/benchmarks/bench_features.py [--scale 0.1] [--naive-symbols 5]
        [--layout partitioned|plain|both] [--rounds 2] [--steps 5]

Creates its own database (bench_features_<pid>) on WORKSTATION_TEST_DATABASE_URL's server (default
postgresql://postgres@127.0.0.1/postgres), bulk-loads synthetic bars with COPY, then times:
  * the full build (compute + COPY write + summary refresh) next to the naive way — the same features per
    symbol with pandas and DataFrame.to_sql, one symbol at a time — measured on --naive-symbols symbols and
    extrapolated linearly to all symbols (it is too slow to run on all of them);
  * an incremental build after one new bar per symbol (planned from feature_build_state's fingerprints:
    tail only), and a second one with nothing new (planning only);
  * a summary refresh (CONCURRENTLY) and the median of 100 summary queries.
Each line shows the 1-minute load average when it was measured (the machine is shared: compare runs
only at similar load).
Targets (full size): full ≤ 30 s, incremental ≤ 3 s, refresh ≤ 1 s, query median ≤ 1 ms.
``--layout both`` runs everything on a partitioned database (the schema at head) and on an unpartitioned
one (the schema just before migration 0011), side by side: every phase alternates between the two,
``--steps`` incremental builds each, ``--rounds`` fresh pairs; it prints the ratios of the medians — on a
shared machine only such a same-run comparison says whether partitioning costs anything.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time

import numpy as np
import pandas as pd
import psycopg
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from workstation.db.engine import create_db_engine
from workstation.db.migrate import previous_revision, upgrade
from workstation.db.partitions import ensure_partitions
from workstation.db.summary import dashboard_summary, refresh_dashboard_summary
from workstation.features.catalog import FEATURE_NAMES
from workstation.features.compute import compute_features
from workstation.features.engine import build_features
from workstation.features.pool import WORKERS, feature_pool
from workstation.market.bars import load_bars

BARS = 2000
# The schema just before partitioning: the unpartitioned layout to compare with (--layout plain/both).
PLAIN = previous_revision("0011_partitioning")
START = pd.Timestamp("2016-01-04 21:00", tz="UTC")


def _load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def synthetic(n_symbols: int, n_bars: int, seed: int = 7) -> tuple[list[str], pd.DatetimeIndex, np.ndarray]:
    rng = np.random.default_rng(seed)
    close = 20.0 + 180.0 * rng.random((n_symbols, 1)) * np.exp(
        np.cumsum(rng.normal(0.0002, 0.02, (n_symbols, n_bars)), 1)
    )
    open_ = close * np.exp(rng.normal(0, 0.005, close.shape))
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0, 0.008, close.shape)))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0, 0.008, close.shape)))
    volume = rng.integers(50_000, 20_000_000, close.shape).astype(np.float64)
    symbols = [f"S{i:04d}" for i in range(n_symbols)]
    index = pd.date_range(START, periods=n_bars, freq="B")
    return symbols, index, np.round(np.stack([open_, high, low, close, volume], axis=2), 4)


def copy_bars(url: str, symbols: list[str], index: pd.DatetimeIndex, values: np.ndarray, first: int, last: int) -> None:
    """COPY bars [first, last) of every symbol into market_data (text COPY from a CSV buffer)."""
    n = last - first
    frame = pd.DataFrame(
        {
            "symbol": np.repeat(symbols, n),
            "interval": "1d",
            "timestamp": np.tile(index[first:last].strftime("%Y-%m-%d %H:%M:%S+00"), len(symbols)),
            "open": values[:, first:last, 0].ravel(),
            "high": values[:, first:last, 1].ravel(),
            "low": values[:, first:last, 2].ravel(),
            "close": values[:, first:last, 3].ravel(),
            "volume": values[:, first:last, 4].ravel().astype(np.int64),
            "source": "synthetic",
        }
    )
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, header=False)
    with (
        psycopg.connect(url) as conn,
        conn.cursor() as cur,
        cur.copy(
            "COPY market_data (symbol, interval, timestamp, open, high, low, close, volume, source)"
            " FROM STDIN (FORMAT CSV)"
        ) as copy,
    ):
        copy.write(buffer.getvalue())


def naive_build(engine, symbols: list[str]) -> float:  # type: ignore[no-untyped-def]
    """The straightforward way: per symbol load, compute with pandas, DataFrame.to_sql into a copy of the table."""
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS naive_features"))
        conn.execute(text("CREATE TABLE naive_features (LIKE feature_engineered_data INCLUDING ALL)"))
    started = time.perf_counter()
    for symbol in symbols:
        bars = load_bars(engine, symbol, "1d")
        frame = pd.concat([bars.astype("float64"), compute_features(bars)], axis=1)
        frame.insert(0, "timestamp", frame.index)
        frame.insert(0, "source", "synthetic")
        frame.insert(0, "interval", "1d")
        frame.insert(0, "symbol", symbol)
        frame["feature_version"] = "3.0"
        frame.to_sql("naive_features", engine, if_exists="append", index=False, method="multi", chunksize=200)
    elapsed = time.perf_counter() - started
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE naive_features"))
    return elapsed


class LayoutRun:
    """One benchmark database (one layout) and the figures measured on it; each phase is one method, so
    that with ``--layout both`` the phases of the two databases can alternate."""

    def __init__(self, layout: str, raw_url: str, n_symbols: int, steps: int) -> None:
        self.layout, self.raw_url = layout, raw_url
        self.engine = create_db_engine(raw_url)
        self.symbols, self.index, self.values = synthetic(n_symbols, BARS + steps)  # later bars: incremental steps
        self.figures: dict[str, list[float]] = {}
        self.bars = BARS

    def record(self, figure: str, value: float) -> float:
        self.figures.setdefault(figure, []).append(value)
        return value

    def setup(self) -> None:
        # market_data may be partitioned (0011): the ranges the COPY below needs (the bar store makes its own).
        ensure_partitions(self.engine, "market_data", self.index)
        t0 = time.perf_counter()
        with (
            psycopg.connect(self.raw_url) as conn,
            conn.cursor() as cur,
            cur.copy("COPY stock_info (symbol, source) FROM STDIN") as copy,
        ):
            for symbol in self.symbols:
                copy.write_row((symbol, "synthetic"))
        copy_bars(self.raw_url, self.symbols, self.index, self.values, 0, BARS)
        with psycopg.connect(self.raw_url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE market_data")
            # Write the setup's ~1 GB of freshly loaded bars to disk now: otherwise the checkpointer
            # flushes them during the full build and the setup's I/O is billed to the build.
            conn.execute("CHECKPOINT")
        print(f"  [{self.layout}] setup: {len(self.symbols)} symbols × {BARS} bars loaded with COPY in "
              f"{time.perf_counter() - t0:.1f}s")  # fmt: skip

    def full(self, naive_symbols: int) -> None:
        t0 = time.perf_counter()
        full = build_features(self.engine, full=True)
        full_s = self.record("full", time.perf_counter() - t0)
        phases = ", ".join(f"{k} {v:.2f}s" for k, v in full.phase_seconds.items())
        line = (
            f"  [{self.layout}] full build ({phases}): {full.rows_written:,} rows × {len(FEATURE_NAMES)} features "
            f"in {full_s:.2f}s (target ≤ 30s at full size; {full.rows_written / full_s:,.0f} rows/s; load {_load()})"
        )
        if naive_symbols:
            naive_n = min(naive_symbols, len(self.symbols))
            naive_s = naive_build(self.engine, self.symbols[:naive_n]) * len(self.symbols) / naive_n
            line += (
                f"; naive pandas+to_sql: {naive_s:.1f}s (measured on {naive_n} symbols, extrapolated) "
                f"-> {naive_s / full_s:.1f}× faster"
            )
        print(line)
        with psycopg.connect(self.raw_url, autocommit=True) as conn:
            conn.execute("ANALYZE feature_engineered_data")
            # Flush the full build's 3 GB of dirty pages now, as would have happened long before the next
            # day's bar arrives, instead of inside the incremental measurement.
            conn.execute("CHECKPOINT")

    def incremental(self) -> None:
        copy_bars(self.raw_url, self.symbols, self.index, self.values, self.bars, self.bars + 1)
        self.bars += 1
        t0 = time.perf_counter()
        incremental = build_features(self.engine)
        inc_s = self.record("incremental", time.perf_counter() - t0)
        modes = pd.Series([s.mode for s in incremental.symbols]).value_counts().to_dict()
        phases = ", ".join(f"{k} {v:.2f}s" for k, v in incremental.phase_seconds.items())
        print(f"  [{self.layout}] incremental build (1 new bar per symbol): {incremental.rows_written:,} rows in "
              f"{inc_s:.2f}s (target ≤ 3s; load {_load()}; {phases}) modes={modes}")  # fmt: skip

    def nothing_new(self) -> None:
        t0 = time.perf_counter()
        nothing = build_features(self.engine)
        assert nothing.rows_written == 0
        seconds = self.record("nothing_new", time.perf_counter() - t0)
        print(f"  [{self.layout}] incremental build with nothing new: {seconds:.2f}s (planning only; load {_load()})")

    def summary(self) -> None:
        refreshes = []
        for _ in range(3):
            t0 = time.perf_counter()
            refresh_dashboard_summary(self.engine)
            refreshes.append(time.perf_counter() - t0)
        refresh = self.record("refresh", statistics.median(refreshes))
        timings = []
        n = len(self.symbols)
        for i in range(100):
            t0 = time.perf_counter()
            rows = dashboard_summary(self.engine, [self.symbols[i % n]])
            timings.append(time.perf_counter() - t0)
            assert rows
            assert rows[0]["total_records"] == self.bars
        all_rows = []
        for _ in range(20):
            t0 = time.perf_counter()
            assert len(dashboard_summary(self.engine)) == n
            all_rows.append(time.perf_counter() - t0)
        one_ms = self.record("query_ms", statistics.median(timings) * 1000)
        print(f"  [{self.layout}] summary refresh (CONCURRENTLY): median {refresh:.3f}s of 3 (target ≤ 1s); "
              f"summary query (one symbol): median {one_ms:.2f} ms of 100 (target ≤ 1 ms); whole summary "
              f"({n} rows): median {statistics.median(all_rows) * 1000:.2f} ms (load {_load()})")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the 1,000 symbols (default 1.0)")
    parser.add_argument("--naive-symbols", type=int, default=5, help="symbols the naive baseline runs on (0: skip)")
    parser.add_argument(
        "--layout",
        choices=("partitioned", "plain", "both"),
        default="partitioned",
        help="market_data/feature_engineered_data layout; both: the same run on each, compared",
    )
    parser.add_argument("--rounds", type=int, default=1, help="fresh databases and full builds per layout")
    parser.add_argument("--steps", type=int, default=1, help="incremental builds (one new bar each) per round")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database(s)")
    args = parser.parse_args()  # fmt: skip
    n_symbols = max(2, round(1000 * args.scale))
    admin_url = make_url(os.environ.get("WORKSTATION_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1/postgres"))
    admin = create_engine(admin_url.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    layouts = {"partitioned": "heads", "plain": PLAIN}
    chosen = list(layouts) if args.layout == "both" else [args.layout]
    figures: dict[str, dict[str, list[float]]] = {name: {} for name in chosen}
    names: list[str] = []
    pool = feature_pool()  # the workers start before anything is timed: neither layout pays for it
    for future in [pool.submit(int) for _ in range(WORKERS)]:
        future.result()
    try:
        for round_ in range(args.rounds):
            # Both layouts' databases exist side by side and every phase alternates between them (the order
            # flips each round), so a burst of load from elsewhere hits both alike.
            order = chosen if round_ % 2 == 0 else chosen[::-1]
            runs = []
            for layout in order:
                name = f"bench_features_{os.getpid()}_{layout}_{round_}"
                with admin.connect() as conn:
                    conn.execute(text(f'CREATE DATABASE "{name}"'))
                names.append(name)
                raw_url = admin_url.set(database=name, drivername="postgresql").render_as_string(hide_password=False)
                setup = create_db_engine(raw_url)
                upgrade(setup, layouts[layout])
                setup.dispose()
                runs.append(LayoutRun(layout, raw_url, n_symbols, args.steps))
            print(f"round {round_ + 1}: {', '.join(f'{r.layout} ({layouts[r.layout]})' for r in runs)}")
            for run in runs:
                run.setup()
            for run in runs:
                run.full(args.naive_symbols if round_ == 0 and run is runs[0] else 0)
            for step in range(args.steps):
                for run in runs if step % 2 == 0 else runs[::-1]:
                    run.incremental()
            for run in runs:
                run.nothing_new()
            for run in runs:
                run.summary()
            for run in runs:
                for figure, values in run.figures.items():
                    figures[run.layout].setdefault(figure, []).extend(values)
                run.engine.dispose()
            if not args.keep:
                with admin.connect() as conn:
                    for name in names[-len(runs) :]:
                        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if len(chosen) == 2:
            print("partitioned / plain, medians of every measurement of each layout (above 1.0: partitioned slower):")
            for figure in ("full", "incremental", "nothing_new", "refresh", "query_ms"):
                part, plain = (statistics.median(figures[name][figure]) for name in ("partitioned", "plain"))
                count = len(figures["partitioned"][figure])
                print(f"  {figure:<12} {part:9.3f} vs {plain:9.3f}  ratio {part / plain:.3f}  ({count} each)")
    finally:
        if not args.keep:
            with admin.connect() as conn:
                for name in names:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
