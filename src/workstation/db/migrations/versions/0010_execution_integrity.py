"""execution integrity: order versions and unknown outcomes, one fill identity

Revision ID: 0010_execution_integrity
Revises: 0009_feature_id_bigint
Create Date: 2026-11-27

* orders.version (compare-and-set: every change is conditional on the version read), and
  unknown_since / next_check_at / check_attempts for orders whose send outcome is not known yet.
* ix_orders_broker_created_at: the order-rate limit counts one account's recent orders;
  ix_orders_broker_symbol: the risk checks sum one account's orders in one symbol.
* fills.cumulative_quantity — the order's filled quantity once the fill is booked — unique per order,
  so the same execution reported by the stream, a REST reconciliation or the paper broker is booked
  once; fills.execution_id (the broker's id for the execution, where the path carries one), unique.

Existing fills get their cumulative quantity from the old id schemes (``…-F<cum>`` from the stream
and the paper broker, ``…-C<cum>`` from reconciliation), else from the running total of the order's
fills in time order. Rows that repeat a cumulative quantity of their order are the double bookings
those two schemes allowed: they are removed, each recorded whole in a ``fill_duplicate_removed``
trading event, so nothing is lost.
"""

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0010_execution_integrity"
down_revision: str | Sequence[str] | None = "0009_feature_id_bigint"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)
_QTY = sa.Numeric(18, 6)
_OLD_ID = re.compile(r"-[FC](\d+(?:\.\d+)?)$")

_fills = sa.table(
    "fills",
    sa.column("id", sa.BigInteger()),
    sa.column("fill_id", sa.String()),
    sa.column("order_id", sa.String()),
    sa.column("symbol", sa.String()),
    sa.column("quantity", _QTY),
    sa.column("price", _QTY),
    sa.column("commission", _QTY),
    sa.column("timestamp", sa.String()),
    sa.column("cumulative_quantity", _QTY),
)
_events = sa.table(
    "trading_events",
    sa.column("timestamp", _TS),
    sa.column("event_type", sa.String()),
    sa.column("symbol", sa.String()),
    sa.column("order_id", sa.String()),
    sa.column("quantity", _QTY),
    sa.column("price", _QTY),
    sa.column("metadata", sa.JSON()),
    sa.column("created_at", _TS),
)


def _number_existing_fills(bind: sa.Connection) -> None:
    rows = bind.execute(
        sa.select(
            _fills.c.id,
            _fills.c.fill_id,
            _fills.c.order_id,
            _fills.c.symbol,
            _fills.c.quantity,
            _fills.c.price,
            _fills.c.commission,
            _fills.c.timestamp,
        ).order_by(_fills.c.order_id, _fills.c.timestamp, _fills.c.id)
    ).all()
    numbered: list[dict[str, Any]] = []
    removed: list[Any] = []
    seen: set[tuple[str, Decimal]] = set()
    running: dict[str, Decimal] = {}
    for row in rows:
        quantity = Decimal(str(row.quantity))
        total = running.get(row.order_id, Decimal(0)) + quantity
        found = _OLD_ID.search(row.fill_id or "")
        cumulative = (Decimal(found.group(1)) if found else total).quantize(Decimal("0.000001"))
        key = (row.order_id, cumulative)
        if key in seen or cumulative <= 0:
            removed.append(row)
            continue
        seen.add(key)
        running[row.order_id] = total
        numbered.append({"row_id": row.id, "cumulative": cumulative})
    if numbered:
        bind.execute(
            sa.update(_fills)
            .where(_fills.c.id == sa.bindparam("row_id"))
            .values(cumulative_quantity=sa.bindparam("cumulative")),
            numbered,
        )
    if removed:
        now = datetime.now(UTC)
        if bind.dialect.name == "sqlite":
            now = now.replace(tzinfo=None)
        bind.execute(
            sa.insert(_events),
            [
                {
                    "timestamp": now,
                    "created_at": now,
                    "event_type": "fill_duplicate_removed",
                    "symbol": row.symbol,
                    "order_id": row.order_id,
                    "quantity": row.quantity,
                    "price": row.price,
                    "metadata": {
                        "reason": "the same execution was booked twice under two fill id schemes",
                        "fill_id": row.fill_id,
                        "quantity": str(row.quantity),
                        "price": str(row.price),
                        "commission": str(row.commission),
                        "timestamp": str(row.timestamp),
                    },
                }
                for row in removed
            ],
        )
        bind.execute(sa.delete(_fills).where(_fills.c.id.in_([row.id for row in removed])))


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("unknown_since", _TS, nullable=True))
        batch.add_column(sa.Column("next_check_at", _TS, nullable=True))
        batch.add_column(sa.Column("check_attempts", sa.Integer(), nullable=False, server_default="0"))
    op.create_index("ix_orders_broker_created_at", "orders", ["broker", "created_at"], unique=False)
    op.create_index("ix_orders_broker_symbol", "orders", ["broker", "symbol"], unique=False)
    with op.batch_alter_table("fills") as batch:
        batch.add_column(sa.Column("cumulative_quantity", _QTY, nullable=True))
        batch.add_column(sa.Column("execution_id", sa.String(128), nullable=True))
    _number_existing_fills(op.get_bind())
    with op.batch_alter_table("fills") as batch:
        batch.alter_column("cumulative_quantity", existing_type=_QTY, nullable=False)
        batch.create_check_constraint(op.f("ck_fills_cumulative_quantity_positive"), "cumulative_quantity > 0")
        batch.create_unique_constraint(
            op.f("uq_fills_order_id_cumulative_quantity"), ["order_id", "cumulative_quantity"]
        )
        batch.create_unique_constraint(op.f("uq_fills_execution_id"), ["execution_id"])


def downgrade() -> None:
    with op.batch_alter_table("fills") as batch:
        batch.drop_constraint(op.f("uq_fills_execution_id"), type_="unique")
        batch.drop_constraint(op.f("uq_fills_order_id_cumulative_quantity"), type_="unique")
        batch.drop_constraint(op.f("ck_fills_cumulative_quantity_positive"), type_="check")
        batch.drop_column("execution_id")
        batch.drop_column("cumulative_quantity")
    op.drop_index("ix_orders_broker_symbol", table_name="orders")
    op.drop_index("ix_orders_broker_created_at", table_name="orders")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("check_attempts")
        batch.drop_column("next_check_at")
        batch.drop_column("unknown_since")
        batch.drop_column("version")
