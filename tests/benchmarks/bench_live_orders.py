"""Bar close → order at the paper broker for a batch of symbols, online features and prediction included.

    PYTHONPATH=src python3 tests/benchmarks/bench_live_orders.py [--symbols 100] [--bars 700] [--rounds 5]
        [--backend sqlite|postgresql] [--admin-url postgresql://postgres@127.0.0.1:5432/postgres]

SYNTHETIC daily bars (seeded random walks) for N symbols are stored; a random forest is trained on
the catalog features of five of them and activated. Each round then closes one new bar for every
symbol the way ``workstation feed run`` does (stored and announced in one transaction) and the live
loop of ``trade run --strategy model`` (``TradingLoop`` + ``OnlineModelSignals`` + the paper broker
through risk and the order manager, every order written to the database) takes it from the
announcement to the orders. Thresholds are 0, shorting is allowed and positions are closed between
rounds (untimed), so every bar places an order: the worst case, N orders per batch. Measured per round:

* close → last order: from the start of the bar write to the last order acknowledged by the paper
  broker, split into store + announce, announcement delivery, and decide (online features for the
  batch — split over this process and the warm helpers of features/online_pool, one per spare core —,
  one in-memory prediction call, signal events, N orders);
* persist: writing the online feature rows and the predictions with their input vectors afterwards
  (not on the path to the orders).

Baselines in the same run, on the same kind of batch:

* batch: the incremental feature build for the new bars of all N symbols plus ``predict_latest``
  (the batch entry points, writes included, no orders);
* polling: ``trade run``'s path before online features (``--predictions compute``): the store is
  read, then per bar an incremental feature build and a stored prediction, then the order.

``run(args) -> dict`` returns the figures (seconds); ``main`` prints them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from workstation.db.engine import create_db_engine
from workstation.db.migrate import upgrade
from workstation.features.engine import build_features
from workstation.market.notify import BarSubscriber, announce
from workstation.market.store import store_bars
from workstation.market.stream.writer import checked_frame
from workstation.ml.predict import predict_latest
from workstation.ml.service import train_and_register
from workstation.ml.training import TrainingSpec
from workstation.trading.live import TradingLoop
from workstation.trading.live_book import flatten
from workstation.trading.live_signals import OnlineModelSignals, StoredPredictionSignals
from workstation.trading.risk import RiskLimits
from workstation.trading.session import open_session
from workstation.trading.strategies.model import ModelStrategy, ModelStrategyConfig

TARGET_SECONDS = 0.250


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--symbols", type=int, default=100)
    parser.add_argument("--bars", type=int, default=700, help="stored daily bars per symbol before the rounds")
    parser.add_argument("--rounds", type=int, default=5, help="new bars per symbol, one batch each")
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    return parser.parse_args(argv)


def _universe(symbols: int, bars: int, seed: int = 11) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    index = pd.bdate_range("2018-01-02", periods=bars + 64, tz="UTC") + pd.Timedelta(hours=21)
    out = {}
    for n in range(symbols):
        close = np.round(rng.uniform(20, 200) * np.exp(np.cumsum(rng.normal(0.0002, 0.018, len(index)))), 2)
        opens = np.round(close * np.exp(rng.normal(0, 0.005, len(index))), 2)
        out[f"SYN{n:03d}"] = pd.DataFrame(
            {
                "open": opens,
                "high": np.round(np.maximum(opens, close) * (1 + rng.uniform(0, 0.01, len(index))), 2),
                "low": np.round(np.minimum(opens, close) * (1 - rng.uniform(0, 0.01, len(index))), 2),
                "close": close,
                "volume": rng.integers(100_000, 5_000_000, len(index)),
            },
            index=index,
        )
    return out


def _frame(universe: dict[str, pd.DataFrame], rows: slice) -> pd.DataFrame:
    parts = [f.iloc[rows].reset_index(names="timestamp").assign(symbol=s) for s, f in universe.items()]
    frame = pd.concat(parts, ignore_index=True)
    return frame.assign(interval="1d", source="bench", row=range(1, len(frame) + 1))


def _write(engine: Any, universe: dict[str, pd.DataFrame], position: int) -> float:
    """Store and announce bar ``position`` of every symbol as the feed's writer does (its bars as a
    validated frame, then the bar store with the announcement); returns when that started. The bars
    are picked out of the universe before the clock starts: the feed has them already."""
    pending = {
        (symbol, "1d", frame.index[position].to_pydatetime()): (
            *(float(frame[c].iat[position]) for c in ("open", "high", "low", "close")),
            int(frame["volume"].iat[position]),
        )
        for symbol, frame in universe.items()
    }
    started = time.perf_counter()
    good, rejected = checked_frame(pending, "bench")  # type: ignore[arg-type]
    result = store_bars(engine, good, workers=1, on_written=announce)
    assert not rejected and not result.failures, (rejected, result.failures)
    return started


def _database(backend: str, admin_url: str, tmp: Path) -> tuple[str, Any]:
    if backend == "sqlite":
        return f"sqlite:///{tmp / 'bench.db'}", None
    name = f"bench_live_orders_{os.getpid()}"
    admin = create_engine(make_url(admin_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False), (admin, name)


def run(args: argparse.Namespace) -> dict[str, Any]:
    symbols_n = int(getattr(args, "symbols", 100))
    bars_n = int(getattr(args, "bars", 700))
    rounds = int(getattr(args, "rounds", 5))
    backend = str(getattr(args, "backend", "sqlite"))
    admin_url = str(getattr(args, "admin_url", "postgresql://postgres@127.0.0.1:5432/postgres"))
    universe = _universe(symbols_n, bars_n)
    symbols = sorted(universe)
    with tempfile.TemporaryDirectory() as tmp_dir:
        url, cleanup = _database(backend, admin_url, Path(tmp_dir))
        engine = create_db_engine(url)
        try:
            upgrade(engine)
            assert not store_bars(engine, _frame(universe, slice(0, bars_n)), workers=1).failures
            build_features(engine, symbols=symbols)
            trees = {"n_estimators": 50}
            spec = TrainingSpec(model_type="random_forest", target="price_direction",  # type: ignore[arg-type]
                                symbols=tuple(symbols[:5]), hyperparameters=trees, n_folds=2)  # fmt: skip
            model_id = train_and_register(engine, spec, status="active").model.model_id
            config = ModelStrategyConfig(model_id, Decimal(0), Decimal(0), shares=Decimal(1), allow_short=True)
            strategy = ModelStrategy(config)
            manager = open_session(engine, "paper", risk_limits=RiskLimits()).manager
            signals = OnlineModelSignals(engine, model_id, "1d")
            loop = TradingLoop(engine, manager, strategy, signals=signals)
            loop.poll_once(symbols)  # primes every window from the store, as run_live's first read does
            subscriber = BarSubscriber(engine, symbols=symbols, intervals=("1d",))
            subscriber.wait(0.01)
            persist = signals.persist
            measured: list[dict[str, float]] = []
            position = bars_n
            for _ in range(rounds):
                signals.persist = lambda: None  # type: ignore[method-assign]  # timed apart below
                started = _write(engine, universe, position)
                stored = time.perf_counter()
                events: list[Any] = []
                while len(events) < symbols_n:
                    events += subscriber.wait(5.0)
                delivered = time.perf_counter()
                outcomes = loop.on_events(events, symbols)
                decided = time.perf_counter()
                signals.persist = persist  # type: ignore[method-assign]
                persist()
                persisted = time.perf_counter()
                orders = sum(len(o.orders) for o in outcomes)
                assert len(outcomes) == symbols_n and orders == symbols_n, (len(outcomes), orders)
                measured.append({
                    "close_to_order": decided - started, "store_announce": stored - started,
                    "delivery": delivered - stored, "decide": decided - delivered, "persist": persisted - decided,
                })  # fmt: skip
                position += 1
                flatten(manager, symbols, "bench")  # every round starts flat: every bar places an order
            subscriber.close()
            # Baseline 1: the batch entry points for one new bar of every symbol (features and predictions).
            _write(engine, universe, position)
            position += 1
            t0 = time.perf_counter()
            build_features(engine, symbols=symbols)
            predict_latest(engine, model_id, symbols=symbols)
            batch = time.perf_counter() - t0

            # Baseline 2: trade run's polling path with per-bar feature builds and stored predictions.
            def features(symbol: str, _at: Any) -> None:
                build_features(engine, symbols=[symbol])

            def predict(symbol: str, _at: Any) -> None:
                predict_latest(engine, model_id, symbols=[symbol])

            polling_loop = TradingLoop(engine, manager, strategy,
                                       signals=StoredPredictionSignals(engine, model_id, build_features=features,
                                                                       predict=predict))  # fmt: skip
            polling_loop.poll_once(symbols)
            started = _write(engine, universe, position)
            outcomes = polling_loop.poll_once(symbols)
            polling = time.perf_counter() - started
            polled_orders = sum(len(o.orders) for o in outcomes)
        finally:
            engine.dispose()
            if cleanup is not None:
                admin, name = cleanup
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    median = {k: statistics.median(m[k] for m in measured) for k in measured[0]}
    return {
        "backend": backend,
        "symbols": symbols_n,
        "rounds": rounds,
        "close_to_order_median": median["close_to_order"],
        "close_to_order_max": max(m["close_to_order"] for m in measured),
        "store_announce_median": median["store_announce"],
        "delivery_median": median["delivery"],
        "decide_median": median["decide"],
        "persist_median": median["persist"],
        "baseline_batch_features_predict": batch,
        "baseline_polling_path": polling,
        "baseline_polling_orders": polled_orders,
        "target": TARGET_SECONDS,
        "met": median["close_to_order"] <= TARGET_SECONDS,
    }


def main() -> None:
    args = parse_args()
    r = run(args)
    ms = 1000.0
    print(f"bar close → order, {r['symbols']} symbols (one bar each, {r['symbols']} orders) on {r['backend']}, "
          f"paper broker, online features + prediction; {r['rounds']} rounds")  # fmt: skip
    worst = r["close_to_order_max"] * ms
    print(
        f"  close → last order: median {r['close_to_order_median'] * ms:.0f} ms, max {worst:.0f} ms "
        f"(target ≤ {r['target'] * ms:.0f} ms: {'met' if r['met'] else 'MISSED'})"
    )
    print(
        f"    store + announce {r['store_announce_median'] * ms:.0f} ms, delivery {r['delivery_median'] * ms:.0f} ms, "
        f"decide (features, prediction, orders) {r['decide_median'] * ms:.0f} ms; "
        f"persist afterwards {r['persist_median'] * ms:.0f} ms"
    )
    batch, polling = r["baseline_batch_features_predict"], r["baseline_polling_path"]
    print(
        f"  baseline batch feature build + predict_latest for the same batch: {batch * ms:.0f} ms "
        f"({batch / r['close_to_order_median']:.1f}× the online path, and no orders yet)"
    )
    print(
        f"  baseline trade run polling path (--predictions compute): {polling * ms:.0f} ms for "
        f"{r['baseline_polling_orders']} orders ({polling / r['close_to_order_median']:.1f}× the online path)"
    )


if __name__ == "__main__":
    main()
