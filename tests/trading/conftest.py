"""Fixtures of the trading tests: the Alpaca stand-in (with the environment pointing at it) and
compressed execution timings, so timeouts and backoffs take fractions of a second."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alpaca_standin import AlpacaStandIn
from helpers import FAST, FAST_ENV

from workstation.trading.execution.timings import TIMINGS_ENV, ExecutionTimings


@pytest.fixture
def fast_timings(monkeypatch: pytest.MonkeyPatch) -> ExecutionTimings:
    monkeypatch.setenv(TIMINGS_ENV, FAST_ENV)
    return FAST


@pytest.fixture
def standin(
    alpaca_fixtures: Path, monkeypatch: pytest.MonkeyPatch, fast_timings: ExecutionTimings
) -> Iterator[AlpacaStandIn]:
    server = AlpacaStandIn(alpaca_fixtures).start()
    server.hang_seconds = 3.0
    monkeypatch.setenv("APCA_API_KEY_ID", "test-key")
    monkeypatch.setenv("APCA_API_SECRET_KEY", "test-secret")
    monkeypatch.setenv("APCA_API_BASE_URL", server.base_url)
    monkeypatch.setenv("APCA_API_STREAM_URL", server.stream_url)
    yield server
    server.stop()
