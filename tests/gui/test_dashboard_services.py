"""The Qt-free read services behind the window, on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from sqlalchemy import Engine, event, insert

from workstation.dashboard.chart_data import load_chart_data, prediction_is_up
from workstation.dashboard.watchlist import available_intervals, database_state, load_watchlist
from workstation.db.models import FeatureEngineeredData, Fill, Model, Order, Prediction, StockInfo
from workstation.db.summary import refresh_dashboard_summary
from workstation.market.bars import load_bars


def test_watchlist_rows_join_summary_and_last_two_bars_in_two_queries(filled_engine: Engine) -> None:
    engine = filled_engine
    bars = load_bars(engine, "AAPL")
    with engine.begin() as conn:
        conn.execute(insert(StockInfo).values(symbol="NEW", company_name="No bars yet"))
        conn.execute(
            insert(FeatureEngineeredData),
            [
                {
                    "symbol": "AAPL",
                    "interval": "1d",
                    "timestamp": ts.to_pydatetime(),
                    "source": "test",
                    "close": float(row.close),
                    "rsi_1d": 50.0 if i % 2 else None,
                    "price_ma_short": float(row.close),
                }
                for i, (ts, row) in enumerate(bars.tail(10).iterrows())
            ],
        )
    refresh_dashboard_summary(engine)
    statements: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    rows = {r.symbol: r for r in load_watchlist(engine)}
    event.remove(engine, "before_cursor_execute", record)
    assert len([s for s in statements if "market_data" in s]) == 1
    assert len(statements) == 2
    assert set(rows) == {"AAPL", "MSFT", "XOM", "NEW"}
    aapl = rows["AAPL"]
    assert aapl.last_close == pytest.approx(bars["close"].iloc[-1])
    assert aapl.change_pct == pytest.approx((bars["close"].iloc[-1] / bars["close"].iloc[-2] - 1) * 100)
    assert aapl.last_bar == bars.index[-1].to_pydatetime()
    assert aapl.bars == 300
    assert aapl.feature_records == 10
    assert aapl.rsi_coverage == pytest.approx(0.5)
    assert aapl.ma_coverage == pytest.approx(1.0)
    assert rows["MSFT"].feature_records is None
    assert rows["NEW"].last_close is None
    assert rows["NEW"].bars == 0
    assert available_intervals(engine) == ["1d"]
    state = database_state(engine)
    assert state.schema_present
    assert state.symbols == 4
    assert not state.empty


def test_empty_database_state(engine: Engine) -> None:
    state = database_state(engine)
    assert state.schema_present
    assert state.empty
    assert load_watchlist(engine) == []


def test_chart_data_has_bars_feature_overlays_and_markers(filled_engine: Engine) -> None:
    engine = filled_engine
    bars = load_bars(engine, "MSFT")
    t_pred, t_fill = bars.index[-5].to_pydatetime(), bars.index[-3].to_pydatetime()
    with engine.begin() as conn:
        conn.execute(insert(Model).values(model_id="m1", name="rf", version="1", model_type="random_forest"))
        conn.execute(
            insert(Prediction),
            [
                {
                    "prediction_id": "p1",
                    "model_id": "m1",
                    "symbol": "MSFT",
                    "timestamp": t_pred,
                    "prediction_type": "direction_probability",
                    "prediction_value": Decimal("0.71"),
                    "confidence": Decimal("0.71"),
                },
                {
                    "prediction_id": "p2",
                    "model_id": "m1",
                    "symbol": "MSFT",
                    "timestamp": bars.index[-2].to_pydatetime(),
                    "prediction_type": "return",
                    "prediction_value": Decimal("-0.01"),
                    "confidence": None,
                },
            ],
        )
        conn.execute(
            insert(Order).values(order_id="o1", symbol="MSFT", side="sell", quantity=Decimal(5), order_type="market")
        )
        conn.execute(
            insert(Fill).values(
                fill_id="f1",
                order_id="o1",
                symbol="MSFT",
                quantity=Decimal(5),
                price=Decimal("123.45"),
                timestamp=t_fill,
                cumulative_quantity=Decimal(5),
            )
        )
        conn.execute(
            insert(FeatureEngineeredData),
            [
                {"symbol": "MSFT", "interval": "1d", "timestamp": ts.to_pydatetime(), "source": "t", "bb_upper": 1.0}
                for ts in bars.index[-20:]
            ],
        )
    data = load_chart_data(engine, "MSFT")
    assert len(data.bars) == 300
    assert list(data.feature_overlays) == ["bb_upper"]
    overlay = data.feature_overlays["bb_upper"]
    assert np.isnan(overlay[:280]).all()
    assert (overlay[280:] == 1.0).all()
    assert [(p.index, p.up) for p in data.predictions] == [(295, True), (298, False)]
    assert data.predictions[0].confidence == pytest.approx(0.71)
    assert [(f.index, f.side, f.price) for f in data.fills] == [(297, "sell", 123.45)]
    assert data.times_ns[-1] == bars.index[-1].value
    empty = load_chart_data(engine, "NOPE")
    assert empty.bars.empty
    assert not empty.predictions


def test_prediction_direction_rules() -> None:
    assert prediction_is_up("up_probability", 0.6, None)
    assert not prediction_is_up("probability", 0.4, None)
    assert prediction_is_up("price", 101.0, 100.0)
    assert not prediction_is_up("price_target", 99.0, 100.0)
    assert prediction_is_up("return", 0.002, None)
    assert not prediction_is_up("direction", -1, None)
