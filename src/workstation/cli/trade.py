"""``workstation trade run``: the live (or replayed) pipeline bar → features → prediction → strategy → risk → orders.

Live, it survives database and broker outages (backoff and retry, nothing lost, a reconciliation
once the database is back) and never ends with a traceback; ``--json`` prints JSON Lines: one
object per bar, and one per notice (``{"notice": "database_unavailable", "message": …}``).
"""

from __future__ import annotations

import importlib
import secrets
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

import click

from workstation.cli.context import app_context
from workstation.cli.output import echo_json_line
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
@click.option(
    "--strategy",
    "strategy_name",
    type=click.Choice(["model", "sma_cross"]),
    default="model",
    show_default=True,
    help="model: a model's predictions; sma_cross: the moving-average cross rule.",
)
@click.option("--model-id", default=None, help="The model whose predictions drive the strategy (--strategy model).")
@click.option("--fast", type=int, default=15, show_default=True, help="sma_cross: fast SMA bars.")
@click.option("--slow", type=int, default=30, show_default=True, help="sma_cross: slow SMA bars.")
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
@click.option(
    "--duration",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Live: stop after this many seconds (default: until Ctrl+C).",
)
@click.option("--threshold", default="0.55", show_default=True, help="Confidence needed to enter.")
@click.option("--exit-threshold", default="0.5", show_default=True, help="Exit when confidence drops below.")
@click.option("--sizing", type=click.Choice(["fixed_shares", "fixed_notional", "volatility"]), default="fixed_shares")
@click.option("--qty", default="100", show_default=True, help="Shares per position (fixed_shares).")
@click.option("--notional", default="10000", show_default=True, help="Notional per position (fixed_notional).")
@click.option("--cash", default=None, help="Replay: starting cash (default: the paper account's).")
@click.option("--live", is_flag=True, help="Alpaca: trade the live account (asks for typed confirmation).")
@click.option(
    "--predictions",
    type=click.Choice(["online", "compute", "stored"]),
    default="online",
    show_default=True,
    help="Live, model: online = features computed in memory per bar (stored afterwards); compute = an "
    "incremental feature build and a stored prediction per bar; stored = trade on predictions another job stores.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON Lines: one object per bar or notice.")
def run_cmd(**o: Any) -> None:
    """Trade a model's signals: live on new bars, or replayed from stored history through the paper broker."""
    from workstation.cli.orders import confirm_live
    from workstation.trading.live import TradingLoop
    from workstation.trading.live_decide import BarOutcome

    symbols = [s.strip().upper() for s in str(o["symbols"]).split(",") if s.strip()]
    if not symbols:
        raise WorkstationError("--symbols names no symbol", exit_code=2)
    strategy = _strategy(o)
    engine = app_context().engine
    as_json = bool(o["as_json"])

    def report(outcome: BarOutcome) -> None:
        if as_json:
            echo_json_line(
                {
                    "symbol": outcome.symbol,
                    "bar": outcome.timestamp,
                    "correlation_id": outcome.correlation_id,
                    "prediction": None if outcome.signal is None else str(outcome.signal.value),
                    "confidence": None
                    if outcome.signal is None or outcome.signal.confidence is None
                    else str(outcome.signal.confidence),
                    "orders": [order.as_dict() for order in outcome.orders],
                    "rejected": outcome.rejected,
                    "unknown": outcome.unknown,
                }
            )
        elif outcome.orders or outcome.rejected:
            for order in outcome.orders:
                click.echo(
                    f"{outcome.timestamp:%Y-%m-%d %H:%M} {order.symbol} {order.side} {order.quantity}: {order.status}"
                )
            for reason in outcome.rejected:
                click.echo(f"{outcome.timestamp:%Y-%m-%d %H:%M} {outcome.symbol} rejected: {reason}")
            for reason in outcome.unknown:
                click.echo(f"{outcome.timestamp:%Y-%m-%d %H:%M} {outcome.symbol} outcome unknown: {reason}")

    def notice(kind: str, message: str) -> None:
        if as_json:
            echo_json_line({"notice": kind, "message": message})
        else:
            click.echo(f"{kind.replace('_', ' ')}: {message}", err=True)

    if o["replay"]:
        if o["broker"] != "paper":
            raise WorkstationError("--replay runs through the paper broker only; drop --broker alpaca", exit_code=2)
        start, end = _date(o["replay"][0], "START"), _date(o["replay"][1], "END")
        manager = _replay_manager(engine, o["cash"])
        signals = _replay_signals(engine, strategy, o)
        loop = TradingLoop(engine, manager, strategy, interval=o["interval"], signals=signals)
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
    signals = _live_signals(engine, strategy, o)
    with correlation_scope(prefix="cli"):
        session = open_session(engine, o["broker"], live=bool(o["live"]))
    if session.reconcile_note:
        notice("reconcile", session.reconcile_note)
    manager = session.manager
    start_stream = getattr(session.broker, "start_stream", None)
    if start_stream is not None:
        start_stream(on_connected=lambda: _reconcile_quietly(manager, notice))
    loop = TradingLoop(engine, manager, strategy, interval=o["interval"], signals=signals)
    click.echo(f"trading {', '.join(symbols)} on {o['broker']} with {_describe(strategy)}; Ctrl+C stops", err=True)
    try:
        with progress_and_cancel("trade", enabled=False) as (_progress, cancel):
            timer = None
            if o["duration"] is not None:
                timer = threading.Timer(float(o["duration"]), cancel.cancel)
                timer.daemon = True
                timer.start()
            try:
                loop.run_live(
                    symbols, poll_seconds=float(o["poll"]), cancel=cancel, on_outcome=report, on_notice=notice
                )
            finally:
                if timer is not None:
                    timer.cancel()
    finally:
        session.close()


