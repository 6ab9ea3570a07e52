"""Helpers shared by the monitoring tests (imported by module name: pytest puts this folder on sys.path)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, text

from workstation.monitoring.install import MonitoringHandle

TABLES = ("system_logs", "trading_events", "performance_logs", "error_logs", "user_action_logs")

Install = Callable[..., MonitoringHandle]


def count(engine: Engine, table: str, where: str = "1=1", **params: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table} WHERE {where}"), params).scalar_one())


def messages(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(text("SELECT message FROM system_logs ORDER BY id"))]
