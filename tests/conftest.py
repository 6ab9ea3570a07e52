"""Shared fixtures: databases on both backends, the shared data folder, an isolated user data dir.

Database tests take the ``db_url`` (or ``engine``) fixture and run once on SQLite and once on
PostgreSQL. PostgreSQL comes from WORKSTATION_TEST_DATABASE_URL; each test gets its own database,
cloned from a template migrated once per session. With the variable unset the PostgreSQL half
skips, unless WORKSTATION_REQUIRE_POSTGRES=1, when it fails.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

# Qt tests run without a screen; set before anything imports Qt.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from workstation.db.engine import create_db_engine
from workstation.db.migrate import upgrade


def _shared_folder() -> Path:
    """``../shared`` next to the checkout, or next to a folder holding it (a git worktree lives deeper);
    WORKSTATION_SHARED_DIR points elsewhere."""
    if os.environ.get("WORKSTATION_SHARED_DIR"):
        return Path(os.environ["WORKSTATION_SHARED_DIR"])
    for folder in Path(__file__).resolve().parents[1].parents:
        if (folder / "shared").is_dir():
            return folder / "shared"
    return Path(__file__).resolve().parents[1].parent / "shared"


SHARED = _shared_folder()
SHARED_DATA = SHARED / "data"
SHARED_FIXTURES = SHARED / "alpaca-fixtures"
BACKENDS = ("sqlite", "postgresql")

_counter = itertools.count()


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads or writes the real user data dir, the user's database or real Alpaca keys."""
    monkeypatch.setenv("WORKSTATION_DATA_DIR", str(tmp_path_factory.mktemp("userdata")))
    for name in ("WORKSTATION_DATABASE_URL", "APCA_API_KEY_ID", "APCA_API_SECRET_KEY", "APCA_API_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def workstation_command() -> list[str]:
    """The installed console script, what a user runs (``python -m workstation`` where there is none)."""
    script = Path(sys.executable).parent / "workstation"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "workstation"]


@pytest.fixture
def workstation_cli(workstation_command: list[str]) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the installed ``workstation`` in a real subprocess: ``workstation_cli(*args, env=…, input=…)``."""

    def run(
        *args: str, env: dict[str, str] | None = None, input: str | None = None, timeout: float = 240
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*workstation_command, *args],
            capture_output=True, text=True, env={**os.environ, **(env or {})}, input=input, timeout=timeout,
        )  # fmt: skip

    return run


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data with the real price files; tests using it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA


@pytest.fixture(scope="session")
def alpaca_fixtures() -> Path:
    if not SHARED_FIXTURES.is_dir():
        pytest.skip("../shared/alpaca-fixtures is not present")
    return SHARED_FIXTURES


def postgres_admin_url() -> str | None:
    url = os.environ.get("WORKSTATION_TEST_DATABASE_URL")
    if not url:
        if os.environ.get("WORKSTATION_REQUIRE_POSTGRES") == "1":
            pytest.fail("WORKSTATION_REQUIRE_POSTGRES=1 but WORKSTATION_TEST_DATABASE_URL is not set")
        pytest.skip("WORKSTATION_TEST_DATABASE_URL is not set")
    return url


class PostgresDatabases:
    """Creates throw-away databases on the test server (CREATE DATABASE … TEMPLATE is fast)."""

    def __init__(self, admin_url: str) -> None:
        url = make_url(admin_url).set(drivername="postgresql+psycopg")
        self.base_url = url
        self.admin = create_engine(url, isolation_level="AUTOCOMMIT", pool_size=1)
        self.prefix = f"wst_{os.getpid()}"
        self.template: str | None = None

    def url_for(self, name: str) -> str:
        return self.base_url.set(database=name).render_as_string(hide_password=False)

    def create(self, template: str | None = None) -> str:
        name = f"{self.prefix}_{next(_counter)}"
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            clause = f' TEMPLATE "{template}"' if template else ""
            conn.execute(text(f'CREATE DATABASE "{name}"{clause}'))
        return name

    def drop(self, name: str) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def migrated_template(self) -> str:
        if self.template is None:
            name = self.create()
            engine = create_db_engine(self.url_for(name), poolclass=_null_pool())
            upgrade(engine)
            engine.dispose()
            self.template = name
        return self.template

    def close(self) -> None:
        if self.template:
            self.drop(self.template)
        self.admin.dispose()


def _null_pool() -> type:
    from sqlalchemy.pool import NullPool

    return NullPool


@pytest.fixture(scope="session")
def _postgres() -> Iterator[PostgresDatabases | None]:
    url = os.environ.get("WORKSTATION_TEST_DATABASE_URL")
    if not url:
        yield None
        return
    databases = PostgresDatabases(url)
    try:
        yield databases
    finally:
        databases.close()


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite_template") / "template.db"
    engine = create_db_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


def _fresh_database(
    backend: str, tmp_path: Path, postgres: PostgresDatabases | None, template: Path | None
) -> Iterator[str]:
    if backend == "sqlite":
        path = tmp_path / "workstation.db"
        if template is not None:
            shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
        return
    postgres_admin_url()  # skips or fails when PostgreSQL is not configured
    assert postgres is not None
    name = postgres.create(postgres.migrated_template() if template is not None else None)
    try:
        yield postgres.url_for(name)
    finally:
        postgres.drop(name)


@pytest.fixture(params=BACKENDS)
def db_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    _postgres: PostgresDatabases | None,
    _sqlite_template: Path,
) -> Iterator[str]:
    """URL of a fresh database at the newest schema, once per backend."""
    yield from _fresh_database(request.param, tmp_path, _postgres, _sqlite_template)


@pytest.fixture(params=BACKENDS)
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path, _postgres: PostgresDatabases | None) -> Iterator[str]:
    """URL of a fresh, empty database (no schema yet), once per backend."""
    yield from _fresh_database(request.param, tmp_path, _postgres, None)


@pytest.fixture
def pg_engine(tmp_path: Path, _postgres: PostgresDatabases | None, _sqlite_template: Path) -> Iterator[Engine]:
    """A fresh migrated PostgreSQL database only, for PostgreSQL-specific properties."""
    for url in _fresh_database("postgresql", tmp_path, _postgres, _sqlite_template):
        engine = create_db_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = create_db_engine(db_url)
    try:
        yield engine
    finally:
        engine.dispose()
