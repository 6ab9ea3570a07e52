"""``workstation trade run``: the live (or replayed) pipeline bar → features → prediction → strategy → risk → orders."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

import click

from workstation.cli.context import app_context
from workstation.cli.output import echo_json
from workstation.cli.progress import progress_and_cancel
from workstation.errors import WorkstationError
from workstation.monitoring.correlation import correlation_scope


def _pipeline_steps(model_id: str, interval: str) -> tuple[Callable[[str, datetime], None], ...]:
    """Adapters around the features and ML entry points, imported only when live trading needs them."""
    try:
        # Imported by name at run time: these packages are optional for everything but live trading.
        build_features = importlib.import_module("workstation.features.engine").build_features
        predict_latest = importlib.import_module("workstation.ml.predict").predict_latest
    except (ImportError, AttributeError) as exc:
        raise WorkstationError(
            f"live trading needs the features and ML packages, which are not available in this installation ({exc})"
        ) from None
    engine = app_context().engine

    def features(symbol: str, _at: datetime) -> None:
        build_features(engine, symbols=[symbol], interval=interval, full=False)

    def predict(symbol: str, _at: datetime) -> None:
        predict_latest(engine, model_id, symbols=[symbol])

    return features, predict


def _date(value: str, name: str) -> datetime:
    from workstation.cli.backtest import _date as parse

    parsed = parse(value, name)
    assert parsed is not None
    return parsed


@click.group("trade")
def command() -> None:
    """Run the trading pipeline live or over replayed history."""


@command.command("run")
@click.option("--broker", type=click.Choice(["paper", "alpaca"]), default="paper", show_default=True)
@click.option("--model-id", required=True, help="The model whose predictions drive the strategy.")
@click.option("--symbols", required=True, help="Comma-separated symbols, e.g. AAPL,MSFT.")
@click.option("--interval", default="1d", show_default=True)
@click.option("--replay", nargs=2, metavar="START END", default=None, help="Replay stored bars between two dates.")
@click.option("--speed", type=float, default=0.0, show_default=True, help="Replay speed × real time (0 = max).")
@click.option(
    "--poll",
    type=float,
    default=5.0,
    show_default=True,
    help="Live: new bars are announced by the feed; check the store at least this often anyway.",
)
@click.option("--threshold", default="0.55", show_default=True, help="Confidence needed to enter.")
@click.option("--exit-threshold", default="0.5", show_default=True, help="Exit when confidence drops below.")
@click.option("--sizing", type=click.Choice(["fixed_shares", "fixed_notional", "volatility"]), default="fixed_shares")
@click.option("--qty", default="100", show_default=True, help="Shares per position (fixed_shares).")
@click.option("--notional", default="10000", show_default=True, help="Notional per position (fixed_notional).")
@click.option("--cash", default=None, help="Replay: starting cash (default: the paper account's).")
@click.option("--live", is_flag=True, help="Alpaca: trade the live account (asks for typed confirmation).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per bar.")
def run_cmd(**o: Any) -> None:
    """Trade a model's signals: live on new bars, or replayed from stored history through the paper broker."""
    from workstation.cli.backtest import _decimal
    from workstation.cli.orders import confirm_live
    from workstation.trading.live import BarOutcome, TradingLoop
    from workstation.trading.strategies.model import ModelStrategy, ModelStrategyConfig

    symbols = [s.strip().upper() for s in str(o["symbols"]).split(",") if s.strip()]
    if not symbols:
        raise WorkstationError("--symbols names no symbol", exit_code=2)
    strategy = ModelStrategy(
        ModelStrategyConfig(
            model_id=o["model_id"],
            entry_threshold=_decimal(o["threshold"], "--threshold"),
            exit_threshold=_decimal(o["exit_threshold"], "--exit-threshold"),
            sizing=o["sizing"],
            shares=_decimal(o["qty"], "--qty"),
            notional=_decimal(o["notional"], "--notional"),
        )
    )
    engine = app_context().engine
    as_json = bool(o["as_json"])

    def report(outcome: BarOutcome) -> None:
        if as_json:
            echo_json(
                {
                    "symbol": outcome.symbol,
                    "bar": outcome.timestamp,
                    "correlation_id": outcome.correlation_id,
                    "prediction": None if outcome.signal is None else str(outcome.signal.value),
                    "orders": [order.as_dict() for order in outcome.orders],
                    "rejected": outcome.rejected,
                }
            )
        elif outcome.orders or outcome.rejected:
            for order in outcome.orders:
                click.echo(
                    f"{outcome.timestamp:%Y-%m-%d %H:%M} {order.symbol} {order.side} {order.quantity}: {order.status}"
                )
            for reason in outcome.rejected:
                click.echo(f"{outcome.timestamp:%Y-%m-%d %H:%M} {outcome.symbol} rejected: {reason}")

    if o["replay"]:
        if o["broker"] != "paper":
            raise WorkstationError("--replay runs through the paper broker only; drop --broker alpaca", exit_code=2)
        start, end = _date(o["replay"][0], "START"), _date(o["replay"][1], "END")
        manager = _replay_manager(engine, o["cash"])
        loop = TradingLoop(engine, manager, strategy, interval=o["interval"])
        with correlation_scope(prefix="cli"), progress_and_cancel("replay", enabled=not as_json) as (progress, cancel):
            outcomes = loop.replay(
                symbols, start, end, speed=float(o["speed"]), progress=progress, cancel=cancel, on_outcome=report
            )
        account = manager.broker.account()
        if not outcomes:
            raise WorkstationError(f"no stored {o['interval']} bars for {', '.join(symbols)} in that range")
        if not as_json:
            orders = sum(len(x.orders) for x in outcomes)
            signals = sum(1 for x in outcomes if x.signal is not None)
            click.echo(
                f"replayed {len(outcomes)} bars: {signals} signals, {orders} orders; "
                f"equity {account.equity:,.2f}, cash {account.cash:,.2f}"
            )
        return

    from workstation.trading.session import open_session

    confirm_live(bool(o["live"]))
    build_features, predict = _pipeline_steps(o["model_id"], o["interval"])
    with correlation_scope(prefix="cli"):
        session = open_session(engine, o["broker"], live=bool(o["live"]))
    manager = session.manager
    start_stream = getattr(session.broker, "start_stream", None)
    if start_stream is not None:
        start_stream(on_connected=manager.reconcile)
    loop = TradingLoop(
        engine, manager, strategy, interval=o["interval"], build_features=build_features, predict=predict
    )
    click.echo(f"trading {', '.join(symbols)} on {o['broker']} with {o['model_id']}; Ctrl+C stops", err=True)
    try:
        with progress_and_cancel("trade", enabled=False) as (_progress, cancel):
            loop.run_live(symbols, poll_seconds=float(o["poll"]), cancel=cancel, on_outcome=report)
    finally:
        session.close()


def _replay_manager(engine: Any, cash: str | None) -> Any:
    from workstation.cli.backtest import _decimal
    from workstation.trading.brokers.paper import PaperBroker, PaperConfig
    from workstation.trading.order_manager import OrderManager
    from workstation.trading.paper_account import starting_cash
    from workstation.trading.repository import SqlOrderStore
    from workstation.trading.risk import RiskEngine
    from workstation.trading.session import load_risk_limits

    start_cash = _decimal(cash, "--cash") if cash is not None else starting_cash(engine)
    clock_holder: dict[str, datetime] = {}
    broker = PaperBroker(start_cash, PaperConfig(mode="live"))
    broker.name = "replay"  # its orders and fills stay apart from the paper account's

    def clock() -> datetime:
        bar = max(broker.last_bars.values(), key=lambda b: b.timestamp, default=None)
        return bar.timestamp if bar is not None else clock_holder.setdefault("now", datetime.now().astimezone())

    broker.clock = clock
    return OrderManager(
        SqlOrderStore(engine), broker, risk=RiskEngine(load_risk_limits()), clock=clock, load_history=False
    )
