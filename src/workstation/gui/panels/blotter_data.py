"""The blotter's data: its tables declared column by column (see gui/tables.py) and one poll's snapshot."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from workstation.gui.tables import (
    DOWN,
    MUTED,
    UP,
    Column,
    fmt_number,
    fmt_price,
    fmt_quantity,
    fmt_time,
    sign_color,
)
from workstation.trading.domain import ZERO, Fill, Order
from workstation.trading.feed import OrderFeed
from workstation.trading.positions import Position, PositionBook, positions_from_fills
from workstation.trading.preview import latest_close
from workstation.trading.session import halted_reason

_STATUS_COLORS = {
    "filled": UP,
    "partially_filled": "#66bb6a",
    "rejected": DOWN,
    "cancelled": MUTED,
    "expired": MUTED,
    "replaced": MUTED,
    "pending_cancel": "#ffa726",
    "pending": "#ffa726",
}


@dataclass(frozen=True, slots=True)
class PositionRow:
    broker: str
    symbol: str
    quantity: Decimal
    average_price: Decimal
    last_price: Decimal | None
    market_value: Decimal
    unrealised_pnl: Decimal
    realised_pnl: Decimal
    commission: Decimal

    @classmethod
    def from_position(cls, broker: str, position: Position) -> PositionRow:
        return cls(
            broker=broker,
            symbol=position.symbol,
            quantity=position.quantity,
            average_price=position.average_price,
            last_price=position.last_price,
            market_value=position.market_value,
            unrealised_pnl=position.unrealised_pnl,
            realised_pnl=position.realised_pnl,
            commission=position.commission,
        )


def _side_color(side: str) -> str:
    return UP if side == "buy" else DOWN


_price = fmt_price
_money = fmt_number(2)
_pnl = fmt_number(2, signed=True)


def _type(order: Order) -> str:
    """The type as a trader says it; a leg shown as what it does, indented under its order."""
    kind = order.order_type.replace("_", " ").replace("stop limit", "stop-limit")
    role = order.leg_role
    if role is not None:
        return f"  ↳ {role.replace('_', '-')} ({kind})"
    return kind if order.order_class == "simple" else f"{kind} · {order.order_class}"


def _time_sort(order: Order) -> str:
    """Legs sort right under their order (they share its time; its own row comes first, newest first)."""
    return f"{order.created_at.isoformat()}|{'0' if order.parent_order_id else '1'}"


def _stop(order: Order) -> Decimal | None:
    return order.stop_price


ORDER_COLUMNS: list[Column[Order]] = [
    Column("Time", lambda o: o.created_at, fmt_time, sort=_time_sort),
    Column("Symbol", lambda o: o.symbol),
    Column("Side", lambda o: o.side, str.upper, color=lambda o: _side_color(o.side)),
    Column("Qty", lambda o: o.quantity, fmt_quantity, numeric=True),
    Column("Type", _type, tooltip=lambda o: f"leg of {o.parent_order_id}" if o.parent_order_id else None),
    Column("Limit", lambda o: o.limit_price, _price, numeric=True),
    Column("Stop", _stop, _price, numeric=True, tooltip=lambda o: _trail_tip(o)),
    Column("TIF", lambda o: o.time_in_force),
    Column(
        "Status",
        lambda o: o.status,
        lambda s: str(s).replace("_", " "),
        color=lambda o: _STATUS_COLORS.get(o.status),
        tooltip=lambda o: o.status_reason,
    ),
    Column("Filled", lambda o: o.filled_quantity, fmt_quantity, numeric=True),
    Column("Avg fill", lambda o: o.average_fill_price, _price, numeric=True),
    Column("Broker", lambda o: o.broker),
    Column("Strategy", lambda o: o.strategy),
    Column("Reason", lambda o: o.status_reason),
    Column("Order id", lambda o: o.order_id),
    Column("Replaces", lambda o: o.replaces),
]


def _trail_tip(order: Order) -> str | None:
    if order.order_type != "trailing_stop":
        return None
    trail = f"{order.trail_percent}%" if order.trail_percent is not None else f"${order.trail_price}"
    return f"trailing {trail} from the mark {order.hwm}"


FILL_COLUMNS: list[Column[Fill]] = [
    Column("Time", lambda f: f.timestamp, fmt_time),
    Column("Symbol", lambda f: f.symbol),
    Column("Side", lambda f: f.side, str.upper, color=lambda f: _side_color(f.side)),
    Column("Qty", lambda f: f.quantity, fmt_quantity, numeric=True),
    Column("Price", lambda f: f.price, _price, numeric=True),
    Column("Value", lambda f: f.quantity * f.price, _money, numeric=True),
    Column("Commission", lambda f: f.commission, _money, numeric=True),
    Column("Order id", lambda f: f.order_id),
    Column("Fill id", lambda f: f.fill_id),
]

POSITION_COLUMNS: list[Column[PositionRow]] = [
    Column("Broker", lambda p: p.broker),
    Column("Symbol", lambda p: p.symbol),
    Column("Qty", lambda p: p.quantity, fmt_quantity, numeric=True, color=lambda p: None if p.quantity else MUTED),
    Column("Avg price", lambda p: p.average_price if p.quantity != ZERO else None, _price, numeric=True),
    Column("Last", lambda p: p.last_price, _price, numeric=True),
    Column("Market value", lambda p: p.market_value, _money, numeric=True),
    Column(
        "Unrealised P&L", lambda p: p.unrealised_pnl, _pnl, numeric=True, color=lambda p: sign_color(p.unrealised_pnl)
    ),
    Column("Realised P&L", lambda p: p.realised_pnl, _pnl, numeric=True, color=lambda p: sign_color(p.realised_pnl)),
    Column("Commission", lambda p: p.commission, _money, numeric=True),
]


@dataclass(slots=True)
class BlotterSnapshot:
    orders: list[Order]
    fills: list[Fill]
    positions: list[PositionRow]
    halted: str | None
    reported: dict[str, list[Position]] | None = None


def _merge_reported(book: PositionBook, reported: list[Position]) -> None:
    """The broker's positions are the truth for quantity, average price and last price; realised
    P&L and commission exist only in the fills recorded here."""
    held = {p.symbol for p in reported}
    for position in book.positions.values():
        if position.symbol not in held:
            position.quantity, position.average_price = ZERO, ZERO
    for theirs in reported:
        mine = book.get(theirs.symbol)
        mine.quantity, mine.average_price = theirs.quantity, theirs.average_price
        mine.last_price = theirs.last_price


def load_snapshot(
    feed: OrderFeed,
    marks: dict[str, Decimal | None],
    reported: Mapping[str, list[Position]] | None = None,
    previous: BlotterSnapshot | None = None,
) -> BlotterSnapshot:
    """Everything the blotter shows (off the GUI thread): the feed reads only what changed.

    ``marks`` caches last prices between polls (the caller clears it every few seconds): one query
    per symbol per second would be wasted on daily bars. ``reported`` holds positions as a remote
    broker reports them, by broker name; they replace the fill-derived quantities.
    """
    changed = feed.poll()
    engine = feed.engine
    reported = {k: list(v) for k, v in (reported or {}).items() if feed.broker in (None, k)}
    if previous is not None and not changed and marks and reported == previous.reported:
        # Nothing new and the same prices: skip rebuilding every position from every fill.
        return BlotterSnapshot(previous.orders, previous.fills, previous.positions, halted_reason(engine), reported)
    positions: list[PositionRow] = []
    for name in sorted(set(feed.brokers()) | set(reported)):
        book = positions_from_fills(feed.fill_list(name))
        if name in reported:
            _merge_reported(book, reported[name])
        for position in sorted(book.positions.values(), key=lambda p: p.symbol):
            if position.last_price is None or name not in reported:
                if position.symbol not in marks:
                    marks[position.symbol] = latest_close(engine, position.symbol)
                position.last_price = marks[position.symbol]
            positions.append(PositionRow.from_position(name, position))
    return BlotterSnapshot(feed.order_list(), feed.fill_list(), positions, halted_reason(engine), reported)
