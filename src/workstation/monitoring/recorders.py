"""Typed writers for trading events, errors and user actions.

They share the log writer's queue when monitoring is installed and fall back to ordinary
``logging`` otherwise, so core code calls them unconditionally. A call never raises because of
logging: bad values are kept in the row's metadata instead of failing the caller.
"""

from __future__ import annotations

import ipaddress
import logging
import traceback
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from workstation.monitoring.correlation import current_correlation_id
from workstation.monitoring.rows import ERROR_LOGS, PERFORMANCE_LOGS, TRADING_EVENTS, USER_ACTION_LOGS, qualified_name

_fallback = logging.getLogger("workstation.monitoring.events")

# The event types the trading core emits; others are accepted (the list grows with the product).
TRADING_EVENT_TYPES = frozenset(
    {
        "signal_generated",
        "order_created",
        "order_placed",
        "order_submitted",
        "order_accepted",
        "order_filled",
        "order_partially_filled",
        "order_cancel_requested",
        "order_cancelled",
        "order_expired",
        "order_replaced",
        "order_rejected",
        "order_failed",
        "risk_rejected",
        "position_opened",
        "position_closed",
        "reconciliation_mismatch",
        "kill_switch_engaged",
        "kill_switch_released",
    }
)

Submit = Callable[[tuple[Any, ...]], None]
_submit: Submit | None = None
_component: str | None = None


def _activate(submit: Submit | None, component: str | None) -> None:
    """Called by install_monitoring / MonitoringHandle.shutdown."""
    global _submit, _component
    _submit, _component = submit, component


def monitoring_active() -> bool:
    return _submit is not None


def default_component() -> str | None:
    return _component


def submit_row(table: str, row: dict[str, Any]) -> bool:
    """Queue a row for ``table``; False (nothing queued) when monitoring is not installed."""
    submit = _submit
    if submit is None:
        return False
    row.setdefault("timestamp", datetime.now(UTC))
    if row.get("correlation_id") is None:
        row["correlation_id"] = current_correlation_id()
    submit(("R", table, row))
    return True


def _decimal(value: Any, problems: dict[str, Any], name: str) -> Decimal | None:
    if value is None:
        return None
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        problems[name] = str(value)
        return None
    if not number.is_finite():
        problems[name] = str(value)
        return None
    return number


def record_trading_event(
    event_type: str,
    *,
    symbol: str | None = None,
    side: str | None = None,
    quantity: Decimal | float | int | str | None = None,
    price: Decimal | float | int | str | None = None,
    order_id: str | None = None,
    strategy: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    correlation_id: str | None = None,
) -> None:
    """One row in trading_events, under the current correlation id unless one is given."""
    extra: dict[str, Any] = dict(metadata or {})
    side_value = side.lower() if isinstance(side, str) else None
    if side is not None and side_value not in ("buy", "sell"):
        extra["side"] = str(side)
        side_value = None
    row = {
        "correlation_id": correlation_id,
        "event_type": str(event_type) or "unknown",
        "symbol": symbol,
        "side": side_value,
        "quantity": _decimal(quantity, extra, "quantity"),
        "price": _decimal(price, extra, "price"),
        "order_id": None if order_id is None else str(order_id),
        "strategy": strategy,
        "metadata": extra or None,
    }
    if not submit_row(TRADING_EVENTS, row):
        _fallback.info("trading event %s %s %s %s @ %s order %s", event_type, side, quantity, symbol, price, order_id)


def record_error(
    exc: BaseException,
    *,
    component: str | None = None,
    user_id: str | None = None,
    request_path: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    correlation_id: str | None = None,
) -> None:
    """One row in error_logs: the exception's type, message and full stack trace."""
    stack = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    row = {
        "correlation_id": correlation_id,
        "error_type": qualified_name(type(exc)),
        "error_message": str(exc) or type(exc).__name__,
        "stack_trace": stack,
        "component": component or _component,
        "user_id": user_id,
        "request_path": request_path,
        "metadata": dict(metadata) if metadata else None,
    }
    if not submit_row(ERROR_LOGS, row):
        _fallback.error("error in %s: %s", component or "application", row["error_message"], exc_info=exc)


def record_user_action(
    action_type: str,
    *,
    user_id: str | None = None,
    session_id: str | None = None,
    request_path: str | None = None,
    response_status: int | None = None,
    duration_ms: Decimal | float | None = None,
    request_method: str | None = None,
    ip_address: str | None = None,
    user_agent: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    correlation_id: str | None = None,
    timestamp: datetime | None = None,
) -> None:
    """One row in user_action_logs. ``request_path`` is the UI action path (e.g. ``orders/submit``).

    ``timestamp`` defaults to now; pass the moment the action started when recording it afterwards.
    """
    extra: dict[str, Any] = dict(metadata or {})
    address = None
    if ip_address:
        try:
            address = str(ipaddress.ip_address(ip_address))
        except ValueError:
            extra["ip_address"] = ip_address
    row = {
        "timestamp": timestamp or datetime.now(UTC),
        "correlation_id": correlation_id,
        "action_type": action_type,
        "user_id": user_id,
        "session_id": session_id,
        "ip_address": address,
        "user_agent": user_agent,
        "request_path": request_path,
        "request_method": request_method,
        "response_status": response_status,
        "duration_ms": _decimal(duration_ms, extra, "duration_ms"),
        "metadata": extra or None,
    }
    if not submit_row(USER_ACTION_LOGS, row):
        _fallback.info("user action %s %s -> %s", action_type, request_path, response_status)


def record_performance(
    operation_name: str,
    duration_ms: Decimal | float,
    *,
    status: str = "success",
    component: str | None = None,
    memory_usage_mb: Decimal | float | None = None,
    cpu_usage_percent: Decimal | float | None = None,
    metadata: Mapping[str, Any] | None = None,
    correlation_id: str | None = None,
) -> None:
    """One row in performance_logs (``timed`` is the usual way to produce it)."""
    extra: dict[str, Any] = dict(metadata or {})
    if status not in ("success", "error", "timeout"):
        extra["status"] = status
        status = "error"
    row = {
        "correlation_id": correlation_id,
        "operation_name": operation_name,
        "duration_ms": _decimal(round(float(duration_ms), 3), extra, "duration_ms") or Decimal(0),
        "status": status,
        "component": component or _component,
        "memory_usage_mb": _decimal(None if memory_usage_mb is None else round(float(memory_usage_mb), 3), extra, "m"),
        "cpu_usage_percent": _decimal(
            None if cpu_usage_percent is None else round(float(cpu_usage_percent), 3), extra, "cpu"
        ),
        "metadata": extra or None,
    }
    if not submit_row(PERFORMANCE_LOGS, row):
        _fallback.debug("%s took %.1f ms (%s)", operation_name, float(duration_ms), status)
