"""Monitoring: the five log tables written off the caller's thread, correlation ids, activity, alerts.

The public API is importable from here; submodules load on first use so that importing
``workstation.monitoring.correlation`` (which every package does) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workstation.monitoring.alerts import Alert, AlertThresholds, evaluate_alerts
    from workstation.monitoring.correlation import correlation_scope, current_correlation_id, new_correlation_id
    from workstation.monitoring.install import MonitoringHandle, current_monitoring, install_monitoring
    from workstation.monitoring.propagation import (
        ContextThread,
        map_with_context,
        submit_with_context,
        with_correlation,
        worker_initializer,
    )
    from workstation.monitoring.query import ActivityEntry, query_activity, trace
    from workstation.monitoring.recorders import (
        record_error,
        record_performance,
        record_trading_event,
        record_user_action,
    )
    from workstation.monitoring.redaction import register_secret
    from workstation.monitoring.retention import prune_logs
    from workstation.monitoring.timing import timed

_EXPORTS = {
    "Alert": "alerts",
    "AlertThresholds": "alerts",
    "evaluate_alerts": "alerts",
    "correlation_scope": "correlation",
    "current_correlation_id": "correlation",
    "new_correlation_id": "correlation",
    "MonitoringHandle": "install",
    "current_monitoring": "install",
    "install_monitoring": "install",
    "ContextThread": "propagation",
    "map_with_context": "propagation",
    "submit_with_context": "propagation",
    "with_correlation": "propagation",
    "worker_initializer": "propagation",
    "ActivityEntry": "query",
    "query_activity": "query",
    "trace": "query",
    "record_error": "recorders",
    "record_performance": "recorders",
    "record_trading_event": "recorders",
    "record_user_action": "recorders",
    "register_secret": "redaction",
    "prune_logs": "retention",
    "timed": "timing",
}

__all__ = [
    "ActivityEntry",
    "Alert",
    "AlertThresholds",
    "ContextThread",
    "MonitoringHandle",
    "correlation_scope",
    "current_correlation_id",
    "current_monitoring",
    "evaluate_alerts",
    "install_monitoring",
    "map_with_context",
    "new_correlation_id",
    "prune_logs",
    "query_activity",
    "record_error",
    "record_performance",
    "record_trading_event",
    "record_user_action",
    "register_secret",
    "submit_with_context",
    "timed",
    "trace",
    "with_correlation",
    "worker_initializer",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'workstation.monitoring' has no attribute {name!r}")
    return getattr(importlib.import_module(f"workstation.monitoring.{module}"), name)
