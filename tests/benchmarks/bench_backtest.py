"""Backtest throughput vs backtrader, and signal-to-order latency on the paper broker.

    PYTHONPATH=src python3 tests/benchmarks/bench_backtest.py [--scale 1.0] [--bt-symbols 20]

1. sma_cross (fast 15, slow 30, 1,000 shares, rate 0.001) over N symbols × 2,000 daily bars of
   SYNTHETIC prices (seeded geometric random walks rounded to cents; 1,000 symbols at --scale 1)
   through the full order path (risk → order manager → paper broker), in bars/s.
2. backtrader running the same strategy on the same data in the same run. backtrader is slow, so
   it runs on the first --bt-symbols symbols and its bars/s is extrapolated to the full set (the
   per-bar cost of backtrader does not depend on the number of symbols run one after another).
3. Fills compared one by one on that sample (date, side, quantity, price, commission).
4. Signal-to-order latency: strategy decision → risk → order committed → paper broker ack, with
   the order, its events and its fill written to a database (SQLite file, and a PostgreSQL
   database bench_backtest_<pid> created and dropped here when the server is reachable).
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

import numpy as np
import pandas as pd

SRC = Path(__file__).resolve().parents[2] / "src"
sys.path.insert(0, str(SRC))

from workstation.trading.backtest.engine import BacktestConfig, run_backtest  # noqa: E402
from workstation.trading.brokers.paper import Bar, CommissionModel, PaperBroker, PaperConfig  # noqa: E402
from workstation.trading.domain import OrderRequest  # noqa: E402
from workstation.trading.order_manager import OrderManager  # noqa: E402
from workstation.trading.repository import SqlOrderStore  # noqa: E402
from workstation.trading.risk import RiskEngine, RiskLimits  # noqa: E402

BARS = 2000
FAST, SLOW, QTY, CASH, RATE = 15, 30, 1000, 100_000, 0.001


def synthetic_universe(symbols: int, seed: int = 7) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    index = pd.date_range("2012-01-03", periods=BARS, freq="B", tz="UTC")
    universe = {}
    for n in range(symbols):
        start = rng.uniform(10, 200)
        close = np.round(start * np.exp(np.cumsum(rng.normal(0.0002, 0.02, BARS))), 2)
        opens = np.round(close * np.exp(rng.normal(0, 0.006, BARS)), 2)
        high = np.round(np.maximum(opens, close) * (1 + rng.uniform(0, 0.01, BARS)), 2)
        low = np.round(np.minimum(opens, close) * (1 - rng.uniform(0, 0.01, BARS)), 2)
        volume = rng.integers(100_000, 5_000_000, BARS).astype(np.float64)
        universe[f"SYN{n:04d}"] = pd.DataFrame(
            {"open": opens, "high": high, "low": low, "close": close, "volume": volume}, index=index
        )
    return universe


def ours(universe: dict[str, pd.DataFrame]) -> tuple[float, dict[str, list[tuple]]]:
    from workstation.trading.strategies.sma_cross import SmaCross

    config = BacktestConfig(cash=Decimal(CASH), commission=CommissionModel(rate=Decimal(str(RATE))))
    fills: dict[str, list[tuple]] = {}
    started = time.perf_counter()
    for symbol, frame in universe.items():
        result = run_backtest({symbol: frame}, SmaCross(FAST, SLOW, Decimal(QTY)), config)
        fills[symbol] = [
            (f.timestamp.date(), f.side, float(f.quantity), round(float(f.price), 6), round(float(f.commission), 6))
            for f in result.fills
        ]
    return time.perf_counter() - started, fills


def backtrader_run(universe: dict[str, pd.DataFrame]) -> tuple[float, dict[str, list[tuple]]]:
    import backtrader as bt

    class SmaCrossBT(bt.Strategy):  # type: ignore[misc]
        def __init__(self) -> None:
            self.cross = bt.ind.CrossOver(bt.ind.SMA(period=FAST), bt.ind.SMA(period=SLOW))
            self.fills: list[tuple] = []

        def notify_order(self, order: bt.Order) -> None:
            if order.status == order.Completed:
                ex = order.executed
                side = "buy" if order.isbuy() else "sell"
                self.fills.append(
                    (bt.num2date(ex.dt).date(), side, float(abs(ex.size)), round(ex.price, 6), round(ex.comm, 6))
                )

        def next(self) -> None:
            if not self.position and self.cross > 0:
                self.buy(size=QTY)
            elif self.position and self.cross < 0:
                self.close()

    fills: dict[str, list[tuple]] = {}
    started = time.perf_counter()
    for symbol, frame in universe.items():
        cerebro = bt.Cerebro(stdstats=False)
        cerebro.broker.setcash(CASH)
        cerebro.broker.setcommission(commission=RATE)
        cerebro.adddata(bt.feeds.PandasData(dataname=frame.tz_localize(None)))
        cerebro.addstrategy(SmaCrossBT)
        (strategy,) = cerebro.run()
        fills[symbol] = strategy.fills
    return time.perf_counter() - started, fills


class _StampingBroker(PaperBroker):
    """Notes when an order reaches the broker (after its client order id is committed)."""

    reached_at = 0.0

    def submit(self, order):  # type: ignore[no-untyped-def]
        self.reached_at = time.perf_counter()
        return super().submit(order)


def latency(url: str, samples: int) -> tuple[list[float], list[float]]:
    """Milliseconds from a strategy's decision to (a) the order reaching the paper broker, its client
    order id committed first, and (b) the broker's acknowledgement (a fill) committed with its events."""
    from workstation.db.engine import create_db_engine
    from workstation.db.migrate import upgrade

    engine = create_db_engine(url)
    upgrade(engine)
    broker = _StampingBroker(Decimal(10**9), PaperConfig(mode="live"))
    when = pd.Timestamp("2024-03-04", tz="UTC").to_pydatetime()
    broker.on_bar("AAPL", Bar(when, *(Decimal(100),) * 4, Decimal(10**7)))
    limits = RiskLimits(
        max_order_quantity=Decimal(10_000), max_order_notional=Decimal(10**7), max_orders_per_window=10**6
    )
    manager = OrderManager(SqlOrderStore(engine), broker, risk=RiskEngine(limits))
    to_broker, to_ack = [], []
    for n in range(samples):
        side = "buy" if n % 2 == 0 else "sell"
        started = time.perf_counter()
        order = manager.submit(OrderRequest("AAPL", side, Decimal(10), strategy="bench"))
        done = time.perf_counter()
        assert order.status == "filled"
        to_broker.append((broker.reached_at - started) * 1000)
        to_ack.append((done - started) * 1000)
    engine.dispose()
    return to_broker, to_ack


