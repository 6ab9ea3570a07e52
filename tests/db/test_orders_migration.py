"""Migration 0015_orders: the order-type columns on both backends, their checks, and a clean way back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from workstation.db.engine import create_db_engine
from workstation.db.migrate import downgrade, previous_revision, upgrade

COLUMNS = {"order_class", "trail_price", "trail_percent", "hwm", "extended_hours", "parent_order_id", "replaces",
           "replaced_by", "triggered_at"}  # fmt: skip


WHEN = datetime(2026, 1, 2, tzinfo=UTC)


def _insert(conn: object, order_id: str, **values: object) -> None:
    row = {"order_id": order_id, "symbol": "AAPL", "side": "sell", "quantity": 1, "order_type": "trailing_stop",
           "status": "accepted", "broker": "paper", "time_in_force": "day", "filled_quantity": 0,
           "created_at": WHEN, "updated_at": WHEN} | values  # fmt: skip
    names = ", ".join(row)
    conn.execute(text(f"INSERT INTO orders ({names}) VALUES ({', '.join(':' + n for n in row)})"), row)  # type: ignore[attr-defined]


def test_order_type_columns_their_checks_and_downgrade(empty_db_url: str) -> None:
    engine = create_db_engine(empty_db_url)
    upgrade(engine)
    assert {c["name"] for c in inspect(engine).get_columns("orders")} >= COLUMNS
    with engine.begin() as conn:
        _insert(conn, "a", trail_percent=5, hwm=100, order_class="simple")
        _insert(conn, "a-sl", order_type="stop", stop_price=95, parent_order_id="a", order_class="oco")
        assert conn.execute(text("SELECT extended_hours, order_class FROM orders WHERE order_id = 'a'")).one() == (
            False, "simple")  # fmt: skip
    for bad in ({"order_class": "mleg"}, {"trail_percent": 100}, {"trail_price": 0}):
        with pytest.raises(IntegrityError), engine.begin() as conn:
            _insert(conn, "bad", **bad)
    downgrade(engine, previous_revision("0015_orders"))
    assert not COLUMNS & {c["name"] for c in inspect(engine).get_columns("orders")}
    upgrade(engine)
    assert {c["name"] for c in inspect(engine).get_columns("orders")} >= COLUMNS
    engine.dispose()
