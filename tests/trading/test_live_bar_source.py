"""trade run's live loop hears of new bars from the feed's announcements (market.notify), not by polling."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from decimal import Decimal

from helpers import T0
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from workstation.db.trading import Model, Prediction
from workstation.jobs import CancelToken
from workstation.market.store import store_bars
from workstation.market.stream.events import StreamBar
from workstation.market.stream.writer import BarWriter, bars_to_frame
from workstation.trading.live import TradingLoop
from workstation.trading.live_decide import BarOutcome
from workstation.trading.risk import RiskLimits
from workstation.trading.session import open_session
from workstation.trading.strategies.model import ModelStrategy, ModelStrategyConfig

MINUTE = timedelta(minutes=1)


def _minute(i: int, close: float) -> StreamBar:
    return StreamBar("AAPL", T0 + i * MINUTE, close, close + 0.1, close - 0.1, close, 1000)


def test_an_announced_bar_runs_the_pipeline_long_before_the_next_poll(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        session.add(Model(model_id="m1", name="test model", version="1", model_type="test"))
    assert not store_bars(engine, bars_to_frame([_minute(i, 100.0 + i) for i in range(25)], "alpaca")).failures

    def predict(symbol: str, when: datetime) -> None:
        with Session(engine) as session, session.begin():
            session.add(Prediction(prediction_id=f"m1-{symbol}-{when.isoformat()}", model_id="m1", symbol=symbol,
                                   timestamp=when, prediction_type="direction", prediction_value=Decimal(1),
                                   confidence=Decimal("0.9")))  # fmt: skip

    manager = open_session(engine, "paper", risk_limits=RiskLimits()).manager
    strategy = ModelStrategy(ModelStrategyConfig(model_id="m1", shares=Decimal(10)))
    loop = TradingLoop(engine, manager, strategy, interval="1m", predict=predict)
    outcomes: list[tuple[float, BarOutcome]] = []
    cancel = CancelToken()
    runner = threading.Thread(
        target=loop.run_live, args=(["AAPL"],),
        kwargs={"poll_seconds": 60.0, "cancel": cancel, "on_outcome": lambda o: outcomes.append((time.monotonic(), o))},
    )  # fmt: skip
    runner.start()
    writer = BarWriter(engine, max_delay=0.05).start()
    try:
        deadline = time.monotonic() + 10
        while "AAPL" not in loop.last_seen and time.monotonic() < deadline:
            time.sleep(0.05)  # the first poll primes on the stored history
        assert "AAPL" in loop.last_seen
        written = time.monotonic()
        writer.put(_minute(25, 130.0))  # what the feed does with a streamed minute
        assert writer.flush(10)
        while not outcomes and time.monotonic() < written + 10:
            time.sleep(0.05)
    finally:
        cancel.cancel()
        runner.join(10)
        writer.stop()
    assert not runner.is_alive()
    ((heard, outcome),) = outcomes
    assert outcome.timestamp == T0 + 25 * MINUTE
    assert [(o.side, o.quantity) for o in outcome.orders] == [("buy", Decimal(10))]
    assert heard - written < 3.0  # the poll interval is 60 s: the announcement woke the loop