def _report_latency(label: str, timings: tuple[list[float], list[float]]) -> None:
    to_broker, to_ack = timings
    print(
        f"  {label:<11} signal->order at broker: median {statistics.median(to_broker):.3f} ms "
        f"p95 {np.percentile(to_broker, 95):.3f} ms (target median <= 2 ms); "
        f"-> ack+fill committed: median {statistics.median(to_ack):.3f} ms"
    )


def postgres_url() -> tuple[str, object] | None:
    from sqlalchemy import create_engine, text

    admin_url = os.environ.get("WORKSTATION_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1/postgres")
    admin_url = admin_url.replace("postgresql://", "postgresql+psycopg://", 1)
    name = f"bench_backtest_{os.getpid()}"
    try:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # no server: report SQLite only
        print(f"  (PostgreSQL not reachable: {type(exc).__name__})")
        return None
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    return url, admin


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the 1,000 symbols (0.05 = quick run)")
    parser.add_argument("--bt-symbols", type=int, default=20, help="symbols backtrader runs (extrapolated)")
    parser.add_argument("--latency-samples", type=int, default=500)
    args = parser.parse_args()
    symbols = max(1, round(1000 * args.scale))
    universe = synthetic_universe(symbols)
    total_bars = symbols * BARS
    print(f"sma_cross over {symbols} synthetic symbols x {BARS} bars = {total_bars:,} bars")

    ours_seconds, ours_fills = ours(universe)
    ours_rate = total_bars / ours_seconds
    n_fills = sum(len(f) for f in ours_fills.values())
    print(f"  workstation: {ours_seconds:8.2f} s  {ours_rate:12,.0f} bars/s  ({n_fills:,} fills)")

    sample = dict(list(universe.items())[: min(args.bt_symbols, symbols)])
    bt_seconds, bt_fills = backtrader_run(sample)
    bt_rate = len(sample) * BARS / bt_seconds
    print(f"  backtrader:  {bt_seconds:8.2f} s  {bt_rate:12,.0f} bars/s  (on {len(sample)} symbols, extrapolated)")
    print(f"  ratio: {ours_rate / bt_rate:.1f}x backtrader (target >= 50x)")

    mismatched = [s for s in sample if ours_fills[s] != bt_fills[s]]
    compared = sum(len(bt_fills[s]) for s in sample)
    print(f"  fills identical on the sample: {len(sample) - len(mismatched)}/{len(sample)} symbols, {compared:,} fills")
    for symbol in mismatched[:3]:
        pairs = zip(ours_fills[symbol], bt_fills[symbol], strict=False)
        ours_fill, bt_fill = next(((a, b) for a, b in pairs if a != b), (None, None))
        print(f"    {symbol}: first difference ours={ours_fill} backtrader={bt_fill}")

    print(f"signal-to-order latency on the paper broker (risk checks on), {args.latency_samples} orders")
    with tempfile.TemporaryDirectory() as folder:
        _report_latency("SQLite:", latency(f"sqlite:///{folder}/bench.db", args.latency_samples))
    found = postgres_url()
    if found is not None:
        url, admin = found
        try:
            _report_latency("PostgreSQL:", latency(url, args.latency_samples))
        finally:
            from sqlalchemy import text

            with admin.connect() as conn:  # type: ignore[attr-defined]
                conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[-1]}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
