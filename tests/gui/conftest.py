"""GUI test helpers: a database filled with synthetic bars, and a window on it (pytest-qt, offscreen)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest
from sqlalchemy import Engine, insert
from sqlalchemy.engine import make_url

from workstation.db.engine import create_db_engine
from workstation.db.models import MarketData, StockInfo
from workstation.db.partitions import BAR_TABLES, ensure_partitions_for

pytestmark = pytest.mark.gui


@pytest.fixture(autouse=True)
def _live_data_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows stream no live data unless a test asks for it (tests/gui/test_live_window.py does)."""
    monkeypatch.setenv("WORKSTATION_LIVE", "off")


SYMBOLS = {
    "AAPL": ("Apple Inc.", "Technology"),
    "MSFT": ("Microsoft Corporation", "Technology"),
    "XOM": ("Exxon Mobil Corporation", "Energy"),
}


def synthetic_rows(symbol: str, bars: int, seed: int) -> list[dict[str, object]]:
    """Business-day bars of a random walk (weekends skipped, as on an exchange)."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0, 0.015, bars)))
    rows = []
    day = datetime(2023, 1, 2, 21, 0, tzinfo=UTC)
    previous = close[0]
    for i in range(bars):
        while day.weekday() >= 5:
            day += timedelta(days=1)
        c = float(close[i])
        o = float(previous)
        h = max(o, c) * (1 + abs(float(rng.normal(0, 0.005))))
        low = min(o, c) * (1 - abs(float(rng.normal(0, 0.005))))
        rows.append(
            {
                "symbol": symbol,
                "interval": "1d",
                "timestamp": day,
                "open": Decimal(f"{o:.4f}"),
                "high": Decimal(f"{h:.4f}"),
                "low": Decimal(f"{low:.4f}"),
                "close": Decimal(f"{c:.4f}"),
                "volume": int(rng.integers(1_000_000, 5_000_000)),
                "source": "test",
            }
        )
        previous = c
        day += timedelta(days=1)
    return rows


def populate(engine: Engine, bars: int = 300) -> None:
    rows = {symbol: synthetic_rows(symbol, bars, seed) for seed, symbol in enumerate(SYMBOLS)}
    stamps = [row["timestamp"] for symbol_rows in rows.values() for row in symbol_rows]
    # PostgreSQL: bars and features are partitioned; tests add feature rows for these bars directly too.
    ensure_partitions_for(engine, BAR_TABLES, stamps)
    with engine.begin() as conn:
        for symbol, (name, sector) in SYMBOLS.items():
            conn.execute(insert(StockInfo).values(symbol=symbol, company_name=name, sector=sector, exchange="NASDAQ"))
        for symbol in SYMBOLS:
            conn.execute(insert(MarketData), rows[symbol])


@pytest.fixture
def filled_engine(engine: Engine) -> Engine:
    populate(engine)
    return engine


@pytest.fixture
def sqlite_url(tmp_path: object, _sqlite_template: object) -> Iterator[str]:
    """A migrated SQLite database only (window tests: the GUI logic does not differ per backend)."""
    import shutil
    from pathlib import Path

    path = Path(str(tmp_path)) / "gui.db"
    shutil.copyfile(str(_sqlite_template), path)
    return f"sqlite:///{path}"


@pytest.fixture
def filled_url(sqlite_url: str) -> str:
    """A migrated SQLite database with three symbols of 300 synthetic daily bars."""
    engine = create_db_engine(sqlite_url)
    populate(engine)
    engine.dispose()
    return sqlite_url


@pytest.fixture
def window_factory(qtbot: object, sqlite_url: str) -> Iterator[object]:
    """Builds main windows on ``sqlite_url``; every window is closed (and its jobs stopped) afterwards."""
    from workstation.gui.app import build_window

    windows = []

    def make(url: str | None = None) -> object:
        window, _reporter = build_window(make_url(url or sqlite_url))
        qtbot.addWidget(window)  # type: ignore[attr-defined]
        window.show()
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.context.jobs.shutdown(5000)
        window.context.engine.dispose()