def _strategy(o: dict[str, Any]) -> Any:
    from workstation.cli.backtest import _decimal
    from workstation.trading.strategies.model import ModelStrategy, ModelStrategyConfig
    from workstation.trading.strategies.sma_cross import SmaCross

    if o["strategy_name"] == "sma_cross":
        return SmaCross(fast=int(o["fast"]), slow=int(o["slow"]), quantity=_decimal(o["qty"], "--qty"))
    if not o["model_id"]:
        raise WorkstationError("--strategy model needs --model-id", exit_code=2)
    return ModelStrategy(
        ModelStrategyConfig(
            model_id=o["model_id"],
            entry_threshold=_decimal(o["threshold"], "--threshold"),
            exit_threshold=_decimal(o["exit_threshold"], "--exit-threshold"),
            sizing=o["sizing"],
            shares=_decimal(o["qty"], "--qty"),
            notional=_decimal(o["notional"], "--notional"),
        )
    )


def _describe(strategy: Any) -> str:
    from workstation.trading.strategies.sma_cross import SmaCross

    if isinstance(strategy, SmaCross):
        return f"sma_cross {strategy.fast}/{strategy.slow}"
    return f"model {strategy.config.model_id}"


def _replay_signals(engine: Any, strategy: Any, o: dict[str, Any]) -> Any:
    """Replays trade sma_cross on the replayed closes, a model on its stored predictions."""
    from workstation.trading.live_signals import SmaCrossSignals, StoredPredictionSignals
    from workstation.trading.strategies.sma_cross import SmaCross

    if isinstance(strategy, SmaCross):
        return SmaCrossSignals(strategy.fast, strategy.slow)
    return StoredPredictionSignals(engine, strategy.config.model_id)


def _live_signals(engine: Any, strategy: Any, o: dict[str, Any]) -> Any:
    from workstation.trading.live_signals import OnlineModelSignals, SmaCrossSignals, StoredPredictionSignals
    from workstation.trading.strategies.sma_cross import SmaCross

    if isinstance(strategy, SmaCross):
        return SmaCrossSignals(strategy.fast, strategy.slow)
    model_id = strategy.config.model_id
    if o["predictions"] == "online":
        try:
            # Imported by name at run time, like the batch steps: optional for everything but live trading.
            importlib.import_module("workstation.features.online")
            importlib.import_module("workstation.ml.predict")
        except ImportError as exc:
            raise WorkstationError(
                f"live trading needs the features and ML packages, which are not available in this installation ({exc})"
            ) from None
        return OnlineModelSignals(engine, model_id, o["interval"])
    if o["predictions"] == "compute":
        features, predict = _pipeline_steps(model_id, o["interval"])
        return StoredPredictionSignals(engine, model_id, build_features=features, predict=predict)
    return StoredPredictionSignals(engine, model_id)


def _reconcile_quietly(manager: Any, notice: Callable[[str, str], None]) -> None:
    """After the trade stream (re)connects: catch up on what happened while it was down."""
    try:
        result = manager.reconcile()
    except Exception as exc:  # the stream thread must go on; the loop reconciles again later
        notice("reconcile_failed", f"{type(exc).__name__}: {exc}")
        return
    if result.changed or result.adopted:
        notice("reconciled", f"{result.changed} order(s) changed, {result.adopted} adopted after (re)connecting")


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
    # Its own account per run: the orders and fills stay apart from the paper account's and from
    # earlier replays' (whose positions the risk checks would otherwise read).
    broker.name = f"replay-{secrets.token_hex(4)}"

    def clock() -> datetime:
        bar = max(broker.last_bars.values(), key=lambda b: b.timestamp, default=None)
        return bar.timestamp if bar is not None else clock_holder.setdefault("now", datetime.now().astimezone())

    broker.clock = clock
    return OrderManager(SqlOrderStore(engine), broker, risk=RiskEngine(load_risk_limits()), clock=clock)
