"""Throw-away databases for the chaos harness, one per worker, reset to the same seed state before
every scenario (so a scenario replays from its seed alone).

SQLite: a migrated, seeded template file copied per scenario. PostgreSQL: one database per worker
(unique name, dropped at the end) whose tables are truncated and re-seeded per scenario — faster than
a CREATE DATABASE per scenario on a shared server.
"""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from workstation.db.engine import create_db_engine
from workstation.db.market import MarketData, StockInfo
from workstation.db.migrate import upgrade
from workstation.db.partitions import PARTITIONED_TABLES, ensure_partitions_for
from workstation.db.trading import Model, Prediction

SYMBOLS = ("AAA", "BBB")
T0 = datetime(2024, 1, 2, 21, 0, tzinfo=UTC)
SEED_BARS = 30
PRICE = Decimal(100)
# Every table a scenario writes (emptied between scenarios on PostgreSQL; the seed rows of market_data
# and predictions are kept, and what the scenario's feed added is deleted).
DYNAMIC_TABLES = (
    "fills", "orders", "trading_events", "system_logs", "performance_logs", "error_logs", "user_action_logs",
    "paper_accounts",
)  # fmt: skip


def seed(engine: Engine) -> None:
    """Bars for the symbols (the paper broker's prices), a model with a prediction (trade run's signals)."""
    # PostgreSQL's ranges for the seed bars and the scenario's events, created before the write transaction.
    ensure_partitions_for(engine, PARTITIONED_TABLES, [T0, T0 + timedelta(days=SEED_BARS), datetime.now(UTC)])
    with Session(engine) as session, session.begin():
        for symbol in SYMBOLS:
            session.add(StockInfo(symbol=symbol, source="chaos"))
        session.flush()
        for symbol in SYMBOLS:
            for day in range(SEED_BARS):
                session.add(
                    MarketData(symbol=symbol, interval="1d", timestamp=T0 + timedelta(days=day), open=PRICE,
                               high=PRICE, low=PRICE, close=PRICE, volume=1_000_000, source="chaos")
                )  # fmt: skip
        session.add(Model(model_id="m1", name="chaos model", version="1", model_type="test"))
        session.flush()
        session.add(
            Prediction(prediction_id="seed", model_id="m1", symbol="AAA", timestamp=T0 + timedelta(days=SEED_BARS - 1),
                       prediction_type="direction", prediction_value=Decimal(1), confidence=Decimal("0.9"))
        )  # fmt: skip


class ScenarioDatabases:
    """The worker's database(s): ``fresh(folder)`` returns the URL of a database in the seed state."""

    def __init__(self, backend: str, workdir: Path, admin_url: str | None) -> None:
        self.backend = backend
        self.workdir = workdir
        self.name: str | None = None
        self.admin: Engine | None = None
        self.url = ""
        if backend == "sqlite":
            self.template = workdir / "template.db"
            engine = create_db_engine(f"sqlite:///{self.template}")
            upgrade(engine)
            seed(engine)
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            engine.dispose()
            return
        assert admin_url is not None
        base = make_url(admin_url).set(drivername="postgresql+psycopg")
        self.admin = create_engine(base, isolation_level="AUTOCOMMIT", pool_size=1)
        self.name = f"wst_chaos_{os.getpid()}_{id(self) % 100_000}"
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        self.url = base.set(database=self.name).render_as_string(hide_password=False)
        engine = create_db_engine(self.url)
        upgrade(engine)
        seed(engine)
        engine.dispose()

    def fresh(self, folder: Path) -> str:
        if self.backend == "sqlite":
            path = folder / "workstation.db"
            shutil.copyfile(self.template, path)
            return f"sqlite:///{path}"
        engine = create_db_engine(self.url)
        with engine.begin() as conn:
            # Anything a killed process left connected is gone with it; stragglers are terminated.
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :db AND pid <> pg_backend_pid()"
                ),
                {"db": self.name},
            )
        with engine.begin() as conn:
            # DELETE, not TRUNCATE: these tables hold a few hundred rows, and a TRUNCATE rewrites files.
            for table in DYNAMIC_TABLES:
                conn.execute(text(f"DELETE FROM {table}"))
            conn.execute(text("DELETE FROM predictions WHERE prediction_id <> 'seed'"))
            conn.execute(
                text("DELETE FROM market_data WHERE timestamp > :last"), {"last": T0 + timedelta(days=SEED_BARS - 1)}
            )
        engine.dispose()
        return self.url

    def close(self) -> None:
        if self.admin is not None and self.name is not None:
            with self.admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
            self.admin.dispose()
