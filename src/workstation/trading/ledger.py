"""What an account holds, read from the database: positions, open orders, recent orders, the halt.

These are the inputs of the risk checks and of the paper account's cash and position checks. They are
read inside the account's lock (on the connection that holds it), so no other process can place an
order or book a fill for the account between the read and the write that depends on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, String, Table, and_, bindparam, case, func, literal, literal_column, select

from workstation.db.logs import TradingEvent
from workstation.db.trading import OPEN_ORDER_STATUSES
from workstation.db.trading import Fill as FillRow
from workstation.db.trading import Order as OrderRow
from workstation.db.types import UTCDateTime
from workstation.trading.bounds import MAX_PRICE, MAX_QUANTITY
from workstation.trading.domain import ZERO, to_price, to_quantity
from workstation.trading.positions import PositionBook

_orders: Table = OrderRow.__table__  # type: ignore[assignment]
_fills: Table = FillRow.__table__  # type: ignore[assignment]
_events: Table = TradingEvent.__table__  # type: ignore[assignment]
HALT_EVENTS = ("kill_switch", "trading_resumed")


@dataclass(frozen=True, slots=True)
class RiskInputs:
    position: Decimal
    open_quantity: Decimal  # signed remaining quantity of the symbol's open orders (buys positive)
    recent_orders: int
    halted: str | None


def _signed(quantity: Any) -> Any:
    return case((_orders.c.side == "buy", quantity), else_=-quantity)


# Rows written before the bounds existed (a quantity of 1e30 on SQLite) stay out of the sums: one
# bad row must not make every risk check fail (the listing commands report it).
_SANE_ORDER = and_(_orders.c.quantity <= MAX_QUANTITY, _orders.c.filled_quantity <= MAX_QUANTITY)
_SANE_FILL = and_(
    _fills.c.quantity <= MAX_QUANTITY, _fills.c.price <= MAX_PRICE, _fills.c.commission <= MAX_PRICE * MAX_QUANTITY
)


# The statements of the order path are built once, with bound parameters: building and keying a
# statement with five subqueries costs more than running it.
_BROKER = bindparam("broker", type_=String())
# A fixed list, rendered into the statement (an expanding IN would be re-rendered on every execution);
# the open statuses by name, which is what the partial index ix_orders_open covers.
_OPEN = literal_column("orders.status").in_([literal_column(f"'{s}'") for s in OPEN_ORDER_STATUSES])
_SYMBOL = bindparam("symbol", type_=String())
_SINCE = bindparam("since", type_=UTCDateTime())


def _position_query() -> Any:
    # From the orders' filled quantities, which equal the sum of their fills (both are written in one
    # transaction under the account lock): one table, read through its (symbol, created_at) index.
    return (
        select(func.coalesce(func.sum(_signed(_orders.c.filled_quantity)), 0))
        .where(_orders.c.broker == _BROKER, _orders.c.symbol == _SYMBOL, _SANE_ORDER)
        .scalar_subquery()
    )


def _open_quantity_query() -> Any:
    remaining = _orders.c.quantity - _orders.c.filled_quantity
    return (
        select(func.coalesce(func.sum(_signed(remaining)), 0))
        .where(
            _orders.c.broker == _BROKER,
            _orders.c.symbol == _SYMBOL,
            _OPEN,
            _SANE_ORDER,
            # Legs exit what their parent opens (or, OCO, the same position twice): not more exposure.
            _orders.c.parent_order_id.is_(None),
        )
        .scalar_subquery()
    )


def _risk_statement(with_rate: bool) -> Any:
    recent: Any = literal(0)
    if with_rate:
        recent = select(func.count()).where(_orders.c.broker == _BROKER, _orders.c.created_at >= _SINCE)
        recent = recent.scalar_subquery()
    last_halt = select(func.max(_events.c.id)).where(_events.c.event_type == "kill_switch").scalar_subquery()
    last_resume = select(func.max(_events.c.id)).where(_events.c.event_type == "trading_resumed").scalar_subquery()
    return select(_position_query(), _open_quantity_query(), recent, last_halt, last_resume)


_RISK = {True: _risk_statement(True), False: _risk_statement(False)}


def risk_inputs(conn: Connection, broker: str, symbol: str, since: datetime | None) -> RiskInputs:
    """Position, open orders, the order count since ``since`` and the halt, in one statement."""
    params: dict[str, Any] = {"broker": broker, "symbol": symbol}
    if since is not None:
        params["since"] = since
    row = conn.execute(_RISK[since is not None], params).one()
    halted = None
    if row[3] is not None and (row[4] is None or row[4] < row[3]):
        halted = halted_reason(conn, int(row[3]))
    return RiskInputs(to_quantity(row[0] or 0), to_quantity(row[1] or 0), int(row[2] or 0), halted)


def halted_reason(conn: Connection, event_id: int | None = None) -> str | None:
    """The kill switch's halt: set when its latest event is newer than any resume (it survives restarts)."""
    if event_id is None:
        row = conn.execute(
            select(_events.c.event_type, _events.c.id)
            .where(_events.c.event_type.in_(HALT_EVENTS))
            .order_by(_events.c.id.desc())
            .limit(1)
        ).first()
        if row is None or row[0] != "kill_switch":
            return None
        event_id = int(row[1])
    metadata = conn.execute(select(_events.c.metadata).where(_events.c.id == event_id)).scalar()
    reason = (metadata or {}).get("reason", "kill switch") if isinstance(metadata, dict) else "kill switch"
    return f"{reason} (run 'workstation kill-switch --resume' to trade again)"


