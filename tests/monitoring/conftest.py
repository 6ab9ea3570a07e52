"""Fixtures for the monitoring tests: installed monitoring with a fast writer and a private spill dir."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from monitoring_helpers import Install
from sqlalchemy import Engine

from workstation.monitoring.install import MonitoringHandle, current_monitoring, install_monitoring


@pytest.fixture
def install(tmp_path: Path) -> Iterator[Install]:
    """install_monitoring with test-friendly timings; everything installed is shut down afterwards."""
    handles: list[MonitoringHandle] = []

    def _install(engine: Engine, **kwargs: Any) -> MonitoringHandle:
        options: dict[str, Any] = {
            "component": "test",
            "flush_interval": 0.05,
            "retry_interval": 0.1,
            "spill_dir": tmp_path / "spill",
            "excepthooks": False,
            "logger": logging.getLogger("wstest"),
            "level": logging.DEBUG,
        }
        options.update(kwargs)
        handle = install_monitoring(engine, **options)
        handles.append(handle)
        return handle

    yield _install
    for handle in handles:
        handle.shutdown()
    active = current_monitoring()
    if active is not None:
        active.shutdown()


@pytest.fixture
def log() -> logging.Logger:
    return logging.getLogger("wstest.app")
