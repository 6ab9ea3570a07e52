"""The database goes away mid-run: rows wait in the spill file and are replayed in order, exactly once."""

from __future__ import annotations

import json
import logging
import shutil
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from monitoring_helpers import Install, count, messages
from monitoring_proxy import TcpProxy
from sqlalchemy import Engine, event, text
from sqlalchemy.engine import make_url

from workstation.db.engine import create_db_engine
from workstation.monitoring.rows import encode_spill


def _wait_until(predicate: object, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


@contextmanager
def _sqlite_outage(engine: Engine) -> Iterator[None]:
    """New connections fail as if the file had vanished; pooled ones are dropped."""

    def refuse(*_args: object) -> None:
        raise sqlite3.OperationalError("unable to open database file")

    event.listen(engine, "do_connect", refuse)
    engine.dispose()
    try:
        yield
    finally:
        event.remove(engine, "do_connect", refuse)


def _produce(log: logging.Logger, start: int, stop: int) -> None:
    for i in range(start, stop):
        log.info("row %05d", i)


def _assert_exactly_once_in_order(engine: Engine, total: int) -> None:
    got = messages(engine)
    assert len(got) == total, f"{len(got)} rows, expected {total}"
    assert got == [f"row {i:05d}" for i in range(total)]


@pytest.fixture
def sqlite_db_url(tmp_path: Path, _sqlite_template: Path) -> str:
    """SQLite only: the PostgreSQL outage is simulated with a proxy further down."""
    path = tmp_path / "outage.db"
    shutil.copyfile(_sqlite_template, path)
    return f"sqlite:///{path}"


def test_sqlite_outage_loses_nothing_and_replays_once(
    sqlite_db_url: str, install: Install, log: logging.Logger
) -> None:
    db_url = sqlite_db_url
    engine = create_db_engine(db_url)
    handle = install(engine)
    _produce(log, 0, 500)
    assert handle.flush()
    with _sqlite_outage(engine):
        _produce(log, 500, 1500)
        assert handle.flush()
        assert handle.in_outage
        assert handle.stats()["spilled"] >= 1000
        assert list(handle.spill_directory.glob("*.jsonl"))
    _produce(log, 1500, 2000)
    assert _wait_until(lambda: handle.flush() and not handle.in_outage)
    handle.flush()
    _assert_exactly_once_in_order(engine, 2000)
    assert not list(handle.spill_directory.glob("spill-*.jsonl"))  # replayed files are removed
    engine.dispose()


@pytest.mark.slow
def test_postgresql_server_gone_mid_run(pg_engine: Engine, install: Install, log: logging.Logger) -> None:
    """The writer talks to PostgreSQL through a proxy that we cut for a while (a dead port)."""
    url = make_url(str(pg_engine.url.render_as_string(hide_password=False)))
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    proxy.start()
    engine = create_db_engine(url.set(port=proxy.port))
    handle = install(engine)
    try:
        _produce(log, 0, 1000)
        assert handle.flush()
        proxy.stop()  # connections cut, port refuses
        _produce(log, 1000, 3000)
        assert handle.flush()
        assert handle.in_outage
        proxy.start()  # same port again
        _produce(log, 3000, 4000)
        assert _wait_until(lambda: handle.flush() and not handle.in_outage)
        handle.flush()
        _assert_exactly_once_in_order(pg_engine, 4000)
        assert handle.stats()["replayed"] >= 2000
    finally:
        handle.shutdown()
        proxy.stop()
        engine.dispose()


def test_postgresql_backend_terminated(pg_engine: Engine, install: Install, log: logging.Logger) -> None:
    """pg_terminate_backend on the writer's connection: the next batch reconnects; nothing lost or doubled."""
    handle = install(pg_engine)
    database = pg_engine.url.database
    for round_ in range(3):
        _produce(log, round_ * 300, round_ * 300 + 300)
        assert handle.flush()
        with pg_engine.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = :db AND pid <> pg_backend_pid()"
                ),
                {"db": database},
            )
            conn.commit()
    _produce(log, 900, 1000)
    assert _wait_until(lambda: handle.flush() and not handle.in_outage)
    _assert_exactly_once_in_order(pg_engine, 1000)


def test_spill_left_by_a_dead_process_is_replayed_by_the_next(engine: Engine, install: Install, tmp_path: Path) -> None:
    spill = tmp_path / "spill"
    spill.mkdir()
    # A process that no longer exists left five rows, of which two were already replayed.
    orphan = spill / f"spill-999999999-1-{time.time_ns()}.jsonl"
    rows = [
        encode_spill(
            "system_logs",
            {"timestamp": f"2024-01-02T03:04:0{i}+00:00", "level": "INFO", "message": f"orphan {i}", "metadata": None},
        )
        for i in range(5)
    ]
    orphan.write_text("\n".join(rows) + "\n")
    first_two = sum(len(r) + 1 for r in rows[:2])
    orphan.with_suffix(".offset").write_text(str(first_two))
    handle = install(engine, spill_dir=spill)
    assert _wait_until(lambda: handle.flush() and count(engine, "system_logs") >= 3)
    assert messages(engine) == ["orphan 2", "orphan 3", "orphan 4"]
    assert not list(spill.glob("*.jsonl"))
    assert json.loads(rows[0])["r"]["message"] == "orphan 0"
