"""Connection settings the workstation relies on, as the server sees them."""

from __future__ import annotations

from sqlalchemy import Engine, text

from workstation.db.engine import create_db_engine


def test_postgresql_sessions_run_without_jit(pg_engine: Engine) -> None:
    # A per-symbol lateral query over 1,000 symbols spent 1.46 s compiling for 26 ms of execution.
    engine = create_db_engine(pg_engine.url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SHOW jit")).scalar_one() == "off"
            assert conn.execute(text("SHOW application_name")).scalar_one() == "workstation"
    finally:
        engine.dispose()
