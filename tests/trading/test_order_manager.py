"""Order manager with the database store and the paper broker: lifecycle, events, dedupe, reconciliation."""

from __future__ import annotations

from decimal import Decimal

import pytest
from helpers import FAST, T0, bar
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workstation.db.logs import TradingEvent
from workstation.db.trading import Fill as FillRow
from workstation.db.trading import Order as OrderRow
from workstation.monitoring.correlation import correlation_scope
from workstation.trading.brokers.paper import CommissionModel, PaperBroker, PaperConfig
from workstation.trading.domain import (
    BrokerUnavailableError,
    ExecutionReport,
    Fill,
    Order,
    OrderRequest,
    TradingError,
    TradingEventRecord,
    map_alpaca_status,
)
from workstation.trading.order_manager import OrderManager
from workstation.trading.repository import LostRaceError, SqlOrderStore


def _paper(mode: str = "live", **kwargs: object) -> PaperBroker:
    broker = PaperBroker(Decimal(100_000), PaperConfig(mode=mode, **kwargs), clock=lambda: T0)  # type: ignore[arg-type]
    broker.on_bar("AAPL", bar(0, "100", "101", "99", "100"))
    return broker


def _events(engine: Engine, order_id: str) -> list[tuple[str, str | None]]:
    with Session(engine) as session:
        rows = session.execute(
            select(TradingEvent.event_type, TradingEvent.correlation_id)
            .where(TradingEvent.order_id == order_id)
            .order_by(TradingEvent.id)
        ).all()
    return [(r[0], r[1]) for r in rows]


def test_market_order_lifecycle_is_committed_with_events(engine: Engine) -> None:
    broker = _paper(slippage_bps=Decimal(10), commission=CommissionModel(per_share=Decimal("0.005")))
    manager = OrderManager(SqlOrderStore(engine), broker)
    with correlation_scope("cid-test"):
        order = manager.submit(OrderRequest("aapl", "buy", Decimal(10)))
    assert order.status == "filled"
    assert order.average_fill_price == Decimal("100.100000")
    with Session(engine) as session:
        row = session.scalars(select(OrderRow)).one()
        assert (row.order_id, row.status, row.filled_quantity, row.correlation_id) == (
            order.order_id,
            "filled",
            Decimal(10),
            "cid-test",
        )
        fill = session.scalars(select(FillRow)).one()
        assert fill.commission == Decimal("0.05")
    assert _events(engine, order.order_id) == [
        ("order_placed", "cid-test"),
        ("order_filled", "cid-test"),
    ]
    assert manager.book.quantity("AAPL") == Decimal(10)


def test_client_order_id_is_committed_before_sending(engine: Engine) -> None:
    store = SqlOrderStore(engine)
    seen: list[str | None] = []

    class Spy(PaperBroker):
        def submit(self, order):  # type: ignore[no-untyped-def]
            stored = store.get_order(order.order_id)
            seen.append(stored.status if stored else None)
            return super().submit(order)

    broker = Spy(Decimal(100_000), PaperConfig(mode="live"))
    broker.on_bar("AAPL", bar(0, "100", "101", "99", "100"))
    OrderManager(store, broker).submit(OrderRequest("AAPL", "buy", Decimal(1)))
    assert seen == ["pending"]


def test_ambiguous_failure_looks_up_before_resubmitting(engine: Engine) -> None:
    class Flaky(PaperBroker):
        calls = 0
        local = False  # a remote broker: the send happens outside the account lock

        def submit(self, order):  # type: ignore[no-untyped-def]
            Flaky.calls += 1
            super().submit(order)  # the broker got it …
            raise BrokerUnavailableError("read timed out")  # … but the response was lost

    broker = Flaky(Decimal(100_000), PaperConfig(mode="backtest"))
    broker.on_bar("AAPL", bar(0, "100", "101", "99", "100"))
    manager = OrderManager(SqlOrderStore(engine), broker, timings=FAST)
    order = manager.submit(OrderRequest("AAPL", "buy", Decimal(5)))
    assert Flaky.calls == 1
    assert order.status == "accepted"
    assert len(broker.working) == 1


