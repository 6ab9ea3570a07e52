"""The live/replay loop with injected feature and prediction steps that write real prediction rows."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from click.testing import CliRunner
from helpers import T0, seed_bars
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from workstation.cli import main
from workstation.db.logs import TradingEvent
from workstation.db.market import MarketData
from workstation.db.partitions import ensure_partitions
from workstation.db.trading import Model, Prediction
from workstation.errors import WorkstationError
from workstation.monitoring.correlation import current_correlation_id
from workstation.trading.live import TradingLoop
from workstation.trading.risk import RiskLimits
from workstation.trading.session import open_session
from workstation.trading.strategies.model import ModelStrategy, ModelStrategyConfig

DAY = timedelta(days=1)


def _model(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        session.add(Model(model_id="m1", name="test model", version="1", model_type="test"))


def _predict(engine: Engine, symbol: str, when: datetime, value: str, confidence: str) -> None:
    with Session(engine) as session, session.begin():
        session.add(
            Prediction(
                prediction_id=f"m1-{symbol}-{when.isoformat()}",
                model_id="m1",
                symbol=symbol,
                timestamp=when,
                prediction_type="direction",
                prediction_value=Decimal(value),
                confidence=Decimal(confidence),
            )
        )


def _add_bar(engine: Engine, symbol: str, when: datetime, close: float) -> None:
    ensure_partitions(engine, "market_data", [when])
    with Session(engine) as session, session.begin():
        price = Decimal(str(close))
        session.add(
            MarketData(symbol=symbol, interval="1d", timestamp=when, open=price, high=price, low=price, close=price,
                       volume=1_000_000, source="test")
        )  # fmt: skip


def test_live_pipeline_per_bar_with_one_correlation_id(engine: Engine) -> None:
    _model(engine)
    seed_bars(engine, "AAPL", [100.0 + i for i in range(25)])
    script = {25: ("1", "0.9"), 26: ("1", "0.8"), 27: ("-1", "0.7")}
    seen: list[tuple[str, str | None]] = []

    def features(symbol: str, when: datetime) -> None:
        seen.append(("features", current_correlation_id()))

    def predict(symbol: str, when: datetime) -> None:
        seen.append(("predict", current_correlation_id()))
        value, confidence = script[(when - T0) // DAY]
        _predict(engine, symbol, when, value, confidence)

    session = open_session(engine, "paper", risk_limits=RiskLimits())
    strategy = ModelStrategy(ModelStrategyConfig(model_id="m1", shares=Decimal(10)))
    loop = TradingLoop(engine, session.manager, strategy, build_features=features, predict=predict)
    assert loop.poll_once(["AAPL"]) == []  # primes on the history
    _add_bar(engine, "AAPL", T0 + 25 * DAY, 130.0)
    (entry,) = loop.poll_once(["AAPL"])
    assert [(o.side, o.quantity, o.status) for o in entry.orders] == [("buy", Decimal(10), "filled")]
    assert entry.orders[0].correlation_id == entry.correlation_id
    assert seen == [("features", entry.correlation_id), ("predict", entry.correlation_id)]
    _add_bar(engine, "AAPL", T0 + 26 * DAY, 131.0)
    (hold,) = loop.poll_once(["AAPL"])
    assert hold.orders == []  # one position per symbol: no pyramiding
    _add_bar(engine, "AAPL", T0 + 27 * DAY, 129.0)
    (flip,) = loop.poll_once(["AAPL"])
    assert [(o.side, o.quantity) for o in flip.orders] == [("sell", Decimal(10))]
    assert session.manager.book.quantity("AAPL") == 0
    with Session(engine) as db:
        events = (
            db.execute(select(TradingEvent.event_type).where(TradingEvent.correlation_id == flip.correlation_id))
            .scalars()
            .all()
        )
    assert events == ["signal_generated", "order_placed", "order_filled"]
    assert len({entry.correlation_id, hold.correlation_id, flip.correlation_id}) == 3


def test_replay_cli_runs_offline_on_stored_predictions(engine: Engine, db_url: str) -> None:
    _model(engine)
    seed_bars(engine, "AAPL", [100.0 + i for i in range(10)])
    _predict(engine, "AAPL", T0 + 2 * DAY, "1", "0.9")
    _predict(engine, "AAPL", T0 + 6 * DAY, "0.2", "0.3")  # weakening → exit
    result = CliRunner().invoke(
        main,
        ["--database-url", db_url, "trade", "run", "--model-id", "m1", "--symbols", "AAPL", "--qty", "5",
         "--replay", "2024-03-04", "2024-03-20", "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, (result.output, result.exception)
    lines = [json.loads(chunk) for chunk in result.stdout.replace("}\n{", "}\x00{").split("\x00")]
    traded = [(x["bar"][:10], o["side"], o["status"]) for x in lines for o in x["orders"]]
    assert traded == [("2024-03-06", "buy", "filled"), ("2024-03-10", "sell", "filled")]
    positions = CliRunner().invoke(main, ["--database-url", db_url, "positions", "--json"])
    assert json.loads(positions.stdout) == []  # the replay never touches the paper account


@pytest.mark.parametrize(
    ("module", "predictions"), [("workstation.features.engine", "compute"), ("workstation.features.online", "online")]
)
def test_live_without_the_ml_packages_is_a_one_line_error(
    engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch, module: str, predictions: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # import now raises ImportError
    result = CliRunner().invoke(
        main,
        [
            "--database-url",
            db_url,
            "trade",
            "run",
            "--model-id",
            "m1",
            "--symbols",
            "AAPL",
            "--predictions",
            predictions,
        ],
    )
    assert isinstance(result.exception, WorkstationError)
    assert "features and ML packages" in str(result.exception)


def test_backtest_cli_model_strategy_on_stored_bars(engine: Engine, db_url: str) -> None:
    _model(engine)
    seed_bars(engine, "AAPL", [100.0 + i for i in range(10)])
    _predict(engine, "AAPL", T0 + 2 * DAY, "1", "0.9")
    _predict(engine, "AAPL", T0 + 6 * DAY, "-1", "0.9")
    result = CliRunner().invoke(
        main,
        ["--database-url", db_url, "backtest", "--strategy", "model", "--model-id", "m1", "--symbol", "AAPL",
         "--qty", "10", "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, (result.output, result.exception)
    payload = json.loads(result.stdout)
    assert [(f["timestamp"][:10], f["side"], f["quantity"], f["price"]) for f in payload["fills"]] == [
        ("2024-03-07", "buy", 10, 103.0),
        ("2024-03-11", "sell", 10, 107.0),
    ]
    assert payload["trades"][0]["pnl"] == 40.0
    missing = CliRunner().invoke(
        main, ["--database-url", db_url, "backtest", "--strategy", "model", "--symbol", "AAPL"]
    )
    assert isinstance(missing.exception, WorkstationError)
