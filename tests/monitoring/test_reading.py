"""Reading: activity queries over the view, the trace of one id, prune with archive, alert rules."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from monitoring_helpers import TABLES, Install, count
from sqlalchemy import Engine, insert

from workstation.db.market import MarketData, StockInfo
from workstation.db.partitions import ensure_partitions
from workstation.errors import ConfigurationError
from workstation.monitoring.alerts import AlertThresholds, AlertTracker, evaluate_alerts
from workstation.monitoring.correlation import correlation_scope
from workstation.monitoring.query import query_activity, trace
from workstation.monitoring.recorders import record_error, record_trading_event, record_user_action
from workstation.monitoring.retention import parse_duration, prune_logs, read_archive
from workstation.monitoring.timing import timed


def _story(log: logging.Logger) -> None:
    """One order's life under one id, plus unrelated noise."""
    with correlation_scope("order-42"):
        record_user_action("submit_order", user_id="trader", request_path="orders/ticket/submit", response_status=200)
        log.info("strategy sma_cross signalled AAPL")
        record_trading_event("signal_generated", symbol="AAPL", strategy="sma_cross")
        with timed("risk.check", component="trading"):
            pass
        record_trading_event("order_rejected", symbol="AAPL", side="buy", quantity=5, order_id="c-42",
                             metadata={"reason": "insufficient buying power"})  # fmt: skip
        try:
            raise ConnectionError("broker hung up")
        except ConnectionError as exc:
            record_error(exc, component="broker.alpaca")
    with correlation_scope("other"):
        for i in range(5):
            log.debug("noise %d", i)
        logging.getLogger("wstest.market.yahoo").warning("yahoo slow")


def test_query_filters_and_paging(engine: Engine, install: Install, log: logging.Logger) -> None:
    handle = install(engine)
    _story(log)
    assert handle.flush()
    everything = query_activity(engine, limit=100)
    assert len(everything) == 11  # the user action is not in the view
    assert [e.timestamp for e in everything] == sorted((e.timestamp for e in everything), reverse=True)
    warnings = query_activity(engine, min_severity="warning")
    assert {e.source for e in warnings} == {"trading_event", "error_log", "system_log"}
    assert all(e.severity in ("WARNING", "ERROR", "CRITICAL") for e in warnings)
    assert [e.description for e in query_activity(engine, component="wstest.market")] == ["yahoo slow"]
    assert len(query_activity(engine, component="wstest")) == 7  # the logger and its children
    assert len(query_activity(engine, source="trading_event")) == 2
    assert [e.description for e in query_activity(engine, text="SIGNALLED")] == ["strategy sma_cross signalled AAPL"]
    assert {e.correlation_id for e in query_activity(engine, correlation_id="order-42")} == {"order-42"}
    page1 = query_activity(engine, limit=5)
    page2 = query_activity(engine, limit=5, offset=5)
    assert page1 + page2 == everything[:10]
    now = datetime.now(UTC)
    assert query_activity(engine, since=now + timedelta(minutes=1)) == []
    assert len(query_activity(engine, until=now + timedelta(minutes=1))) == 11
    with pytest.raises(ConfigurationError):
        query_activity(engine, min_severity="LOUD")
    with pytest.raises(ConfigurationError):
        query_activity(engine, since=datetime(2024, 1, 1))


def test_trace_tells_the_story_across_all_five_tables(engine: Engine, install: Install, log: logging.Logger) -> None:
    handle = install(engine)
    _story(log)
    assert handle.flush()
    story = trace(engine, "order-42")
    assert [e.source for e in story] == [
        "user_action",
        "system_log",
        "trading_event",
        "performance_log",
        "trading_event",
        "error_log",
    ]
    assert story[0].description == "submit_order orders/ticket/submit -> 200"
    assert "order_rejected buy 5" in story[4].description
    assert story[5].metadata is not None
    assert "broker hung up" in story[5].metadata["stack_trace"]
    assert trace(engine, "nobody") == []


