"""Scale benchmark: 50,000,000 one-minute bars (500 symbols × 100,000) in partitioned PostgreSQL (a script).

    PYTHONPATH=src python3 tests/benchmarks/bench_scale.py [--scale 0.1] [--sections ingest,chart,prune,disk,dask]
        [--chunk-rows 1000000] [--log-rows 10000000] [--plain-too] [--keep] [--dask-symbols 200] [--dask-bars 2000]

``--scale`` multiplies the number of symbols (and the log rows); every symbol keeps 100,000 bars (~13
months of regular-session minutes, so ~13 monthly ranges and 20,000-bar charts at any scale). Sections:

* ``ingest``: the bars go through the project's ingest path (``process_batch``: validate, compare with the
  stored bars, binary COPY), in time order — every chunk of ``--chunk-rows`` rows holds the next bars of all
  symbols, as a live feed delivers them. Prints each chunk's rate, then the first and the last million rows'
  rates (target: the last within 1.2× of the first). ``--plain-too`` also loads an unpartitioned database
  (the schema before migration 0011) the same way, for contrast.
* ``chart``: ``load_chart_data(engine, symbol, "1m", max_bars=20_000)`` — the chart's data path, end to end
  from Python, rows in hand — over many symbols after a VACUUM ANALYZE (as autovacuum would have done):
  median, p95 and max (target ≤ 20 ms).
* ``prune``: one whole month of system_logs (``--log-rows``, 10,000,000 at scale 1) plus a few rows of the
  next month, pruned with ``prune_logs`` on the partitioned database (the month is dropped) and on an
  unpartitioned one holding the same rows (deleted in chunks), in the same run.
* ``disk``: size of market_data (heap and indexes), system_logs and the whole database.
* ``dask``: features for 200 symbols × 2,000 daily bars (``--dask-symbols``, ``--dask-bars``; not scaled) in
  a database of their own, built by the local process pool and by a local Dask cluster of two
  single-threaded workers (``dask scheduler`` and ``dask worker ADDR --nworkers 2 --nthreads 1``, started
  here as subprocesses): each twice, cold (the workers' first batches import TA-Lib) and warm. Prints both
  times, the cluster's overhead on the warm run (target ≤ 25 %), whether the rows are identical in every
  column but id/created_at/updated_at, and the disk the feature rows take.

A section is a function taking the ``Bench`` context, registered in ``SECTIONS`` under its name, and picked
with ``--sections``.

The databases (bench_scale_<pid>_…) are created on WORKSTATION_TEST_DATABASE_URL's server (default
postgresql://postgres@127.0.0.1/postgres) and dropped at the end unless ``--keep``. Load averages are
printed with each figure: on a shared machine only same-run comparisons mean much.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL, make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from workstation.dashboard.chart_data import load_chart_data
from workstation.db.engine import create_db_engine
from workstation.db.migrate import previous_revision, upgrade
from workstation.db.partitions import LOG_TABLES, ensure_partitions_for
from workstation.market.frame import ProviderBatch
from workstation.market.ingest import process_batch
from workstation.monitoring.retention import prune_logs

SYMBOLS, BARS, LOG_ROWS, MILLION = 500, 100_000, 10_000_000, 1_000_000
SESSION_START = pd.Timedelta(hours=14, minutes=30)  # 09:30 New York (EST) in UTC
PLAIN = previous_revision("0011_partitioning")
LOG_MONTH = datetime(2024, 2, 1, tzinfo=UTC)  # the month pruned whole; a few rows of March stay


def _load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


@dataclass
class Bench:
    args: argparse.Namespace
    admin: Engine
    admin_url: URL
    symbols: list[str]
    engine: Engine | None = None
    databases: list[str] = field(default_factory=list)
    figures: dict[str, float] = field(default_factory=dict)

    def database(self, label: str, revision: str = "heads") -> Engine:
        name = f"bench_scale_{os.getpid()}_{label}"
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        self.databases.append(name)
        engine = create_db_engine(self.admin_url.set(database=name).render_as_string(hide_password=False))
        upgrade(engine, revision)
        return engine

    @property
    def main(self) -> Engine:
        if self.engine is None:
            self.engine = self.database("partitioned")
        return self.engine


# --- data ------------------------------------------------------------------------------------------------


def minute_stamps(n: int) -> pd.DatetimeIndex:
    """``n`` regular-session minutes (390 a business day) from 2 January 2024, UTC."""
    days = pd.bdate_range("2024-01-02", periods=math.ceil(n / 390)).to_numpy().astype("datetime64[us]")
    offsets = (SESSION_START + pd.to_timedelta(np.arange(390), unit="min")).to_numpy().astype("timedelta64[us]")
    return pd.DatetimeIndex((days[:, None] + offsets[None, :]).ravel()[:n]).tz_localize("UTC")


class Feed:
    """Random-walk minute bars for every symbol, handed out in time-ordered chunks (state carried over)."""

    def __init__(self, symbols: list[str], bars: int, seed: int = 11) -> None:
        self.symbols, self.stamps = symbols, minute_stamps(bars)
        self.rng = np.random.default_rng(seed)
        self.last = np.log(self.rng.uniform(10, 500, len(symbols)))

    def chunk(self, first: int, last: int) -> pd.DataFrame:
        n, k = last - first, len(self.symbols)
        log_close = self.last[:, None] + np.cumsum(self.rng.normal(0, 0.0008, (k, n)), axis=1)
        self.last = log_close[:, -1]
        close = np.exp(log_close).ravel()
        open_ = close * np.exp(self.rng.normal(0, 0.0004, k * n))
        high = np.maximum(open_, close) * (1 + np.abs(self.rng.normal(0, 0.0004, k * n)))
        low = np.minimum(open_, close) * (1 - np.abs(self.rng.normal(0, 0.0004, k * n)))
        return pd.DataFrame(
            {
                "row": np.arange(1, k * n + 1),
                "symbol": np.repeat(self.symbols, n),
                "interval": "1m",
                "timestamp": np.tile(self.stamps[first:last], k),
                "open": open_.round(4), "high": high.round(4), "low": low.round(4), "close": close.round(4),
                "volume": self.rng.integers(100, 50_000, k * n),
                "source": "bench",
            }
        )  # fmt: skip


# --- sections --------------------------------------------------------------------------------------------


def _ingest_into(bench: Bench, engine: Engine, label: str) -> list[tuple[int, float]]:
    """Every bar in time-ordered chunks through process_batch; returns (rows, seconds) per chunk."""
    bars = bench.args.bars
    per_chunk = max(1, bench.args.chunk_rows // len(bench.symbols))
    feed = Feed(bench.symbols, bars)
    chunks: list[tuple[int, float]] = []
    for first in range(0, bars, per_chunk):
        frame = feed.chunk(first, min(bars, first + per_chunk))
        t0 = time.perf_counter()
        summary = process_batch(engine, ProviderBatch(bars=frame), interval="1m", source="bench")
        seconds = time.perf_counter() - t0
        if summary.failures or summary.inserted != len(frame):
            raise SystemExit(f"{label}: stored {summary.inserted} of {len(frame)}: {summary.failures}")
        chunks.append((len(frame), seconds))
        done = sum(c[0] for c in chunks)
        print(f"  {label} chunk {len(chunks):3d}: {len(frame):,} rows in {seconds:6.2f}s "
              f"= {len(frame) / seconds:9,.0f} rows/s (total {done:,}; {_load()})", flush=True)  # fmt: skip
    return chunks


def _window_rate(chunks: list[tuple[int, float]], rows: int, *, last: bool) -> float:
    """Rows/s over the first (or last) ``rows`` rows, from whole chunks (at least one)."""
    picked, total, seconds = reversed(chunks) if last else chunks, 0, 0.0
    for n, s in picked:
        total, seconds = total + n, seconds + s
        if total >= rows:
            break
    return total / seconds


def section_ingest(bench: Bench) -> None:
    total = len(bench.symbols) * bench.args.bars
    print(f"ingest: {len(bench.symbols):,} symbols × {bench.args.bars:,} one-minute bars = {total:,} rows, "
          f"chunks of ~{bench.args.chunk_rows:,} rows in time order")  # fmt: skip
    runs = {"partitioned": bench.main}
    if bench.args.plain_too:
        runs["plain"] = bench.database("plain", PLAIN)
    for label, engine in runs.items():
        t0 = time.perf_counter()
        chunks = _ingest_into(bench, engine, label)
        elapsed = time.perf_counter() - t0
        first, final = _window_rate(chunks, MILLION, last=False), _window_rate(chunks, MILLION, last=True)
        rates = [n / s for n, s in chunks]
        bench.figures[f"ingest_{label}_rate"] = total / elapsed
        bench.figures[f"ingest_{label}_first"], bench.figures[f"ingest_{label}_last"] = first, final
        print(f"  {label}: {total:,} rows in {elapsed:.1f}s = {total / elapsed:,.0f} rows/s; chunk rates min "
              f"{min(rates):,.0f} median {statistics.median(rates):,.0f} max {max(rates):,.0f}")  # fmt: skip
        verdict = "PASS" if first / final <= 1.2 else "FAIL"
        print(f"  {label}: first million {first:,.0f} rows/s, last million {final:,.0f} rows/s: first/last "
              f"{first / final:.2f} (target ≤ 1.2) {verdict}")  # fmt: skip
        if label != "partitioned":
            engine.dispose()


def section_chart(bench: Bench) -> None:
    engine = bench.main
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        t0 = time.perf_counter()
        conn.execute(text("VACUUM (ANALYZE) market_data"))
        print(f"chart: VACUUM ANALYZE market_data first ({time.perf_counter() - t0:.1f}s; autovacuum's job in use)")
    runs = bench.args.chart_runs
    for symbol in bench.symbols[:3]:  # warm the connection pool and the catalog caches
        load_chart_data(engine, symbol, "1m", max_bars=20_000)
    timings = []
    for i in range(runs):
        symbol = bench.symbols[(i * 7) % len(bench.symbols)]
        t0 = time.perf_counter()
        data = load_chart_data(engine, symbol, "1m", max_bars=20_000)
        timings.append((time.perf_counter() - t0) * 1000)
        assert len(data.bars) == min(20_000, bench.args.bars)
    timings.sort()
    median, p95 = statistics.median(timings), timings[int(0.95 * (len(timings) - 1))]
    bench.figures["chart_median_ms"], bench.figures["chart_p95_ms"] = median, p95
    print(f"  load_chart_data(…, '1m', max_bars=20_000), {runs} calls over {min(runs, len(bench.symbols))} symbols: "
          f"median {median:.1f} ms, p95 {p95:.1f} ms, max {timings[-1]:.1f} ms ({_load()}; target ≤ 20 ms "
          f"{'PASS' if median <= 20 else 'FAIL'})")  # fmt: skip


def _fill_logs(engine: Engine, rows: int) -> None:
    """``rows`` system_logs rows spread over LOG_MONTH, plus 1,000 in the next month (not pruned)."""
    month = pd.Timestamp(LOG_MONTH)
    step_us = int((month + pd.DateOffset(months=1) - month).total_seconds() * 1e6) // rows
    ensure_partitions_for(engine, LOG_TABLES, [LOG_MONTH, LOG_MONTH + timedelta(days=35)])
    insert = (
        "INSERT INTO system_logs (timestamp, level, logger_name, message, correlation_id, module, line_number)"
        " SELECT :start + make_interval(secs => (g::bigint * :step)::float8 / 1e6), CASE WHEN g % 50 = 0 THEN 'ERROR'"
        " ELSE 'INFO' END, 'bench.scale', 'message number ' || g, 'cid-' || (g / 20), 'bench', g % 1000"
        " FROM generate_series(0, :n - 1) g"
    )
    with engine.begin() as conn:
        conn.execute(text(insert), {"start": LOG_MONTH, "step": step_us, "n": rows})
        conn.execute(text(insert), {"start": LOG_MONTH + timedelta(days=32), "step": 1_000_000, "n": 1_000})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM (ANALYZE) system_logs"))


def section_prune(bench: Bench) -> None:
    rows = bench.args.log_rows
    print(f"prune: {rows:,} system_logs rows in one month ({LOG_MONTH:%Y-%m}) + 1,000 in the next, on each layout")
    now = LOG_MONTH + timedelta(days=31 + 30)  # --older-than 30d: February wholly before the cutoff
    for label, engine in (("partitioned", bench.main), ("plain", bench.database("prune_plain", PLAIN))):
        t0 = time.perf_counter()
        _fill_logs(engine, rows)
        filled = time.perf_counter() - t0
        if label == "partitioned":
            with engine.connect() as conn:
                size = conn.execute(
                    text("SELECT sum(pg_total_relation_size(relid)) FROM pg_partition_tree('system_logs')")
                ).scalar_one()
            bench.figures["disk_log_bytes"] = int(size) / rows
        t0 = time.perf_counter()
        report = prune_logs(engine, timedelta(days=30), now=now)
        seconds = time.perf_counter() - t0
        bench.figures[f"prune_{label}_s"] = seconds
        how = f"dropped {', '.join(report.partitions_dropped)}" if report.partitions_dropped else "DELETE in chunks"
        print(f"  {label:<11}: removed {report.total:,} rows in {seconds:8.2f}s ({how}; {_load()}; "
              f"rows written in {filled:.0f}s)")  # fmt: skip
        if label == "plain":
            engine.dispose()
    ratio = bench.figures["prune_plain_s"] / bench.figures["prune_partitioned_s"]
    print(f"  partition drop is {ratio:,.0f}× faster than DELETE (and leaves no dead rows for VACUUM)")


def section_disk(bench: Bench) -> None:
    with bench.main.connect() as conn:
        sizes = {
            table: conn.execute(
                text(
                    "SELECT coalesce(sum(pg_table_size(relid)), 0), coalesce(sum(pg_indexes_size(relid)), 0),"
                    " count(*) FILTER (WHERE isleaf) FROM pg_partition_tree(CAST(:t AS regclass))"
                ),
                {"t": table},
            ).one()
            for table in ("market_data", "system_logs")
        }
        database = int(conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one())
        bars = int(conn.execute(text("SELECT count(*) FROM market_data")).scalar_one())
    heap, indexes, parts = (int(v) for v in sizes["market_data"])
    bench.figures["disk_bar_bytes"] = (heap + indexes) / max(1, bars)
    bench.figures["disk_database"] = database
    print(f"disk: market_data {bars:,} rows in {parts} ranges: heap {heap / 1e9:.2f} GB + indexes "
          f"{indexes / 1e9:.2f} GB = {(heap + indexes) / max(1, bars):.0f} bytes a bar; system_logs heap "
          f"{int(sizes['system_logs'][0]) / 1e9:.2f} GB + indexes {int(sizes['system_logs'][1]) / 1e9:.2f} GB "
          f"(after the prune); database {database / 1e9:.2f} GB")  # fmt: skip


def _daily_feed(symbols: list[str], bars: int) -> pd.DataFrame:
    """``bars`` business-day bars (21:00 UTC closes) for every symbol, from one random walk each."""
    feed = Feed(symbols, bars, seed=23)
    frame = feed.chunk(0, bars)
    stamps = pd.bdate_range("2010-01-04", periods=bars, tz="UTC") + pd.Timedelta(hours=21)
    frame["timestamp"], frame["interval"] = np.tile(stamps, len(symbols)), "1d"
    return frame


def _start_cluster(folder: Path, workers: int) -> tuple[str, list[subprocess.Popen[bytes]]]:
    """A scheduler and one ``dask worker`` command of ``workers`` single-threaded processes, on loopback."""
    dask = [sys.executable, "-m", "dask"]
    scheduler_file = folder / "scheduler.json"
    log = open(folder / "cluster.log", "wb")  # noqa: SIM115 - kept open for the subprocesses' lifetime
    scheduler = subprocess.Popen(
        [*dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file",
         str(scheduler_file)], stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not scheduler_file.exists() or not scheduler_file.read_text().strip():
        if time.monotonic() > deadline or scheduler.poll() is not None:
            raise SystemExit(f"the Dask scheduler did not start; see {folder / 'cluster.log'}")
        time.sleep(0.1)
    address = str(json.loads(scheduler_file.read_text())["address"])
    worker = subprocess.Popen(
        [*dask, "worker", address, "--nworkers", str(workers), "--nthreads", "1", "--host", "127.0.0.1",
         "--no-dashboard", "--local-directory", str(folder / "worker")],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    return address, [worker, scheduler]


def _stop_cluster(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def _compared_columns(engine: Engine) -> str:
    """Every column of feature_engineered_data but the per-run ones (id, created_at, updated_at)."""
    with engine.connect() as conn:
        names = conn.execute(
            text(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'feature_engineered_data'"
                " AND column_name NOT IN ('id', 'created_at', 'updated_at') ORDER BY ordinal_position"
            )
        ).scalars()
        return ", ".join(f'"{name}"' for name in names)


def _rows_checksum(engine: Engine) -> tuple[int, int]:
    """(rows, sum of a 64-bit hash of each row's compared columns as text): equal for equal multisets of rows.

    float8 prints shortest-exact, so equal text is equal bits; one row differing changes the sum but for
    a 2⁻⁶⁴ chance. A sequential scan, where a sorted EXCEPT ALL of 400,000 wide rows takes minutes."""
    query = (
        "SELECT count(*), coalesce(sum(hashtextextended(t::text, 0)::numeric), 0)"
        f" FROM (SELECT {_compared_columns(engine)} FROM feature_engineered_data) t"
    )
    with engine.connect() as conn:
        rows, total = conn.execute(text(query)).one()
    return int(rows), int(total)


def _vacuum(engine: Engine, *, full: bool = False) -> None:
    """Each full build deletes the previous rows: without a vacuum between builds, later builds write into
    an ever larger heap (and the order of the runs would decide the comparison)."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"VACUUM {'(FULL, ANALYZE)' if full else '(ANALYZE)'} feature_engineered_data"))


def section_dask(bench: Bench) -> None:
    from workstation.cluster.executor import cluster_client
    from workstation.cluster.features import ClusterBatchRunner
    from workstation.features.engine import build_features
    from workstation.features.pool import WORKERS

    symbols = [f"D{i:04d}" for i in range(bench.args.dask_symbols)]
    bars = bench.args.dask_bars
    engine = bench.database("dask")
    t0 = time.perf_counter()
    summary = process_batch(engine, ProviderBatch(bars=_daily_feed(symbols, bars)), interval="1d", source="bench")
    assert not summary.failures and summary.inserted == len(symbols) * bars, summary.failures
    print(f"dask: {len(symbols)} symbols × {bars:,} daily bars ingested in {time.perf_counter() - t0:.1f}s; "
          f"features built by the local pool ({WORKERS} processes) and by a local cluster of {WORKERS} "
          f"single-threaded Dask workers, each cold then warm ({_load()})")  # fmt: skip
    timings: dict[str, list[float]] = {"local": [], "cluster": []}
    checksums: dict[str, set[tuple[int, int]]] = {"local": set(), "cluster": set()}

    def timed(label: str, runner: ClusterBatchRunner | None) -> None:
        _vacuum(engine)
        t0 = time.perf_counter()
        built = build_features(engine, full=True, runner=runner)
        timings[label].append(time.perf_counter() - t0)
        assert not built.failed and built.rows_written == len(symbols) * bars
        checksums[label].add(_rows_checksum(engine))

    with tempfile.TemporaryDirectory(prefix="bench-dask-") as folder:
        address, processes = _start_cluster(Path(folder), WORKERS)
        try:
            with cluster_client(address) as client:
                client.wait_for_workers(WORKERS, timeout=120)
                runner = ClusterBatchRunner(client)
                for _ in range(2):  # alternating: cold local, cold cluster, warm local, warm cluster
                    timed("local", None)
                    timed("cluster", runner)
        finally:
            _stop_cluster(processes)
    identical = len(checksums["local"] | checksums["cluster"]) == 1
    (local_cold, local_warm), (cluster_cold, cluster_warm) = timings["local"], timings["cluster"]
    overhead = cluster_warm / local_warm - 1
    bench.figures["dask_local_s"], bench.figures["dask_cluster_s"] = local_warm, cluster_warm
    bench.figures["dask_overhead"] = overhead
    for label, (cold, warm) in (("local pool", timings["local"]), ("Dask cluster", timings["cluster"])):
        rate = len(symbols) * bars / warm
        print(f"  {label:<12}: cold {cold:6.2f}s, warm {warm:6.2f}s = {rate:9,.0f} rows/s")
    print(f"  cluster overhead (warm): {overhead:+.1%} (target ≤ +25% {'PASS' if overhead <= 0.25 else 'FAIL'}); "
          f"cold {cluster_cold / local_cold - 1:+.1%}; rows identical in every column but id/created_at/updated_at: "
          f"{'yes' if identical else 'NO'} ({_load()})")  # fmt: skip
    _vacuum(engine, full=True)  # the size of the rows themselves, not of four builds' dead ones
    with engine.connect() as conn:
        heap, indexes, rows = conn.execute(
            text(
                "SELECT coalesce(sum(pg_table_size(relid)), 0), coalesce(sum(pg_indexes_size(relid)), 0),"
                " (SELECT count(*) FROM feature_engineered_data)"
                " FROM pg_partition_tree('feature_engineered_data')"
            )
        ).one()
        database = int(conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one())
    bench.figures["dask_feature_row_bytes"] = (int(heap) + int(indexes)) / max(1, int(rows))
    print(f"  disk: feature_engineered_data {int(rows):,} rows: heap {int(heap) / 1e6:.0f} MB + indexes "
          f"{int(indexes) / 1e6:.0f} MB = {bench.figures['dask_feature_row_bytes']:.0f} bytes a row; database "
          f"{database / 1e6:.0f} MB")  # fmt: skip
    engine.dispose()
    if not identical:
        raise SystemExit("dask: the cluster's feature rows differ from the local pool's")


# The sections, in the order they run.
SECTIONS: dict[str, Callable[[Bench], None]] = {
    "ingest": section_ingest,
    "chart": section_chart,
    "prune": section_prune,
    "disk": section_disk,
    "dask": section_dask,
}


def estimate_full_scale(bench: Bench) -> None:
    """What the full 50 M-bar, 10 M-log-row run will take, from this run's rates (linear: a rough guide)."""
    full_bars, full_logs = SYMBOLS * BARS, LOG_ROWS
    lines = []
    if "ingest_partitioned_rate" in bench.figures:
        lines.append(f"ingest {full_bars / bench.figures['ingest_partitioned_rate'] / 60:.0f} min")
    if "prune_plain_s" in bench.figures:
        factor = full_logs / bench.args.log_rows
        lines.append(f"prune section ~{bench.figures['prune_plain_s'] * factor / 60:.0f} min of DELETE plus filling "
                     f"2 × {full_logs:,} log rows")  # fmt: skip
    if "disk_bar_bytes" in bench.figures:
        bars_gb = bench.figures["disk_bar_bytes"] * full_bars / 1e9
        logs_gb = bench.figures.get("disk_log_bytes", 250) * full_logs / 1e9
        lines.append(f"disk ~{bars_gb:.0f} GB for market_data (+ as much again with --plain-too) and ~{logs_gb:.0f} GB "
                     f"of logs on each of the two layouts while the prune section runs, plus WAL")  # fmt: skip
    if lines:
        print("full-scale estimate (from this run's rates, linear): " + "; ".join(lines))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the 500 symbols and of the log rows")
    parser.add_argument("--bars", type=int, default=BARS, help="one-minute bars per symbol (default 100,000)")
    parser.add_argument("--chunk-rows", type=int, default=MILLION, help="rows per ingest chunk (time-ordered)")
    parser.add_argument("--log-rows", type=int, default=None, help="log rows in the pruned month (default 10M×scale)")
    parser.add_argument("--chart-runs", type=int, default=50, help="chart loads to time")
    parser.add_argument("--sections", default=",".join(SECTIONS), help=f"comma-separated, of {', '.join(SECTIONS)}")
    parser.add_argument("--plain-too", action="store_true", help="ingest into an unpartitioned database as well")
    parser.add_argument("--dask-symbols", type=int, default=200, help="symbols in the dask section (default 200)")
    parser.add_argument("--dask-bars", type=int, default=2_000, help="daily bars a symbol in the dask section")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark databases")
    args = parser.parse_args()
    args.log_rows = args.log_rows or max(10_000, round(LOG_ROWS * args.scale))
    wanted = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}: choose from {', '.join(SECTIONS)}")
    if "chart" in wanted and "ingest" not in wanted:
        parser.error("the chart section reads the bars the ingest section writes: add ingest")
    admin_url = make_url(os.environ.get("WORKSTATION_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1/postgres"))
    admin_url = admin_url.set(drivername="postgresql+psycopg")
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    symbols = [f"M{i:04d}" for i in range(max(1, round(SYMBOLS * args.scale)))]
    bench = Bench(args, admin, admin_url, symbols)
    print(f"bench_scale: scale {args.scale:g}, {len(symbols)} symbols × {args.bars:,} bars, {args.log_rows:,} log "
          f"rows; sections {', '.join(wanted)}; {os.cpu_count()} cores, {_load()}")  # fmt: skip
    started = time.perf_counter()
    try:
        for name in SECTIONS:
            if name in wanted:
                SECTIONS[name](bench)
        if args.scale < 1:
            estimate_full_scale(bench)
        print(f"done in {(time.perf_counter() - started) / 60:.1f} min ({_load()})")
    finally:
        if bench.engine is not None:
            bench.engine.dispose()
        if not args.keep:
            with admin.connect() as conn:
                for name in bench.databases:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
