"""Constraints from the spec reject bad rows; the foreign keys cascade or restrict as specified."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workstation.db.models import Fill, MarketData, Model, Order, Prediction, StockInfo
from workstation.db.partitions import ensure_partitions

T0 = datetime(2024, 1, 2, 14, 30, tzinfo=UTC)


def _bar(**overrides: object) -> MarketData:
    values: dict[str, object] = {
        "symbol": "AAPL", "interval": "1d", "timestamp": T0, "open": Decimal("10"), "high": Decimal("11"),
        "low": Decimal("9"), "close": Decimal("10.5"), "volume": 1000, "source": "test",
    }  # fmt: skip
    values.update(overrides)
    return MarketData(**values)


@pytest.fixture(autouse=True)
def _bar_range(engine: Engine) -> None:
    """PostgreSQL: the range of T0 exists, so a refused bar is refused by the constraint under test and not
    for lack of a partition (both are IntegrityErrors)."""
    ensure_partitions(engine, "market_data", [T0])


def _rejects(engine: Engine, *rows: object) -> None:
    with Session(engine) as session, pytest.raises(IntegrityError):
        session.add_all(rows)
        session.commit()


@pytest.fixture
def with_symbol(engine: Engine) -> Engine:
    with Session(engine) as session:
        session.add(StockInfo(symbol="AAPL", company_name="Apple Inc."))
        session.commit()
    return engine


def test_bar_round_trips_with_decimal_and_utc(with_symbol: Engine) -> None:
    with Session(with_symbol) as session:
        session.add(_bar(close=Decimal("10.123456")))
        session.commit()
    with Session(with_symbol) as session:
        bar = session.scalars(select(MarketData)).one()
        assert bar.close == Decimal("10.123456")
        assert bar.timestamp == T0
        assert bar.timestamp.utcoffset() is not None


def test_duplicate_bar_is_rejected(with_symbol: Engine) -> None:
    with Session(with_symbol) as session:
        session.add(_bar())
        session.commit()
    _rejects(with_symbol, _bar(close=Decimal("10.6")))


def test_same_timestamp_other_interval_is_allowed(with_symbol: Engine) -> None:
    with Session(with_symbol) as session:
        session.add_all([_bar(), _bar(interval="1h")])
        session.commit()
        assert session.scalar(select(func.count()).select_from(MarketData)) == 2


@pytest.mark.parametrize(
    "bad",
    [
        {"high": Decimal("8")},  # high < low
        {"open": Decimal("0")},  # price must be > 0
        {"low": Decimal("-1")},
        {"volume": -5},
    ],
)
def test_insane_bar_is_rejected(with_symbol: Engine, bad: dict[str, object]) -> None:
    _rejects(with_symbol, _bar(**bad))


def test_bar_for_unknown_symbol_is_rejected(engine: Engine) -> None:
    _rejects(engine, _bar(symbol="ZZZZ"))


def test_fill_for_unknown_order_is_rejected(engine: Engine) -> None:
    _rejects(
        engine,
        Fill(
            fill_id="f1",
            order_id="nope",
            symbol="AAPL",
            quantity=Decimal(1),
            price=Decimal(1),
            timestamp=T0,
            cumulative_quantity=Decimal(1),
        ),
    )


def _order(order_id: str = "o1", **overrides: object) -> Order:
    values: dict[str, object] = {
        "order_id": order_id, "symbol": "AAPL", "side": "buy", "quantity": Decimal("10"), "order_type": "market",
        "status": "pending",
    }  # fmt: skip
    values.update(overrides)
    return Order(**values)


@pytest.mark.parametrize(
    "bad",
    [{"side": "hold"}, {"order_type": "iceberg"}, {"status": "lost"}, {"quantity": Decimal("0")}],
)
def test_order_closed_value_sets(engine: Engine, bad: dict[str, object]) -> None:
    _rejects(engine, _order(**bad))


def test_deleting_an_order_cascades_to_its_fills(engine: Engine) -> None:
    with Session(engine) as session:
        session.add(_order())
        session.flush()
        session.add_all(
            [
                Fill(fill_id=f"f{i}", order_id="o1", symbol="AAPL", quantity=Decimal(5), price=Decimal("100.5"),
                     commission=Decimal("0.01"), timestamp=T0, cumulative_quantity=Decimal(5 * (i + 1)))
                for i in range(2)
            ]
        )  # fmt: skip
        session.commit()
    with Session(engine) as session:
        session.execute(delete(Order).where(Order.order_id == "o1"))
        session.commit()
        assert session.scalar(select(func.count()).select_from(Fill)) == 0


def _model(model_id: str = "rf_direction_1d_v1", status: str = "active") -> Model:
    return Model(model_id=model_id, name="RF", version="1", model_type="RandomForest", status=status)


def _prediction(confidence: Decimal, prediction_id: str = "p1") -> Prediction:
    return Prediction(
        prediction_id=prediction_id, model_id="rf_direction_1d_v1", symbol="AAPL", timestamp=T0,
        prediction_type="price_direction", prediction_value=Decimal(1), confidence=confidence,
        features={"rsi_1d": 55.0},
    )  # fmt: skip


def test_deleting_a_model_with_predictions_is_refused(engine: Engine) -> None:
    with Session(engine) as session:
        session.add(_model())
        session.flush()
        session.add(_prediction(Decimal("0.7")))
        session.commit()
    with Session(engine) as session, pytest.raises(IntegrityError):
        session.execute(delete(Model).where(Model.model_id == "rf_direction_1d_v1"))
        session.commit()


@pytest.mark.parametrize("confidence", [Decimal("1.01"), Decimal("-0.1")])
def test_confidence_out_of_range_is_rejected(engine: Engine, confidence: Decimal) -> None:
    with Session(engine) as session:
        session.add(_model())
        session.commit()
    _rejects(engine, _prediction(confidence))


def test_model_status_is_a_closed_set(engine: Engine) -> None:
    _rejects(engine, _model(status="retired"))


def test_naive_timestamps_are_refused(with_symbol: Engine) -> None:
    with Session(with_symbol) as session, pytest.raises(Exception, match="naive datetime"):
        session.add(_bar(timestamp=datetime(2024, 1, 2)))
        session.commit()