def position_book(conn: Connection, broker: str) -> PositionBook:
    """Every position of the account from its fills (average cost, realised P&L, commission)."""
    from workstation.trading.rows import fill_from_row

    query = (
        select(_fills, _orders.c.side)
        .select_from(_fills.join(_orders, _orders.c.order_id == _fills.c.order_id))
        .where(_orders.c.broker == broker)
        .order_by(_fills.c.timestamp, _fills.c.id)
    )
    book = PositionBook()
    for row in conn.execute(query):
        fill = fill_from_row(row, row.side)
        if fill is not None:
            book.apply_fill(fill)
    return book


def _cash_flow_query() -> Any:
    value = _fills.c.quantity * _fills.c.price
    return (
        select(func.coalesce(func.sum(case((_orders.c.side == "sell", value), else_=-value) - _fills.c.commission), 0))
        .select_from(_fills.join(_orders, _orders.c.order_id == _fills.c.order_id))
        .where(_orders.c.broker == _BROKER, _SANE_FILL)
        .scalar_subquery()
    )


_CASH_FLOW = select(_cash_flow_query())


def cash_flow(conn: Connection, broker: str) -> Decimal:
    """Σ sells − Σ buys − commission over the account's fills."""
    return to_price(conn.execute(_CASH_FLOW, {"broker": broker}).scalar() or ZERO)


def _paper_statement() -> Any:
    from workstation.trading.tables import paper_accounts

    starting = (
        select(paper_accounts.c.starting_cash)
        .where(paper_accounts.c.name == bindparam("account", type_=String()))
        .scalar_subquery()
    )
    return select(
        starting.label("starting_cash"), _cash_flow_query().label("cash_flow"), _position_query().label("held")
    )


_PAPER = _paper_statement()


def paper_state(conn: Connection, broker: str, account: str, symbol: str | None) -> tuple[Decimal, Decimal, Decimal]:
    """(starting cash, cash flow, position in ``symbol``) of a paper account, in one statement."""
    params = {"broker": broker, "account": account, "symbol": symbol or ""}
    row = conn.execute(_PAPER, params).one()
    return to_price(row[0] or ZERO), to_price(row[1] or ZERO), to_quantity(row[2] or 0)


_OPEN_ROWS = {
    accepted_only: select(_orders)
    .where(
        _orders.c.broker == _BROKER,
        _OPEN,
        _SANE_ORDER,
        *([_orders.c.status != "pending"] if accepted_only else []),
    )
    .order_by(_orders.c.id)
    for accepted_only in (True, False)
}


def _paper_snapshot_statement() -> Any:
    state = _PAPER.subquery("paper_state")
    working = _OPEN_ROWS[True].order_by(None).subquery("working")
    # One row per working order, or one row of NULL order columns when there is none: the state rides along.
    return select(state, working).select_from(state.outerjoin(working, literal(True))).order_by(working.c.id)


_PAPER_SNAPSHOT = _paper_snapshot_statement()


def paper_snapshot(
    conn: Connection, broker: str, account: str, symbol: str | None
) -> tuple[Decimal, Decimal, Decimal, list[Any]]:
    """``paper_state`` and the accepted open orders' rows (``open_order_rows(accepted_only=True)``) in one
    statement: what the paper broker reads before every order, one round trip instead of two."""
    rows = conn.execute(_PAPER_SNAPSHOT, {"broker": broker, "account": account, "symbol": symbol or ""}).all()
    first = rows[0]
    state = to_price(first.starting_cash or ZERO), to_price(first.cash_flow or ZERO), to_quantity(first.held or 0)
    return (*state, [row for row in rows if row.order_id is not None])


def open_order_rows(conn: Connection, broker: str, *, accepted_only: bool = False) -> list[Any]:
    """The account's open orders as rows (accepted_only: leave out those the broker has not seen yet)."""
    return list(conn.execute(_OPEN_ROWS[accepted_only], {"broker": broker}))


def reference_price(conn: Connection, symbol: str) -> Decimal | None:
    from workstation.db.market import MarketData

    value = conn.execute(
        select(MarketData.close).where(MarketData.symbol == symbol).order_by(MarketData.timestamp.desc()).limit(1)
    ).scalar()
    return to_price(value) if value is not None else None