def test_fills_are_deduplicated_by_id_and_cumulative_quantity(engine: Engine) -> None:
    broker = _paper(mode="backtest")
    manager = OrderManager(SqlOrderStore(engine), broker)
    order = manager.submit(OrderRequest("AAPL", "buy", Decimal(100), time_in_force="gtc"))
    fill = Fill(f"{order.order_id}-F40", order.order_id, "AAPL", "buy", Decimal(40), Decimal("99.5"), Decimal(0), T0)
    report = ExecutionReport(order.order_id, "partially_filled", None, Decimal(40), Decimal("99.5"), (fill,))
    manager.apply_report(report)
    manager.apply_report(report)  # the stream repeats itself
    # Reconciliation reports the broker's totals: 100 at an average of 99.75 → one catch-up fill of 60 at 99.9167.
    manager.apply_report(ExecutionReport(order.order_id, "filled", None, Decimal(100), Decimal("99.75")))
    manager.apply_report(ExecutionReport(order.order_id, "filled", None, Decimal(100), Decimal("99.75")))
    with Session(engine) as session:
        quantities = sorted(session.scalars(select(FillRow.quantity)).all())
    assert quantities == [Decimal(40), Decimal(60)]
    stored = manager.get(order.order_id)
    assert stored is not None
    assert stored.status == "filled"
    assert stored.average_fill_price == Decimal("99.75")
    assert manager.book.quantity("AAPL") == Decimal(100)


def test_partial_fills_across_bars_by_volume_share(engine: Engine) -> None:
    broker = _paper(mode="backtest", max_volume_share=Decimal("0.1"))
    manager = OrderManager(SqlOrderStore(engine), broker)
    order = manager.submit(OrderRequest("AAPL", "buy", Decimal(250), time_in_force="gtc"))
    broker.on_bar("AAPL", bar(1, "101", "102", "100", "101", v=1000))
    assert manager.get(order.order_id).status == "partially_filled"  # type: ignore[union-attr]
    broker.on_bar("AAPL", bar(2, "102", "103", "101", "102", v=1000))
    broker.on_bar("AAPL", bar(3, "103", "104", "102", "103", v=1000))
    final = manager.get(order.order_id)
    assert final is not None
    assert final.status == "filled"
    assert [e for e, _ in _events(engine, order.order_id)] == [
        "order_placed",
        "order_accepted",
        "order_partially_filled",
        "order_partially_filled",
        "order_filled",
    ]
    assert final.average_fill_price == Decimal("101.800000")  # (100×101 + 100×102 + 50×103) / 250


def test_limit_order_fills_when_a_bar_trades_through(engine: Engine) -> None:
    broker = _paper(mode="backtest")
    manager = OrderManager(SqlOrderStore(engine), broker)
    order = manager.submit(OrderRequest("AAPL", "buy", Decimal(10), "limit", Decimal("98"), time_in_force="gtc"))
    broker.on_bar("AAPL", bar(1, "100", "101", "98.5", "100"))
    assert manager.get(order.order_id).status == "accepted"  # type: ignore[union-attr]
    broker.on_bar("AAPL", bar(2, "99", "99.5", "97", "98"))
    assert manager.get(order.order_id).average_fill_price == Decimal(98)  # type: ignore[union-attr]
    gap = manager.submit(OrderRequest("AAPL", "sell", Decimal(10), "limit", Decimal("99"), time_in_force="gtc"))
    broker.on_bar("AAPL", bar(3, "105", "106", "104", "105"))  # gaps above the limit: fills at the open
    assert manager.get(gap.order_id).average_fill_price == Decimal(105)  # type: ignore[union-attr]


def test_paper_rejects_unknown_symbol_and_insufficient_buying_power(engine: Engine) -> None:
    manager = OrderManager(SqlOrderStore(engine), _paper())
    unknown = manager.submit(OrderRequest("ZZZZ", "buy", Decimal(1)))
    assert unknown.status == "rejected"
    assert unknown.status_reason is not None
    assert "unknown symbol" in unknown.status_reason
    too_big = manager.submit(OrderRequest("AAPL", "buy", Decimal(2000)))
    assert too_big.status == "rejected"
    assert "insufficient buying power" in (too_big.status_reason or "")
    naked = manager.submit(OrderRequest("AAPL", "sell", Decimal(1)))
    assert naked.status == "rejected"
    assert "insufficient position" in (naked.status_reason or "")
    assert [e for e, _ in _events(engine, too_big.order_id)] == ["order_placed", "order_rejected"]


