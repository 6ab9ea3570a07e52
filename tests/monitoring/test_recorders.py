"""Typed writers, timed(), exception hooks, and the safe no-op when monitoring is not installed."""

from __future__ import annotations

import logging
import sys
import threading
import time
from decimal import Decimal

import pytest
from monitoring_helpers import Install
from sqlalchemy import Engine, text

from workstation.monitoring.correlation import correlation_scope
from workstation.monitoring.recorders import record_error, record_trading_event, record_user_action
from workstation.monitoring.timing import timed


def test_timed_as_context_manager_and_decorator(engine: Engine, install: Install) -> None:
    handle = install(engine)

    @timed("fit", component="ml")
    def fit(fail: bool = False) -> int:
        if fail:
            raise ValueError("bad data")
        return 7

    with timed("get_features", component="ml_pipeline") as timer:
        time.sleep(0.02)
    assert timer.duration_ms is not None
    assert timer.duration_ms >= 20
    assert fit() == 7
    with pytest.raises(ValueError, match="bad data"):
        fit(fail=True)
    with pytest.raises(TimeoutError), timed("fetch_bars", component="market"):
        raise TimeoutError("yahoo did not answer")
    with timed("slow_query", timeout_ms=1):
        time.sleep(0.01)
    with timed("marked") as t:
        t.status = "timeout"
        t.metadata["symbols"] = 3
    assert handle.flush()
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT operation_name, status, component, duration_ms, memory_usage_mb, cpu_usage_percent"
                " FROM performance_logs ORDER BY id"
            )
        ).all()
    by_name = {(r[0], r[1]) for r in rows}
    assert by_name == {
        ("get_features", "success"),
        ("fit", "success"),
        ("fit", "error"),
        ("fetch_bars", "timeout"),
        ("slow_query", "timeout"),
        ("marked", "timeout"),
    }
    first = rows[0]
    assert first[2] == "ml_pipeline"
    assert Decimal(str(first[3])) >= 20
    assert Decimal(str(first[4])) > 10  # resident memory of a Python process
    assert first[5] is not None
    assert rows[-1][2] == "test"  # the installed default component


def test_typed_rows_keep_their_values(engine: Engine, install: Install) -> None:
    handle = install(engine)
    with correlation_scope("order-1"):
        record_trading_event(
            "order_filled", symbol="AAPL", side="BUY", quantity=Decimal("1.5"), price="187.25", order_id="c-1"
        )
        record_trading_event("order_placed", side="short", quantity="lots")  # bad values kept in metadata
        record_user_action(
            "submit_order",
            user_id="trader",
            session_id="s1",
            request_path="orders/ticket/submit",
            response_status=200,
            duration_ms=12.5,
            ip_address="not-an-ip",
        )
    assert handle.flush()
    with engine.connect() as conn:
        fill = conn.execute(text("SELECT side, quantity, price, order_id FROM trading_events ORDER BY id")).all()
        action = conn.execute(
            text("SELECT action_type, request_path, response_status, duration_ms, ip_address FROM user_action_logs")
        ).one()
    assert fill[0][0] == "buy"
    assert Decimal(str(fill[0][1])) == Decimal("1.5")
    assert Decimal(str(fill[0][2])) == Decimal("187.25")
    assert fill[1][0] is None
    assert fill[1][1] is None
    assert action[:3] == ("submit_order", "orders/ticket/submit", 200)
    assert Decimal(str(action[3])) == Decimal("12.5")
    assert action[4] is None


def test_without_monitoring_calls_fall_back_to_logging(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="workstation.monitoring.events")
    record_trading_event("order_placed", symbol="AAPL", side="buy", quantity=1)
    record_user_action("click", request_path="watchlist/add")
    try:
        raise KeyError("x")
    except KeyError as exc:
        record_error(exc, component="gui")
    with timed("nothing"):
        pass
    text_ = caplog.text
    for expected in ("order_placed", "watchlist/add", "KeyError", "nothing"):
        assert expected in text_


def test_exception_hooks_record_uncaught_errors(engine: Engine, install: Install) -> None:
    handle = install(engine, excepthooks=True)
    assert sys.excepthook.__module__ == "workstation.monitoring.install"
    chained: list[str] = []
    # The hooks that were there before (here pytest's own) still run; record that instead of failing the test.
    handle._previous_hooks = (lambda *a: chained.append("sys"), lambda a: chained.append("thread"))

    def crash() -> None:
        raise RuntimeError("worker thread died")

    with correlation_scope("hook-1"):
        thread = threading.Thread(target=crash, name="bars-worker")
        thread.start()
        thread.join()
        try:
            raise LookupError("main thread died")
        except LookupError:
            sys.excepthook(*sys.exc_info())  # type: ignore[arg-type]
    assert handle.flush()
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT error_type, component, error_message FROM error_logs ORDER BY id")).all()
    assert ("RuntimeError", "thread:bars-worker", "worker thread died") in rows
    assert ("LookupError", "uncaught", "main thread died") in rows
    assert sorted(chained) == ["sys", "thread"]
    handle.shutdown()
    assert sys.excepthook.__module__ != "workstation.monitoring.install"
