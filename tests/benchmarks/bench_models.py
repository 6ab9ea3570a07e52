"""Benchmark: training speed of the default configuration against today's 200-tree random forest, the full
walk-forward at 1,000 symbols x 2,000 bars, prediction latency, and held-out quality on the real files.

    PYTHONPATH=src python3 tests/benchmarks/bench_models.py                       # every section, full size
    PYTHONPATH=src python3 tests/benchmarks/bench_models.py --sections speed --symbols 50
    PYTHONPATH=src python3 tests/benchmarks/bench_models.py --sections scale --scale-symbols 1000 --bars 2000
    PYTHONPATH=src python3 tests/benchmarks/bench_models.py --sections real --shared-data ../shared/data

Sections (every figure that compares is a ratio measured in the same run; the machine may be loaded):

* speed — on the same --symbols x --bars, reading the dataset included: today's random forest (200 trees,
  depth 12, leaves >= 20, every row per tree, folds one after another with all cores per fit) against the
  default (``--model-type auto``: gradient boosting from 20,000 rows on, folds as parallel tasks). Target:
  >= 10x. Held-out metrics of both side by side, each against its baseline with 95 % intervals, and the
  paired interval of (default − forest).
* scale — the default configuration's full walk-forward + calibrated final fit + registration on
  --scale-symbols x --bars (target <= 300 s), then predict_latest for every symbol (target <= 1 s warm).
* real — the real daily files of ../shared/data through the real ingest and features engine: the default
  configuration, gradient boosting's defaults and today's forest, each with its verdict, and the paired
  (boosting − forest) log-loss interval: "not significantly worse" = the interval does not lie above 0.

Synthetic feature rows (random walks through TA-Lib plus noise columns) are bulk-loaded with binary COPY
into a throw-away PostgreSQL database that is dropped afterwards; they are noise, so only the real-file
section says anything about quality.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psycopg
import talib
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from workstation.db.engine import create_db_engine
from workstation.db.migrate import upgrade
from workstation.db.partitions import ensure_partitions_for
from workstation.features.copy_binary import HEADER, TRAILER, encode_rows
from workstation.jobs import ProgressUpdate
from workstation.ml import dataset as ds
from workstation.ml.executors import SerialExecutor
from workstation.ml.predict import _model_for, predict_latest
from workstation.ml.registry import get_model
from workstation.ml.service import TrainingOutcome, train_and_register
from workstation.ml.training import TrainingSpec
from workstation.ml.uncertainty import compare

# Today's forest (before the speed work): every parameter that differs from the new defaults, spelled out.
LEGACY_FOREST = {"n_estimators": 200, "max_depth": 12, "min_samples_leaf": 20, "max_samples": None}
REAL_FILES = {
    "ORCL": "orcl-1995-2014.txt",
    "NVDA": "nvda-1999-2014.txt",
    "KO": "zipline_csvdir_KO_2012-2014.csv",
}
MULTI_SYMBOL_FILE = "zipline_QUANDL_WIKI_AAPL_BRKA_MSFT_ZEN_2014.csv"


def synthetic_features(symbol_index: int, bars: int, columns: list[str], rng: np.random.Generator) -> np.ndarray:
    close = 20 * np.exp(np.cumsum(rng.normal(0.0002, 0.018, bars))) * (1 + symbol_index % 50)
    spread = np.abs(rng.normal(0, 0.01, bars)) * close
    high, low = close + spread, close - spread
    computed = {
        "open": np.r_[close[0], close[:-1]], "high": high, "low": low, "close": close,
        "volume": rng.integers(100_000, 5_000_000, bars).astype(float),
        "returns": np.r_[np.nan, close[1:] / close[:-1] - 1], "rsi_1d": talib.RSI(close, 14),
        "price_ma_short": talib.SMA(close, 20), "bb_upper": talib.BBANDS(close, 20)[0],
        "macd": talib.MACD(close)[0], "atr": talib.ATR(high, low, close, 14),
    }  # fmt: skip
    return np.column_stack([computed[c] if c in computed else rng.normal(0, 1, bars) for c in columns])


def load_synthetic(url: str, symbols: list[str], bars: int) -> tuple[float, int]:
    engine = create_db_engine(url)
    upgrade(engine)
    features = ds.available_features(engine)
    numeric = ["open", "high", "low", "close", "volume", *features]
    index = pd.bdate_range("2017-01-02", periods=bars, tz="UTC") + pd.Timedelta(hours=21)
    ensure_partitions_for(engine, ["feature_engineered_data"], index)  # PostgreSQL's ranges for the rows
    engine.dispose()
    stamps_us = np.asarray(index.as_unit("us").asi8, dtype=np.int64)  # whatever unit pandas chose
    rng = np.random.default_rng(7)
    started = time.perf_counter()
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    quoted = ", ".join(f'"{c}"' for c in ["symbol", "interval", "timestamp", "source", *numeric])
    with psycopg.connect(conninfo) as conn, conn.cursor() as cur:
        with cur.copy(f"COPY feature_engineered_data ({quoted}) FROM STDIN (FORMAT binary)") as copy:
            copy.write(HEADER)
            for i, symbol in enumerate(symbols):
                values = synthetic_features(i, bars, numeric, rng)
                copy.write(encode_rows((symbol, "1d"), stamps_us, ("synthetic",), values, ()))
            copy.write(TRAILER)
        conn.commit()
        cur.execute("ANALYZE feature_engineered_data")
    return time.perf_counter() - started, len(features)


def _progress(update: ProgressUpdate) -> None:
    print(f"\r  {update.done}/{update.total} {update.message[:70]:<70}", end="", file=sys.stderr, flush=True)


def _timed(run: Callable[[], TrainingOutcome]) -> tuple[TrainingOutcome, float]:
    started = time.perf_counter()
    outcome = run()
    seconds = time.perf_counter() - started
    print(file=sys.stderr)
    return outcome, seconds


def _interval(entry: dict[str, Any]) -> str:
    if entry.get("low") is None:
        return "—"
    return f"{entry['difference']:+.4f} [{entry['low']:+.4f}, {entry['high']:+.4f}]"


def print_side_by_side(outcomes: dict[str, TrainingOutcome]) -> None:
    first = next(iter(outcomes.values())).result
    names = ["accuracy", "roc_auc", "log_loss", "brier"] if "accuracy" in first.metrics else ["mae", "rmse", "r2"]
    print(f"  {'metric':<9}" + "".join(f"{label[:44]:>46}" for label in outcomes))
    for name in names:
        cells = []
        for outcome in outcomes.values():
            r = outcome.result
            entry = r.comparison["intervals"][name]
            cells.append(f"{r.metrics[name]:.4f} vs {r.baseline_metrics[name]:.4f}  {_interval(entry)}")
        print(f"  {name:<9}" + "".join(f"{c:>46}" for c in cells))
    print(f"  {'verdict':<9}" + "".join(f"{o.result.verdict:>46}" for o in outcomes.values()))
    print("  (model vs baseline on the same held-out rows; then model − baseline [95% block-bootstrap interval])")


def paired(a: TrainingOutcome, b: TrainingOutcome, horizon: int) -> dict[str, Any]:
    """(a − b) per metric with 95 % intervals, on the same held-out rows."""
    ha, hb = a.result.held_out, b.result.held_out
    assert np.array_equal(ha["timestamps"], hb["timestamps"]) and np.array_equal(ha["y"], hb["y"])
    classification = "accuracy" in a.result.metrics
    return compare(classification, ha["y"], ha["model"], hb["model"], ha["timestamps"], ha["folds"], horizon)


def section_speed(url: str, args: argparse.Namespace) -> None:
    symbols = [f"S{i:04d}" for i in range(args.symbols)]
    print(f"\n== speed: {len(symbols)} symbols x {args.bars} bars (reading the dataset included) ==")
    seconds, n_features = load_synthetic(url, symbols, args.bars)
    print(f"load (binary COPY, synthetic): {len(symbols) * args.bars:,} rows, {n_features} columns in {seconds:.1f} s")
    engine = create_db_engine(url)
    legacy_spec = TrainingSpec("random_forest", "price_direction", tuple(symbols), hyperparameters=LEGACY_FOREST)
    default_spec = TrainingSpec("auto", "price_direction", tuple(symbols))
    legacy, legacy_s = _timed(
        lambda: train_and_register(engine, legacy_spec, progress=_progress, executor=SerialExecutor())
    )
    default, default_s = _timed(lambda: train_and_register(engine, default_spec, progress=_progress))
    ratio = legacy_s / default_s
    print(f"today's forest (200 trees, sequential folds): {legacy_s:7.1f} s")
    print(f"default ({default.result.model_type}, parallel folds): {default_s:7.1f} s")
    print(f"speed-up: {ratio:.1f}x -> target >= 10x: {'PASS' if ratio >= 10 else 'FAIL'}")
    print_side_by_side({"today's forest": legacy, f"default ({default.result.model_type})": default})
    diff = paired(default, legacy, 1)["intervals"]["log_loss"]
    print(f"  default − forest, log loss: {_interval(diff)}")
    engine.dispose()


def section_scale(url: str, args: argparse.Namespace) -> None:
    symbols = [f"S{i:04d}" for i in range(args.scale_symbols)]
    print(f"\n== scale: {len(symbols)} symbols x {args.bars} bars, default configuration ==")
    seconds, n_features = load_synthetic(url, symbols, args.bars)
    print(f"load (binary COPY, synthetic): {len(symbols) * args.bars:,} rows, {n_features} columns in {seconds:.1f} s")
    engine = create_db_engine(url)
    spec = TrainingSpec("auto", "price_direction", tuple(symbols))
    outcome, train_s = _timed(lambda: train_and_register(engine, spec, progress=_progress))
    verdict = "PASS" if train_s <= 300 else "FAIL"
    print(
        f"train_and_register ({outcome.result.model_type}): {train_s:.1f} s for {outcome.result.parameters['rows']:,} "
        f"labelled rows (read + {len(outcome.result.folds)} folds + calibrated final fit + artifact) "
        f"-> target <= 300 s: {verdict}"
    )
    print_side_by_side({f"default ({outcome.result.model_type})": outcome})
    model_id = outcome.model.model_id
    from workstation.ml.registry import set_status

    set_status(engine, model_id, "active")  # noise data: not activated by itself; predicting is measured here
    started = time.perf_counter()
    records = predict_latest(engine, model_id, symbols=symbols)
    cold = time.perf_counter() - started
    warm = []
    for _ in range(5):
        started = time.perf_counter()
        predict_latest(engine, model_id, symbols=symbols)
        warm.append(time.perf_counter() - started)
    model = _model_for(get_model(engine, model_id))
    latest = ds.load_latest(engine, list(symbols), "1d", model.feature_names)
    started = time.perf_counter()
    model.predict(latest[model.feature_names].to_numpy(dtype=float))
    bare = time.perf_counter() - started
    median_warm = statistics.median(warm)
    print(f"predict_latest: cold {cold:.3f} s, warm {median_warm:.3f} s for {len(records)} symbols "
          f"-> target <= 1 s: {'PASS' if median_warm <= 1 else 'FAIL'}; bare predict() {bare:.3f} s")  # fmt: skip
    engine.dispose()


def _ingest_real(url: str, shared: Path) -> list[str]:
    from workstation.features.engine import build_features
    from workstation.market.ingest import ingest_csv

    engine = create_db_engine(url)
    upgrade(engine)
    symbols = []
    for symbol, name in REAL_FILES.items():
        if (shared / name).is_file():
            ingest_csv(engine, shared / name, symbol=symbol)
            symbols.append(symbol)
    build_features(engine, symbols=symbols)
    engine.dispose()
    return symbols


def section_real(url: str, args: argparse.Namespace) -> None:
    shared = Path(args.shared_data)
    print(f"\n== real files ({shared}): held-out quality, default vs today's forest ==")
    if not shared.is_dir():
        print("skipped: the shared data folder is not there")
        return
    symbols = _ingest_real(url, shared)
    engine = create_db_engine(url)
    runs = {
        "today's forest": TrainingSpec(
            "random_forest", "price_direction", tuple(symbols), hyperparameters=LEGACY_FOREST
        ),
        "auto (forest on small data)": TrainingSpec("auto", "price_direction", tuple(symbols)),
        "gradient boosting defaults": TrainingSpec("gradient_boosting", "price_direction", tuple(symbols)),
    }
    outcomes: dict[str, TrainingOutcome] = {}
    for label, spec in runs.items():
        outcomes[label], seconds = _timed(lambda s=spec: train_and_register(engine, s, progress=_progress))
        print(f"{label}: {seconds:.1f} s, {outcomes[label].result.parameters['rows']:,} rows")
    print(f"symbols: {', '.join(symbols)}")
    print_side_by_side(outcomes)
    forest = outcomes["today's forest"]
    for label in ("auto (forest on small data)", "gradient boosting defaults"):
        diff = paired(outcomes[label], forest, 1)["intervals"]["log_loss"]
        worse = diff["low"] is not None and diff["low"] > 0
        print(f"  {label} − today's forest, log loss: {_interval(diff)} -> "
              f"{'significantly worse' if worse else 'not significantly worse'}")  # fmt: skip
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sections", default="speed,scale,real", help="comma-separated: speed, scale, real")
    parser.add_argument("--symbols", type=int, default=50, help="symbols for the speed comparison (default 50)")
    parser.add_argument("--scale-symbols", type=int, default=1000, help="symbols for the scale run (default 1000)")
    parser.add_argument("--bars", type=int, default=2000)
    parser.add_argument("--shared-data", default=str(Path(__file__).resolve().parents[3] / "shared" / "data"))
    parser.add_argument(
        "--admin-url",
        default=os.environ.get("WORKSTATION_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1/postgres"),
    )
    args = parser.parse_args()
    admin_url = make_url(args.admin_url).set(drivername="postgresql+psycopg")
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    os.environ.setdefault("WORKSTATION_DATA_DIR", f"/tmp/bench_models_{os.getpid()}_data")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a background run: `kill` still drops the databases
    print(f"machine: {os.cpu_count()} cores; run at {datetime.now(UTC).isoformat(timespec='seconds')}")
    sections = {"speed": section_speed, "scale": section_scale, "real": section_real}
    for name in args.sections.split(","):
        database = f"bench_models_{os.getpid()}_{name}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{database}"'))
        try:
            sections[name.strip()](admin_url.set(database=database).render_as_string(hide_password=False), args)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    admin.dispose()


if __name__ == "__main__":
    main()