def test_cancel_and_reconcile_after_restart(engine: Engine) -> None:
    store = SqlOrderStore(engine)
    broker = _paper(mode="backtest")
    manager = OrderManager(store, broker)
    resting = manager.submit(OrderRequest("AAPL", "buy", Decimal(10), "limit", Decimal("90"), time_in_force="gtc"))
    doomed = manager.submit(OrderRequest("AAPL", "buy", Decimal(10), "limit", Decimal("91"), time_in_force="gtc"))
    manager.cancel(doomed.order_id)
    with pytest.raises(TradingError, match="already cancelled"):
        manager.cancel(doomed.order_id)
    # The process restarts: a new manager over the same store and broker; the broker filled meanwhile.
    broker.set_update_handler(lambda report: None)
    broker.on_bar("AAPL", bar(5, "89", "90", "88", "89"))
    fresh = OrderManager(store, broker)
    result = fresh.reconcile()
    assert (result.checked, result.changed, result.fills_recovered) == (1, 1, 1)
    assert fresh.get(resting.order_id).status == "filled"  # type: ignore[union-attr]
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(FillRow)) == 1


def test_pending_order_never_sent_is_cancelled_on_reconcile(engine: Engine) -> None:
    store = SqlOrderStore(engine)
    broker = _paper()

    def crash(point: str) -> None:
        if point == "after_commit":
            raise SystemExit("simulated crash")

    with pytest.raises(SystemExit):
        OrderManager(store, broker, crash_hook=crash).submit(OrderRequest("AAPL", "buy", Decimal(1)))
    (pending,) = store.open_orders("paper")
    assert pending.status == "pending"
    OrderManager(store, broker).reconcile()
    after = store.get_order(pending.order_id)
    assert after is not None
    assert after.status == "cancelled"
    assert "never reached the paper broker" in (after.status_reason or "")
    assert not broker.working


@pytest.mark.parametrize(
    ("alpaca", "ours"),
    [("new", "accepted"), ("partially_filled", "partially_filled"), ("canceled", "cancelled"),
     ("pending_new", "submitted"), ("done_for_day", "accepted"), ("replaced", "replaced"), ("rejected", "rejected"),
     ("expired", "expired")],
)  # fmt: skip
def test_alpaca_status_mapping(alpaca: str, ours: str) -> None:
    assert map_alpaca_status(alpaca) == ours


def _order(order_id: str) -> Order:
    return Order(order_id, "AAPL", "buy", Decimal(10), "market", None, "day", broker="paper", created_at=T0)


def test_a_failed_order_write_keeps_nothing_of_it_and_the_store_stays_usable(engine: Engine) -> None:
    # On PostgreSQL the order's statements go down one pipeline: an error surfaces as the usual
    # database error, the whole transaction (order row and events) is rolled back, the next write works.
    store = SqlOrderStore(engine)
    store.create_order(_order("dup-1"), [TradingEventRecord("order_placed", order_id="dup-1", timestamp=T0)])
    with pytest.raises(IntegrityError):
        store.create_order(_order("dup-1"), [TradingEventRecord("order_placed", order_id="dup-1", timestamp=T0)])
    store.create_order(_order("next-1"), [TradingEventRecord("order_placed", order_id="next-1", timestamp=T0)])
    assert [e for e, _ in _events(engine, "dup-1")] == ["order_placed"]
    assert [e for e, _ in _events(engine, "next-1")] == ["order_placed"]
    assert {o.order_id for o in store.orders()} == {"dup-1", "next-1"}


def test_the_store_keeps_a_fill_saved_twice_once(engine: Engine) -> None:
    # Two writers (the stream thread and a reconciling process) may save the same fill: the second
    # write is a lost race (re-read, decide again), never a second booking.
    store = SqlOrderStore(engine)
    order = _order("twice-1")
    store.create_order(order, [])
    fill = Fill("twice-1-F10", "twice-1", "AAPL", "buy", Decimal(10), Decimal("100.25"), Decimal(1), T0, Decimal(10))
    store.save(order, [fill], [])
    again = Fill("twice-1-other", "twice-1", "AAPL", "buy", Decimal(10), Decimal("100.25"), Decimal(1), T0, Decimal(10))
    with pytest.raises(LostRaceError):
        store.save(order, [again], [])
    assert [f.fill_id for f in store.fills()] == ["twice-1-F10"]
    assert store.has_fill("twice-1-F10")