def test_prune_archives_then_deletes(engine: Engine, install: Install, log: logging.Logger, tmp_path: Path) -> None:
    handle = install(engine)
    _story(log)
    assert handle.flush()
    later = datetime.now(UTC) + timedelta(days=91)
    dry = prune_logs(engine, timedelta(days=90), dry_run=True, now=later)
    assert dry.total == 12
    assert count(engine, "system_logs") == 7
    archive = tmp_path / "logs.jsonl.gz"
    report = prune_logs(engine, parse_duration("90d"), archive=archive, now=later)
    assert report.total == 12
    assert all(count(engine, t) == 0 for t in TABLES)
    archived = read_archive(archive)
    assert len(archived) == 12
    assert {a["table"] for a in archived} == set(TABLES)
    assert any(a["row"].get("message") == "yahoo slow" for a in archived)
    with pytest.raises(ConfigurationError):
        prune_logs(engine, timedelta(days=1), archive=archive)  # never overwrite an archive
    nothing = prune_logs(engine, timedelta(days=90), now=later)
    assert nothing.total == 0


def test_prune_keeps_recent_rows(engine: Engine, install: Install, log: logging.Logger) -> None:
    handle = install(engine)
    _story(log)
    assert handle.flush()
    assert prune_logs(engine, timedelta(days=90)).total == 0
    assert count(engine, "system_logs") == 7


def test_parse_duration() -> None:
    assert parse_duration("90d") == timedelta(days=90)
    assert parse_duration("1d12h") == timedelta(hours=36)
    assert parse_duration("2w") == timedelta(weeks=2)
    for bad in ("", "90", "ninety days", "0d", "5y"):
        with pytest.raises(ConfigurationError):
            parse_duration(bad)


def _bars(engine: Engine, symbol: str, interval: str, last: datetime, source: str = "test") -> None:
    ensure_partitions(engine, "market_data", [last - timedelta(minutes=2), last])  # PostgreSQL's ranges
    with engine.begin() as conn:
        conn.execute(insert(StockInfo), [{"symbol": symbol, "name": symbol}])
        conn.execute(
            insert(MarketData),
            [
                {
                    "symbol": symbol, "interval": interval, "timestamp": last - timedelta(minutes=k),
                    "open": Decimal(1), "high": Decimal(1), "low": Decimal(1), "close": Decimal(1),
                    "volume": 1, "source": source,
                }
                for k in range(3)
            ],
        )  # fmt: skip


def test_alert_rules(engine: Engine, install: Install, log: logging.Logger) -> None:
    handle = install(engine)
    _story(log)
    for _ in range(4):
        try:
            raise RuntimeError("feature worker crashed")
        except RuntimeError as exc:
            record_error(exc, component="features.worker")
    assert handle.flush()
    # A Wednesday at 15:00 in New York, inside the regular session.
    now = datetime(2025, 6, 11, 19, 0, tzinfo=UTC)
    _bars(engine, "AAPL", "1m", now - timedelta(minutes=1))  # fresh
    _bars(engine, "MSFT", "1m", now - timedelta(minutes=45))  # stale
    _bars(engine, "SPY", "1d", now - timedelta(days=3))  # daily bars are not a live feed
    _bars(engine, "CON01", "1h", now - timedelta(days=30), source="synthetic")  # the demo's history, not a feed
    real_now = datetime.now(UTC)
    alerts = evaluate_alerts(
        engine,
        thresholds=AlertThresholds(error_rate_per_minute=0.5, error_rate_window=timedelta(minutes=5)),
        now=real_now,
    )
    rules = {a.rule: a for a in alerts}
    assert rules["error_rate"].count == 5
    assert rules["order_rejected"].correlation_ids == ("order-42",)
    assert "insufficient buying power" in rules["order_rejected"].detail
    assert rules["worker_failing"].component == "features.worker"
    assert rules["worker_failing"].count == 4
    quiet = evaluate_alerts(engine, thresholds=AlertThresholds(error_rate_per_minute=100, worker_failures=10))
    assert {a.rule for a in quiet} <= {"order_rejected", "market_data_stale"}
    stale = evaluate_alerts(engine, now=now)
    assert [a.key for a in stale if a.rule == "market_data_stale"] == ["market_data_stale:MSFT"]
    saturday = datetime(2025, 6, 14, 19, 0, tzinfo=UTC)
    assert not [a for a in evaluate_alerts(engine, now=saturday) if a.rule == "market_data_stale"]
    tracker = AlertTracker()
    raised, resolved = tracker.update(alerts)
    assert len(raised) == len(alerts)
    assert resolved == []
    raised, resolved = tracker.update(alerts[:1])
    assert raised == []
    assert len(resolved) == len(alerts) - 1
