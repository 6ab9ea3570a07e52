"""Fixtures for the ML tests."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from ml.helpers import insert_features, synthetic_bars


@pytest.fixture
def two_synthetic_symbols(engine: Engine) -> Engine:
    insert_features(engine, "AAA", synthetic_bars(400, 1))
    insert_features(engine, "BBB", synthetic_bars(400, 2))
    return engine
