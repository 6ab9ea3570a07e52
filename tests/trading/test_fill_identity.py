"""The fill identity and the state machine's transitions as pure functions (no database, no broker)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from helpers import T0

from workstation.errors import ConfigurationError
from workstation.trading.domain import ExecutionReport, Fill, Order
from workstation.trading.execution import transitions
from workstation.trading.execution.fills import new_fills
from workstation.trading.execution.timings import ExecutionTimings


def _order(filled: str = "0", average: str | None = None, status: str = "accepted") -> Order:
    return Order("ws-1", "AAPL", "buy", Decimal(10), "limit", Decimal(105), "gtc", "alpaca", status=status,
                 filled_quantity=Decimal(filled), average_fill_price=Decimal(average) if average else None,
                 broker_order_id="b-1")  # fmt: skip


def _execution(qty: str, price: str, cumulative: str, execution_id: str = "x") -> Fill:
    return Fill(execution_id, "ws-1", "AAPL", "buy", Decimal(qty), Decimal(price), Decimal(0), T0, Decimal(cumulative),
                execution_id)  # fmt: skip


def _report(cumulative: str, average: str, *fills: Fill, status: str = "partially_filled") -> ExecutionReport:
    return ExecutionReport("ws-1", status, "b-1", Decimal(cumulative), Decimal(average), fills)


def test_the_same_execution_from_the_stream_and_from_rest_has_one_identity() -> None:
    stream = new_fills(_order(), _report("4", "100", _execution("4", "100", "4")), T0)
    rest = new_fills(_order(), _report("4", "100"), T0)
    assert [(f.fill_id, f.cumulative_quantity) for f in stream] == [(f.fill_id, f.cumulative_quantity) for f in rest]
    assert stream[0].execution_id == "x" and rest[0].execution_id is None


def test_a_report_at_or_behind_the_book_adds_nothing() -> None:
    booked = _order("4", "100")
    assert new_fills(booked, _report("4", "100", _execution("4", "100", "4")), T0) == []
    assert new_fills(booked, _report("3", "100"), T0) == []


def test_a_gap_before_an_execution_is_booked_at_the_price_the_average_implies() -> None:
    # The stream lost the 4 @ 100; the final 6 @ 102 arrives with the order's totals (10 @ 101.2).
    fills = new_fills(_order(), _report("10", "101.2", _execution("6", "102", "10"), status="filled"), T0)
    assert [(f.quantity, f.price, f.cumulative_quantity) for f in fills] == [(4, 100, 4), (6, 102, 10)]


def test_an_execution_overlapping_the_book_books_only_the_difference() -> None:
    # REST booked 7 (as a catch-up) before the stream's "6 @ 102, cumulative 10" arrived.
    fills = new_fills(_order("7", "100.857143"), _report("10", "101.2", _execution("6", "102", "10")), T0)
    assert [(f.quantity, f.cumulative_quantity, f.execution_id) for f in fills] == [(3, 10, "x")]


def test_cumulative_never_exceeds_the_order_quantity() -> None:
    fills = new_fills(_order("8", "100"), _report("12", "100", status="filled"), T0)
    assert [(f.quantity, f.cumulative_quantity) for f in fills] == [(2, 10)]


def test_a_final_state_is_never_left() -> None:
    order = _order(status="cancelled")
    assert transitions.apply(order, _report("4", "100", _execution("4", "100", "4")), T0) is None
    assert order.status == "cancelled" and order.filled_quantity == 0


def test_statuses_only_move_forward_and_a_report_settles_an_unknown_outcome() -> None:
    order = _order("4", "100", status="partially_filled")
    order.unknown_since = T0
    order.status_reason = "outcome unknown: read timeout"
    change = transitions.apply(order, ExecutionReport("ws-1", "accepted", "b-1", Decimal(4), Decimal(100)), T0)
    assert change is not None
    assert (order.status, order.unknown_since, order.status_reason) == ("partially_filled", None, None)
    assert [e.event_type for e in change.events] == ["order_outcome_known"]


def test_timings_are_validated() -> None:
    assert ExecutionTimings.from_mapping({"unknown_window": "1.5"}).unknown_window == 1.5
    assert ExecutionTimings().unknown_window >= 300  # at least five minutes by default
    for bad in ({"unknown_window": "NaN"}, {"read_timeout": 0}, {"nope": 1}, {"retry_wait": True}):
        with pytest.raises(ConfigurationError):
            ExecutionTimings.from_mapping(bad)
    delays = [ExecutionTimings().recheck_delay(n).total_seconds() for n in range(8)]
    assert delays == sorted(delays) and delays[0] == 2 and delays[-1] == 60
