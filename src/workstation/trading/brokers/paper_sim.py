"""How the paper broker works its orders on a bar: time in force, fills, and the groups legs form.

See ``paper`` for the rules in words and ``paper_rules`` for the prices of each order type.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, time
from decimal import Decimal

from workstation.trading.brokers.paper_rules import at_last, auction_price, moved_mark, on_bar, trail_stop
from workstation.trading.brokers.paper_types import BPS, NEW_YORK, Bar, PaperConfig, PaperLedger, Working
from workstation.trading.domain import ZERO, ExecutionReport, Fill, Order, to_price, to_quantity
from workstation.trading.execution.fills import fill_id_for
from workstation.trading.positions import PositionBook


class PaperSimulation:
    """The simulation half of the paper broker (``PaperBroker`` adds the broker interface)."""

    config: PaperConfig
    cash: Decimal
    book: PositionBook
    working: dict[str, Working]
    clock: Callable[[], datetime]
    ledger: PaperLedger | None
    _known: dict[str, ExecutionReport]

    def _accept(self, order: Order, placed: date, bar: Bar) -> Working:
        working = Working(copy_order(order), placed=placed)
        working.order.status = "accepted"
        working.order.broker_order_id = f"paper-{order.order_id}"
        if order.order_type == "trailing_stop":
            working.order.hwm = bar.close
            working.order.stop_price = trail_stop(working.order, bar.close)
        self.working[order.order_id] = working
        return working

    def _active(self, order: Order, filled_now: set[str]) -> bool:
        """A bracket's/OTO's leg works once its entry has filled (from the next bar); an OCO's at once."""
        parent_id = order.parent_order_id
        if parent_id is None or order.order_class == "oco":
            return True
        if parent_id in self.working or parent_id in filled_now:
            return False
        if self.ledger is not None:
            parent = self.ledger.order(parent_id)
            return parent is not None and parent.status == "filled"
        known = self._known.get(parent_id)
        return known is not None and known.status == "filled"

    def _work(self, working: Working, bar: Bar, *, immediate: bool) -> list[ExecutionReport]:
        """What ``bar`` (or, ``immediate``, the last price) does to one working order."""
        order = working.order
        tif = order.time_in_force
        once = tif in ("ioc", "fok") and (immediate or working.fresh)
        working.fresh = False
        if immediate:
            trade = at_last(order, bar.close)
        else:
            session = bar.timestamp.astimezone(NEW_YORK).date()
            if tif == "day" or (tif in _AUCTIONS and working.session is not None):
                if working.session is None:
                    working.session = session
                elif session > working.session:
                    return self._end(working, "expired", "day order expired unfilled at the session end")
            if tif in _AUCTIONS:
                return self._auction(working, bar, session)
            trade = on_bar(order, bar.open, bar.high, bar.low)
        reports: list[ExecutionReport] = []
        if trade.triggered and order.order_type == "stop_limit" and order.triggered_at is None:
            order.triggered_at = bar.timestamp if not immediate else max(self.clock(), bar.timestamp)
        if trade.price is None:
            if order.order_type == "trailing_stop" and not immediate:
                mark = moved_mark(order, bar.high, bar.low)
                if mark != order.hwm:
                    order.hwm, order.stop_price = mark, trail_stop(order, mark)
                    reports.append(self._report(order, order.status))
            elif trade.triggered:
                reports.append(self._report(order, order.status))
            if once:
                reports += self._end(working, "cancelled", f"{tif}: nothing could be filled at once")
            return reports
        price = self._slipped(order, trade.price) if trade.market_like else trade.price
        reports += self._fill(working, bar, price, immediate=immediate, all_or_none=tif == "fok")
        if once and order.order_id in self.working:
            reports += self._end(working, "cancelled", f"{tif}: the unfilled rest is cancelled")
        return reports

    def _auction(self, working: Working, bar: Bar, session: date) -> list[ExecutionReport]:
        order = working.order
        if order.time_in_force == "opg":
            if working.placed is not None and session <= working.placed:
                return []  # the opening auction of a later session
            price = auction_price(order, bar.open)
        else:
            local = bar.timestamp.astimezone(NEW_YORK).time()
            if not (local == _MIDNIGHT or local >= _LAST_MINUTE):
                return []  # not the bar that ends the session
            price = auction_price(order, bar.close)
        if price is None:
            which = "opening" if order.time_in_force == "opg" else "closing"
            return self._end(working, "expired", f"the limit was not met in the {which} auction")
        price = self._slipped(order, price) if order.order_type == "market" else price
        reports = self._fill(working, bar, price, immediate=False, all_or_none=False)
        if order.order_id in self.working:
            reports += self._end(working, "expired", "the auction filled only part of it")
        return reports

    def _slipped(self, order: Order, price: Decimal) -> Decimal:
        slip = self.config.slippage_bps * BPS
        if not slip:
            return price
        return to_price(price * ((1 + slip) if order.side == "buy" else (1 - slip)))

    def _fill(
        self, working: Working, bar: Bar, price: Decimal, *, immediate: bool, all_or_none: bool
    ) -> list[ExecutionReport]:
        order = working.order
        quantity = order.remaining
        if self.config.max_volume_share is not None:
            allowed = to_quantity((bar.volume * self.config.max_volume_share).to_integral_value(rounding="ROUND_FLOOR"))
            if all_or_none and allowed < quantity:
                return self._end(working, "cancelled", "fok: the whole quantity could not be filled at once")
            quantity = min(quantity, allowed)
            if quantity <= 0:
                return []
        commission = self.config.commission(quantity, price)
        if order.side == "buy" and quantity * price + commission > self.cash:
            status = "cancelled" if order.filled_quantity > 0 else "rejected"
            return self._end(working, status, f"insufficient buying power at fill: cash {self.cash:.2f}")
        cumulative = order.filled_quantity + quantity
        when = bar.timestamp if not immediate else max(self.clock(), bar.timestamp)
        fill = Fill(
            fill_id=fill_id_for(order, f"paper-{order.order_id}", cumulative),
            order_id=order.order_id,
            symbol=order.symbol,
            side=order.side,
            quantity=quantity,
            price=price,
            commission=commission,
            timestamp=when,
            cumulative_quantity=cumulative,
        )
        self._book_fill(fill)
        previous_value = (order.average_fill_price or ZERO) * order.filled_quantity
        order.average_fill_price = to_price((previous_value + price * quantity) / cumulative)
        order.filled_quantity = cumulative
        if order.remaining > 0:
            order.status = "partially_filled"
            return [self._report(order, order.status, fills=(fill,), timestamp=when)]
        order.status = "filled"
        del self.working[order.order_id]
        reports = [self._report(order, order.status, fills=(fill,), timestamp=when)]
        if order.parent_order_id is not None or order.order_class == "oco":
            reports += self._end_related(order, "cancelled", f"{order.order_id} filled", filled=True)
        return reports

    def _end(self, working: Working, status: str, reason: str) -> list[ExecutionReport]:
        """The order ends unfilled (or partly filled) with ``status``; its legs or its OCO partner too."""
        self.working.pop(working.order.order_id, None)
        reports = [self._report(working.order, status, reason=reason)]
        return reports + self._end_related(working.order, "cancelled", f"{working.order.order_id} {status}")

    def _end_related(self, order: Order, status: str, reason: str, *, filled: bool = False) -> list[ExecutionReport]:
        """The orders of ``order``'s group that end with it: its OCO partner, its unfilled entry's legs,
        or (``filled``) a filled leg's sibling."""
        group = order.parent_order_id or order.order_id
        is_leg = order.parent_order_id is not None
        if not (order.order_class == "oco" or (is_leg and filled) or (not is_leg and order.filled_quantity == 0)):
            return []
        ended = []
        for other in [w for w in self.working.values() if group in (w.order.order_id, w.order.parent_order_id)]:
            if other.order.order_id != order.order_id:
                del self.working[other.order.order_id]
                ended.append(self._report(other.order, status, reason=f"cancelled: {reason}"))
        return ended

    def _book_fill(self, fill: Fill) -> None:
        self.book.apply_fill(fill)
        value = fill.quantity * fill.price
        self.cash += (-value if fill.side == "buy" else value) - fill.commission

    def _report(
        self,
        order: Order,
        status: str,
        *,
        reason: str | None = None,
        fills: tuple[Fill, ...] = (),
        timestamp: datetime | None = None,
    ) -> ExecutionReport:
        report = ExecutionReport(
            order_id=order.order_id,
            status=status,
            broker_order_id=f"paper-{order.order_id}",
            cumulative_quantity=order.filled_quantity,
            average_price=order.average_fill_price,
            fills=fills,
            reason=reason,
            timestamp=timestamp,
            stop_price=order.stop_price if order.order_type == "trailing_stop" else None,
            hwm=order.hwm,
            triggered_at=order.triggered_at,
        )
        if status in ("filled", "cancelled", "rejected", "expired", "replaced"):
            self._known[order.order_id] = report
        return report


_STOPS = frozenset({"stop", "stop_limit", "trailing_stop"})
_AUCTIONS = ("opg", "cls")
_MIDNIGHT = time(0, 0)
_LAST_MINUTE = time(15, 59)


def copy_order(order: Order) -> Order:
    """The broker's own copy (it changes status and fills without touching the caller's object)."""
    return replace(order, legs=())


def merged(order_id: str, reports: list[ExecutionReport]) -> ExecutionReport:
    """The order's last report, carrying the last report of every other order it touched."""
    last: dict[str, ExecutionReport] = {}
    for report in reports:
        last[report.order_id] = report
    main = last.pop(order_id)
    return replace(main, legs=tuple(last.values()))
