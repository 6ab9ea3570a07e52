"""Order types on the paper broker, against hand-worked bars (prices chosen so every fill can be checked by eye).

Backtest mode: an order placed on a bar's close works from the next bar on; ``bar(minutes, o, h, l, c)``.
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from helpers import T0, bar

from workstation.trading.brokers.paper import PaperBroker, PaperConfig
from workstation.trading.domain import InvalidOrderError, Order, OrderRequest
from workstation.trading.order_manager import OrderManager
from workstation.trading.repository import MemoryOrderStore

DAY = 24 * 60


def _manager(**config: object) -> tuple[OrderManager, MemoryOrderStore]:
    broker = PaperBroker(D(100_000), PaperConfig(mode="backtest", **config), clock=lambda: T0)  # type: ignore[arg-type]
    store = MemoryOrderStore()
    manager = OrderManager(store, broker)
    manager.on_bar("AAPL", bar(0, "100", "100", "100", "100"))
    return manager, store


def _get(manager: OrderManager, order_id: str) -> Order:
    order = manager.get(order_id)
    assert order is not None
    return order


def _hold(manager: OrderManager, quantity: int = 10, minutes: int = 1) -> None:
    """Buy ``quantity`` at 100 on a quiet bar."""
    manager.submit(OrderRequest("AAPL", "buy", D(quantity)))
    manager.on_bar("AAPL", bar(minutes, "100", "100", "100", "100"))
    assert manager.position_quantity("AAPL") == quantity


def test_buy_stop_triggers_when_the_high_reaches_it_and_fills_at_the_stop() -> None:
    manager, _ = _manager()
    order = manager.submit(OrderRequest("AAPL", "buy", D(10), "stop", stop_price=D(105)))
    manager.on_bar("AAPL", bar(1, "101", "104", "100", "103"))  # high 104 < 105: nothing
    assert _get(manager, order.order_id).status == "accepted"
    manager.on_bar("AAPL", bar(2, "103", "106", "102", "105"))  # trades through 105 from below
    done = _get(manager, order.order_id)
    assert (done.status, done.average_fill_price) == ("filled", D(105))


def test_sell_stop_gapped_through_fills_at_the_open() -> None:
    manager, _ = _manager()
    _hold(manager)
    order = manager.submit(OrderRequest("AAPL", "sell", D(10), "stop", stop_price=D(95)))
    manager.on_bar("AAPL", bar(2, "93", "94", "92", "93.5"))  # opens below the stop
    assert _get(manager, order.order_id).average_fill_price == D(93)


def test_stop_limit_triggered_above_its_limit_waits_as_a_limit_order() -> None:
    manager, _ = _manager()
    order = manager.submit(OrderRequest("AAPL", "buy", D(5), "stop_limit", limit_price=D("105.50"), stop_price=D(105)))
    manager.on_bar("AAPL", bar(1, "106", "107", "105.80", "106.5"))  # gaps to 106: triggered, above the limit
    triggered = _get(manager, order.order_id)
    assert triggered.status == "accepted" and triggered.triggered_at == bar(1, "0", "0", "0", "0").timestamp
    manager.on_bar("AAPL", bar(2, "105.90", "106", "105.20", "105.6"))  # now a limit: low 105.20 ≤ 105.50
    done = _get(manager, order.order_id)
    assert (done.status, done.average_fill_price) == ("filled", D("105.5"))


def test_stop_limit_fills_on_the_trigger_bar_when_the_stop_is_within_the_limit() -> None:
    manager, _ = _manager()
    order = manager.submit(OrderRequest("AAPL", "buy", D(5), "stop_limit", limit_price=D(106), stop_price=D(105)))
    manager.on_bar("AAPL", bar(1, "104", "107", "103", "106.5"))
    assert _get(manager, order.order_id).average_fill_price == D(105)


def test_trailing_stop_in_dollars_follows_the_high_water_mark_bar_by_bar() -> None:
    manager, _ = _manager()
    _hold(manager)
    order = manager.submit(OrderRequest("AAPL", "sell", D(10), "trailing_stop", trail_price=D(2)))
    placed = _get(manager, order.order_id)
    assert (placed.hwm, placed.stop_price) == (D(100), D(98))  # from the last price
    manager.on_bar("AAPL", bar(2, "100", "104", "99", "103"))  # low 99 > stop 98; mark → 104, stop → 102
    moved = _get(manager, order.order_id)
    assert (moved.status, moved.hwm, moved.stop_price) == ("accepted", D(104), D(102))
    manager.on_bar("AAPL", bar(3, "103", "103.5", "101", "101.5"))  # low 101 ≤ 102: sold at the stop
    done = _get(manager, order.order_id)
    assert (done.status, done.average_fill_price) == ("filled", D(102))
    assert manager.position_quantity("AAPL") == 0


def test_trailing_stop_in_percent_and_a_buy_trails_the_low() -> None:
    manager, _ = _manager()
    order = manager.submit(OrderRequest("AAPL", "buy", D(1), "trailing_stop", trail_percent=D(5)))
    assert _get(manager, order.order_id).stop_price == D(105)  # 100 + 5 %
    manager.on_bar("AAPL", bar(1, "99", "100", "90", "91"))  # high 100 < 105; low-water 90 → stop 94.5
    assert _get(manager, order.order_id).stop_price == D("94.5")
    manager.on_bar("AAPL", bar(2, "96", "97", "95", "96"))  # opens above 94.5: bought at the open
    assert _get(manager, order.order_id).average_fill_price == D(96)


def _bracket(manager: OrderManager, **kwargs: object) -> tuple[Order, Order, Order]:
    request = OrderRequest(
        "AAPL",
        "buy",
        D(10),
        order_class="bracket",
        take_profit=D(110),
        stop_loss=D(95),
        **kwargs,  # type: ignore[arg-type]
    )
    entry = manager.submit(request)
    return entry, _get(manager, f"{entry.order_id}-tp"), _get(manager, f"{entry.order_id}-sl")


def test_bracket_legs_work_only_after_the_entry_fills_and_one_bar_reaching_both_takes_the_stop() -> None:
    manager, _ = _manager()
    entry, tp, sl = _bracket(manager)
    assert (tp.side, tp.order_type, tp.limit_price, sl.order_type, sl.stop_price) == (
        "sell",
        "limit",
        D(110),
        "stop",
        D(95),
    )
    assert tp.parent_order_id == sl.parent_order_id == entry.order_id
    # The entry fills at this bar's open; the legs do not work on it although it reaches both.
    manager.on_bar("AAPL", bar(1, "100", "111", "94", "100"))
    assert _get(manager, entry.order_id).status == "filled"
    assert {_get(manager, tp.order_id).status, _get(manager, sl.order_id).status} == {"accepted"}
    # The next bar reaches 110 and 95: the stop is taken first (the worse outcome) and the target cancelled.
    manager.on_bar("AAPL", bar(2, "100", "111", "94", "100"))
    stopped, target = _get(manager, sl.order_id), _get(manager, tp.order_id)
    assert (stopped.status, stopped.average_fill_price) == ("filled", D(95))
    assert target.status == "cancelled" and "filled" in (target.status_reason or "")
    assert manager.position_quantity("AAPL") == 0


def test_bracket_take_profit_fill_cancels_the_stop_loss() -> None:
    manager, _ = _manager()
    _entry, tp, sl = _bracket(manager, order_type="limit", limit_price=D(100))
    manager.on_bar("AAPL", bar(1, "100.5", "101", "99.5", "100"))  # limit 100 reached: filled at 100
    manager.on_bar("AAPL", bar(2, "108", "112", "107", "111"))  # high 112 ≥ 110: sold at 110
    assert (_get(manager, tp.order_id).status, _get(manager, tp.order_id).average_fill_price) == ("filled", D(110))
    assert _get(manager, sl.order_id).status == "cancelled"
    assert manager.store.position_book("paper").get("AAPL").realised_pnl == D(100)  # 10 × (110 − 100)


def test_cancelling_an_unfilled_entry_cancels_its_legs() -> None:
    manager, _ = _manager()
    entry, tp, sl = _bracket(manager, order_type="limit", limit_price=D(96))
    manager.cancel(entry.order_id)
    assert {_get(manager, o.order_id).status for o in (entry, tp, sl)} == {"cancelled"}


def test_oto_with_a_stop_loss_leg_only() -> None:
    manager, _ = _manager()
    entry = manager.submit(OrderRequest("AAPL", "buy", D(10), order_class="oto", stop_loss=D(95)))
    assert manager.store.legs(entry.order_id)[0].order_id == f"{entry.order_id}-sl"  # type: ignore[attr-defined]
    manager.on_bar("AAPL", bar(1, "100", "100", "100", "100"))
    manager.on_bar("AAPL", bar(2, "96", "97", "93", "94"))
    assert _get(manager, f"{entry.order_id}-sl").average_fill_price == D(95)


def test_oco_exit_pair_one_fill_cancels_the_other() -> None:
    manager, _ = _manager()
    _hold(manager)
    oco = manager.submit(OrderRequest("AAPL", "sell", D(10), order_class="oco", take_profit=D(110), stop_loss=D(95)))
    assert (oco.order_type, oco.limit_price) == ("limit", D(110))
    stop = _get(manager, f"{oco.order_id}-sl")
    assert (stop.side, stop.order_type, stop.stop_price) == ("sell", "stop", D(95))
    manager.on_bar("AAPL", bar(2, "100", "111", "99", "110"))
    assert (_get(manager, oco.order_id).status, _get(manager, stop.order_id).status) == ("filled", "cancelled")


def test_oco_bar_reaching_both_takes_the_stop() -> None:
    manager, _ = _manager()
    _hold(manager)
    oco = manager.submit(OrderRequest("AAPL", "sell", D(10), order_class="oco", take_profit=D(110), stop_loss=D(95)))
    manager.on_bar("AAPL", bar(2, "100", "111", "94", "100"))
    assert _get(manager, f"{oco.order_id}-sl").average_fill_price == D(95)
    assert _get(manager, oco.order_id).status == "cancelled"


def test_ioc_keeps_what_fills_on_its_bar_and_cancels_the_rest() -> None:
    manager, _ = _manager(max_volume_share=D("0.1"))
    order = manager.submit(OrderRequest("AAPL", "buy", D(50), time_in_force="ioc"))
    manager.on_bar("AAPL", bar(1, "100", "100", "100", "100", v=200))  # 10 % of 200 = 20 shares
    done = _get(manager, order.order_id)
    assert (done.status, done.filled_quantity) == ("cancelled", D(20))


def test_fok_is_cancelled_when_the_bar_cannot_fill_it_all() -> None:
    manager, _ = _manager(max_volume_share=D("0.1"))
    order = manager.submit(OrderRequest("AAPL", "buy", D(50), time_in_force="fok"))
    manager.on_bar("AAPL", bar(1, "100", "100", "100", "100", v=200))
    done = _get(manager, order.order_id)
    assert (done.status, done.filled_quantity) == ("cancelled", D(0))
    whole = manager.submit(OrderRequest("AAPL", "buy", D(20), time_in_force="fok"))
    manager.on_bar("AAPL", bar(2, "101", "101", "101", "101", v=200))
    assert _get(manager, whole.order_id).status == "filled"


def test_ioc_limit_not_reached_on_its_bar_is_cancelled() -> None:
    manager, _ = _manager()
    order = manager.submit(OrderRequest("AAPL", "buy", D(1), "limit", D(90), time_in_force="ioc"))
    manager.on_bar("AAPL", bar(1, "100", "101", "99", "100"))
    assert _get(manager, order.order_id).status == "cancelled"


def test_opg_trades_at_the_open_of_the_next_session_only() -> None:
    manager, _ = _manager()
    order = manager.submit(OrderRequest("AAPL", "buy", D(1), time_in_force="opg"))
    manager.on_bar("AAPL", bar(30, "101", "102", "100", "101"))  # same session: not the opening auction
    assert _get(manager, order.order_id).status == "accepted"
    manager.on_bar("AAPL", bar(DAY, "103", "104", "102", "103"))
    assert _get(manager, order.order_id).average_fill_price == D(103)
    limit = manager.submit(OrderRequest("AAPL", "buy", D(1), "limit", D(100), time_in_force="opg"))
    manager.on_bar("AAPL", bar(2 * DAY, "102", "102", "99", "100"))  # opens above the limit: expires
    assert _get(manager, limit.order_id).status == "expired"


def test_cls_trades_at_the_close_of_the_bar_that_ends_the_session() -> None:
    manager, _ = _manager()
    order = manager.submit(OrderRequest("AAPL", "buy", D(1), time_in_force="cls"))
    manager.on_bar("AAPL", bar(60, "101", "102", "100", "101"))  # 11:00 New York
    assert _get(manager, order.order_id).status == "accepted"
    manager.on_bar("AAPL", bar(6 * 60 - 1, "101", "102", "100", "101.5"))  # 15:59 New York: the closing bar
    assert _get(manager, order.order_id).average_fill_price == D("101.5")


def test_replace_creates_a_new_linked_order_and_the_old_one_ends_replaced() -> None:
    manager, _ = _manager()
    old = manager.submit(OrderRequest("AAPL", "buy", D(10), "limit", D(95)))
    new = manager.replace(old.order_id, quantity=D(12), limit_price=D(97))
    replaced = _get(manager, old.order_id)
    assert (replaced.status, replaced.replaced_by) == ("replaced", new.order_id)
    assert (new.status, new.replaces, new.quantity, new.limit_price) == ("accepted", old.order_id, D(12), D(97))
    manager.on_bar("AAPL", bar(1, "98", "99", "96.5", "97"))
    assert (_get(manager, new.order_id).status, _get(manager, new.order_id).average_fill_price) == ("filled", D(97))


def test_replacing_a_bracket_entry_keeps_its_legs_attached() -> None:
    manager, _ = _manager()
    entry, tp, sl = _bracket(manager, order_type="limit", limit_price=D(96))
    new = manager.replace(entry.order_id, limit_price=D(99))
    assert {leg.parent_order_id for leg in (_get(manager, tp.order_id), _get(manager, sl.order_id))} == {new.order_id}
    manager.on_bar("AAPL", bar(1, "100", "100", "98", "99"))  # entry fills at 99
    manager.on_bar("AAPL", bar(2, "99", "99", "94", "95"))  # the stop-loss works for the new entry
    assert _get(manager, sl.order_id).status == "filled"


def test_replace_refuses_what_the_order_type_does_not_have() -> None:
    manager, _ = _manager()
    order = manager.submit(OrderRequest("AAPL", "buy", D(1), "limit", D(95)))
    with pytest.raises(InvalidOrderError, match="no stop price"):
        manager.replace(order.order_id, stop_price=D(96))
    with pytest.raises(InvalidOrderError, match="needs a new"):
        manager.replace(order.order_id)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"order_type": "trailing_stop"}, "exactly one of trail price or trail percent"),
        ({"order_type": "trailing_stop", "trail_price": D(1), "trail_percent": D(1)}, "exactly one"),
        ({"order_type": "trailing_stop", "trail_percent": D(100)}, "between 0 and 100"),
        ({"order_type": "stop"}, "needs a positive stop price"),
        ({"order_type": "stop_limit", "stop_price": D(1)}, "needs a positive limit price"),
        ({"order_type": "market", "stop_price": D(1)}, "takes no stop price"),
        ({"order_type": "limit", "limit_price": D(1), "extended_hours": True, "time_in_force": "ioc"}, "extended"),
        ({"extended_hours": True}, "extended hours"),
        ({"order_type": "stop", "stop_price": D(1), "time_in_force": "opg"}, "market or limit orders only"),
        ({"order_class": "bracket", "take_profit": D(110)}, "both a take-profit and a stop-loss"),
        ({"order_class": "bracket", "take_profit": D(90), "stop_loss": D(95)}, "above its stop-loss"),
        ({"order_type": "limit", "limit_price": D(100), "order_class": "bracket", "take_profit": D(99),
          "stop_loss": D(95)}, "must be above the buy entry"),
        ({"order_type": "limit", "limit_price": D(100), "order_class": "bracket", "take_profit": D(110),
          "stop_loss": D(101)}, "must be below the buy entry"),
        ({"order_class": "bracket", "take_profit": D(110), "stop_loss": D(95), "time_in_force": "ioc"}, "day or gtc"),
        ({"order_class": "oto"}, "exactly one of take-profit or stop-loss"),
        ({"take_profit": D(110)}, "need an order class"),
        ({"order_class": "oco", "take_profit": D(95), "stop_loss": D(110), "side": "sell"}, "above its stop-loss"),
    ],
)  # fmt: skip
def test_invalid_combinations_are_refused_before_anything_is_recorded(kwargs: dict[str, object], message: str) -> None:
    manager, store = _manager()
    side = kwargs.pop("side", "buy")
    with pytest.raises(InvalidOrderError, match=message):
        manager.submit(OrderRequest("AAPL", side, D(1), **kwargs))  # type: ignore[arg-type]
    assert store.orders() == []


def test_a_day_entry_that_expires_unfilled_takes_its_legs_with_it() -> None:
    manager, _ = _manager()
    entry, tp, sl = _bracket(manager, order_type="limit", limit_price=D(96))
    manager.on_bar("AAPL", bar(1, "100", "101", "99", "100"))  # 96 not reached today
    manager.on_bar("AAPL", bar(DAY, "100", "101", "99", "100"))  # the next session: the day order expired
    assert [_get(manager, o.order_id).status for o in (entry, tp, sl)] == ["expired", "cancelled", "cancelled"]
