"""A model trading live on streamed bars with features computed online: the prediction is stored with
its input vector, that vector is the batch build's row (1e-6), the feature row is stored afterwards,
and the order is traceable to its bar. Also through ``workstation trade run --strategy model``."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine

from workstation.features import store
from workstation.features.catalog import FEATURE_NAMES
from workstation.features.compute import compute_features
from workstation.features.engine import build_features
from workstation.jobs import CancelToken
from workstation.market.bars import load_bars
from workstation.market.store import store_bars
from workstation.market.stream.events import StreamBar
from workstation.market.stream.writer import BarWriter, bars_to_frame
from workstation.ml.predict import latest_predictions
from workstation.ml.service import train_and_register
from workstation.ml.training import TrainingSpec
from workstation.trading.live import TradingLoop
from workstation.trading.live_decide import BarOutcome
from workstation.trading.live_signals import OnlineModelSignals
from workstation.trading.live_trace import bar_of, signals_by_correlation
from workstation.trading.risk import RiskLimits
from workstation.trading.session import open_session
from workstation.trading.strategies.model import ModelStrategy, ModelStrategyConfig

WORKSTATION = str(Path(sys.executable).parent / "workstation")


def _bars(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = np.round(50 * np.exp(np.cumsum(rng.normal(0.0003, 0.015, n))), 2)
    index = pd.bdate_range("2019-01-02", periods=n, tz="UTC") + pd.Timedelta(hours=21)
    volume = rng.integers(100_000, 900_000, n)
    return pd.DataFrame(
        {"open": close, "high": close + 0.3, "low": close - 0.3, "close": close, "volume": volume}, index=index
    )


def _stream_bar(symbol: str, when: pd.Timestamp, close: float) -> StreamBar:
    return StreamBar(symbol, when.to_pydatetime(), close, close + 0.3, close - 0.3, close, 500_000, interval="1d")


def _store(engine: Engine, symbol: str, bars: pd.DataFrame) -> None:
    items = [_stream_bar(symbol, ts, float(c)) for ts, c in zip(bars.index, bars["close"], strict=True)]
    frame = bars_to_frame(items, "alpaca")
    frame["volume"] = bars["volume"].to_numpy()
    assert not store_bars(engine, frame).failures


def _train(engine: Engine) -> tuple[Engine, str, pd.DataFrame]:
    bars = _bars(330, 7)
    _store(engine, "AAA", bars.iloc[:320])
    build_features(engine, symbols=["AAA"])
    spec = TrainingSpec(model_type="random_forest", target="price_direction", symbols=("AAA",),  # type: ignore[arg-type]
                        hyperparameters={"n_estimators": 10}, n_folds=2)  # fmt: skip
    model_id = train_and_register(engine, spec, status="active").model.model_id
    return engine, model_id, bars


@pytest.fixture
def trained(engine: Engine) -> tuple[Engine, str, pd.DataFrame]:
    return _train(engine)


def test_a_model_trades_streamed_bars_on_online_features(trained: tuple[Engine, str, pd.DataFrame]) -> None:
    engine, model_id, bars = trained
    manager = open_session(engine, "paper", risk_limits=RiskLimits()).manager
    # Thresholds at 0 and shorting allowed: whatever the model says, the bar leads to an order.
    strategy = ModelStrategy(ModelStrategyConfig(model_id, Decimal(0), Decimal(0), shares=Decimal(5), allow_short=True))
    loop = TradingLoop(engine, manager, strategy, signals=OnlineModelSignals(engine, model_id, "1d"))
    outcomes: list[BarOutcome] = []
    cancel = CancelToken()
    options = {"poll_seconds": 60.0, "cancel": cancel, "on_outcome": outcomes.append}
    runner = threading.Thread(target=loop.run_live, args=(["AAA"],), kwargs=options)
    runner.start()
    writer = BarWriter(engine, max_delay=0.02).start()
    try:
        deadline = time.monotonic() + 20
        while "AAA" not in loop.last_seen and time.monotonic() < deadline:
            time.sleep(0.05)
        new = bars.index[320]
        writer.put(_stream_bar("AAA", new, float(bars["close"].iloc[320])))
        assert writer.flush(10)
        while not outcomes and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        cancel.cancel()
        runner.join(20)
        writer.stop()
    assert [o.timestamp for o in outcomes] == [new.to_pydatetime()]
    outcome = outcomes[0]
    assert outcome.signal is not None and len(outcome.orders) == 1
    order = outcome.orders[0]
    assert order.correlation_id == outcome.correlation_id and order.model_id == model_id
    event = signals_by_correlation(engine, [outcome.correlation_id])[outcome.correlation_id]
    assert pd.Timestamp(bar_of(event)) == new
    assert event.metadata is not None
    # The stored prediction is the one traded on, with the input vector the model saw.
    prediction = latest_predictions(engine, "AAA", model_id=model_id)[0]
    assert prediction.prediction_id == event.metadata["prediction_id"]
    assert pd.Timestamp(prediction.timestamp) == new
    assert Decimal(str(prediction.prediction_value)) == outcome.signal.value
    stored_bars = load_bars(engine, "AAA", "1d")
    batch = compute_features(stored_bars).iloc[-1]
    for name, value in prediction.features.items():
        expected = batch[name]
        if np.isnan(expected):
            assert value is None, name
        else:
            assert value == pytest.approx(expected, rel=1e-6, abs=1e-9), name
    # The feature row of the new bar was stored afterwards, equal to the batch row.
    row = store.load_features(engine, "AAA").iloc[-1]
    assert row.name == new
    np.testing.assert_allclose(row[list(FEATURE_NAMES)].to_numpy(np.float64), batch.to_numpy(np.float64),
                               rtol=1e-6, atol=1e-9)  # fmt: skip


@pytest.mark.slow
def test_trade_run_strategy_model_headless(pg_engine: Engine) -> None:
    """PostgreSQL only: SQLite's streamed path is covered by the sma_cross run and the in-process test."""
    engine, model_id, bars = _train(pg_engine)
    url = engine.url.render_as_string(hide_password=False)
    process = subprocess.Popen(
        [WORKSTATION, "--database-url", url, "trade", "run", "--strategy", "model", "--model-id", model_id,
         "--threshold", "0", "--exit-threshold", "0", "--symbols", "AAA", "--poll", "30", "--duration", "30", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    writer = BarWriter(engine, max_delay=0.02).start()
    lines: list[dict[str, object]] = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            item = json.loads(line)
            lines.append(item)
            if item.get("notice") == "ready":
                for i in (320, 321):
                    writer.put(_stream_bar("AAA", bars.index[i], float(bars["close"].iloc[i])))
                    assert writer.flush(10)
            if "bar" in item and pd.Timestamp(str(item["bar"])) == bars.index[321]:
                break
    finally:
        writer.stop()
        process.terminate()
        _out, err = process.communicate(timeout=30)
    assert "Traceback" not in err
    decided = [x for x in lines if "bar" in x]
    assert [pd.Timestamp(str(x["bar"])) for x in decided] == [bars.index[320], bars.index[321]]
    assert all(x["prediction"] is not None for x in decided)
    stored = {p.timestamp for p in latest_predictions(engine, "AAA", model_id=model_id)}
    assert {bars.index[320].to_pydatetime(), bars.index[321].to_pydatetime()} <= stored
