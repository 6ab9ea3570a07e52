"""Benchmark: train a 200-tree RandomForest on 1,000 symbols x 2,000 bars of features, then predict the
latest bar of all 1,000 symbols (target: <= 1 s including reading the features and writing predictions).

    PYTHONPATH=src python3 tests/benchmarks/bench_models.py            # full size
    PYTHONPATH=src python3 tests/benchmarks/bench_models.py --scale 0.05   # 50 symbols, quick

Feature rows are synthetic (random walks through TA-Lib, plus noise for any catalog column this script
does not compute) and bulk-loaded with COPY into a throw-away PostgreSQL database that is dropped
afterwards. Baselines measured in the same run: one plain sklearn fit of the same forest on the same
in-memory arrays (training), and the model's bare predict() on in-memory rows (prediction).
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import time
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import psycopg
import talib
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from workstation.db.engine import create_db_engine
from workstation.db.migrate import upgrade
from workstation.jobs import ProgressUpdate
from workstation.ml import dataset as ds
from workstation.ml.estimators import build_estimator, default_hyperparameters
from workstation.ml.predict import _model_for, predict_latest
from workstation.ml.registry import get_model
from workstation.ml.service import train_and_register
from workstation.ml.training import TrainingSpec, build_dataset

COPY_COLUMNS = ("symbol", "interval", "timestamp", "source", "open", "high", "low", "close", "volume")


def synthetic_features(symbol_index: int, bars: int, columns: list[str], rng: np.random.Generator) -> pd.DataFrame:
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
    for name in columns:  # catalog columns this script does not know how to compute
        if name not in computed:
            computed[name] = rng.normal(0, 1, bars)
    return pd.DataFrame(computed)


def load(url: str, symbols: list[str], bars: int) -> tuple[float, int]:
    engine = create_db_engine(url)
    upgrade(engine)
    features = ds.available_features(engine)
    engine.dispose()
    columns = [*COPY_COLUMNS, *[f for f in features if f not in COPY_COLUMNS]]
    index = pd.bdate_range("2017-01-02", periods=bars, tz="UTC") + pd.Timedelta(hours=21)
    stamps = [t.to_pydatetime() for t in index]
    rng = np.random.default_rng(7)
    started = time.perf_counter()
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo) as conn, conn.cursor() as cur:
        quoted = ", ".join(f'"{c}"' for c in columns)
        with cur.copy(f"COPY feature_engineered_data ({quoted}) FROM STDIN") as copy:
            for i, symbol in enumerate(symbols):
                frame = synthetic_features(i, bars, columns[4:], rng)
                values = frame[columns[4:]].to_numpy()
                for t in range(bars):
                    row = [None if v != v else float(v) for v in values[t]]
                    copy.write_row([symbol, "1d", stamps[t], "synthetic", *row])
        conn.commit()
        cur.execute("ANALYZE feature_engineered_data")
    return time.perf_counter() - started, len(columns) - 9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the 1,000 symbols (default 1.0)")
    parser.add_argument("--bars", type=int, default=2000)
    parser.add_argument("--trees", type=int, default=200)
    parser.add_argument(
        "--train-symbols",
        type=int,
        default=None,
        help="train on only the first N symbols (predictions still cover all); for re-measuring prediction quickly",
    )
    parser.add_argument(
        "--admin-url",
        default=os.environ.get("WORKSTATION_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1/postgres"),
    )
    args = parser.parse_args()
    n_symbols = max(2, round(1000 * args.scale))
    symbols = [f"S{i:04d}" for i in range(n_symbols)]
    admin_url = make_url(args.admin_url).set(drivername="postgresql+psycopg")
    name = f"bench_models_{os.getpid()}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    os.environ.setdefault("WORKSTATION_DATA_DIR", f"/tmp/{name}_data")
    # A background run ignores Ctrl+C; make `kill` still drop the throw-away database.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        run(url, symbols, args)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _progress(update: ProgressUpdate) -> None:
    print(f"\r  {update.done}/{update.total} {update.message[:70]:<70}", end="", file=sys.stderr, flush=True)


def run(url: str, symbols: list[str], args: argparse.Namespace) -> None:
    print(f"machine: {os.cpu_count()} cores; {len(symbols)} symbols x {args.bars} bars; {args.trees} trees")
    copy_seconds, n_features = load(url, symbols, args.bars)
    rows = len(symbols) * args.bars
    print(f"load (COPY, synthetic)   : {rows:,} rows, {n_features} feature columns in {copy_seconds:.1f} s")
    engine = create_db_engine(url)
    trained_on = tuple(symbols[: args.train_symbols] if args.train_symbols else symbols)
    spec = TrainingSpec("random_forest", "price_direction", trained_on, hyperparameters={"n_estimators": args.trees})

    started = time.perf_counter()
    data = build_dataset(engine, spec)
    read_seconds = time.perf_counter() - started
    print(
        f"read + label dataset     : {len(data.y):,} labelled rows of {len(trained_on)} symbols in {read_seconds:.1f} s"
    )

    params = default_hyperparameters("random_forest", "price_direction", len(data.y)) | {"n_estimators": args.trees}
    baseline = build_estimator("random_forest", "price_direction", params)
    started = time.perf_counter()
    baseline.fit(data.x, data.y)
    fit_seconds = time.perf_counter() - started
    print(f"baseline: one plain fit  : {fit_seconds:.1f} s (sklearn, all rows in memory, same hyperparameters)")

    started = time.perf_counter()
    outcome = train_and_register(engine, spec, progress=_progress)
    train_seconds = time.perf_counter() - started
    print(file=sys.stderr)
    folds = len(outcome.result.folds)
    print(
        f"train_and_register       : {train_seconds:.1f} s = {train_seconds / fit_seconds:.1f}x one plain fit "
        f"({folds} walk-forward folds + calibrated final fit + importance + artifact)"
    )
    held_out, base = outcome.result.metrics, outcome.result.baseline_metrics
    print(f"held-out accuracy        : {held_out['accuracy']:.4f} (majority baseline {base['accuracy']:.4f})")

    model_id = outcome.model.model_id
    started = time.perf_counter()
    records = predict_latest(engine, model_id, symbols=symbols)
    cold = time.perf_counter() - started
    assert len(records) == len(symbols), (len(records), len(symbols))
    warm = []
    for _ in range(5):
        started = time.perf_counter()
        predict_latest(engine, model_id, symbols=symbols)
        warm.append(time.perf_counter() - started)
    median_warm = statistics.median(warm)
    model = _model_for(get_model(engine, model_id))
    latest = ds.load_latest(engine, list(symbols), "1d", model.feature_names)
    x = latest[model.feature_names].to_numpy(dtype=float)
    started = time.perf_counter()
    model.predict(x)
    bare = time.perf_counter() - started
    verdict = "PASS" if median_warm <= 1.0 else "FAIL"
    print(
        f"predict_latest, cold     : {cold:.3f} s for {len(records)} symbols "
        "(includes loading + verifying the artifact)"
    )
    print(
        f"predict_latest, warm     : {median_warm:.3f} s median of 5 (read latest rows in 1 query + predict + "
        f"1 batched upsert) -> target <= 1 s: {verdict}"
    )
    print(f"baseline: bare predict() : {bare:.3f} s -> DB read/write overhead {median_warm / bare:.1f}x")
    print(f"run at {datetime.now(UTC).isoformat(timespec='seconds')}")
    engine.dispose()


if __name__ == "__main__":
    main()
