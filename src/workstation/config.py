"""Settings that decide where the workstation keeps its data.

The database URL comes from, in order: the ``--database-url`` option, the environment variable
``WORKSTATION_DATABASE_URL``, else the embedded default, a SQLite file in the user data directory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from workstation.errors import ConfigurationError
from workstation.paths import user_data_dir

DATABASE_URL_ENV = "WORKSTATION_DATABASE_URL"
DEFAULT_DATABASE_FILE = "workstation.db"

_SUPPORTED_BACKENDS = ("sqlite", "postgresql")


def default_database_url() -> str:
    return f"sqlite:///{user_data_dir() / DEFAULT_DATABASE_FILE}"


def normalize_database_url(raw: str) -> URL:
    """Parse a URL, insist on a supported backend, and pin PostgreSQL to the psycopg 3 driver."""
    text = raw.strip()
    if not text:
        raise ConfigurationError("the database URL is empty")
    try:
        url = make_url(text)
    except ArgumentError:
        raise ConfigurationError(
            f"malformed database URL {mask_url_text(text)!r}: expected sqlite:///PATH or "
            "postgresql://USER@HOST:PORT/DBNAME"
        ) from None
    backend = url.get_backend_name()
    if backend == "postgres":
        backend = "postgresql"
    if backend not in _SUPPORTED_BACKENDS:
        raise ConfigurationError(
            f"unsupported database backend {backend!r} in {mask_url(url)}: use sqlite or postgresql"
        )
    if backend == "postgresql":
        if url.get_driver_name() not in ("psycopg", "postgresql", "postgres"):
            raise ConfigurationError(
                f"PostgreSQL is used through psycopg 3: write postgresql+psycopg://…, not {mask_url(url)}"
            )
        url = url.set(drivername="postgresql+psycopg")
        if not url.database:
            raise ConfigurationError(f"the PostgreSQL URL {mask_url(url)} names no database")
    elif url.database and url.database != ":memory:":
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    return url


def mask_url(url: URL) -> str:
    """The URL as text with its password hidden, for logs, errors and ``db status``."""
    return url.render_as_string(hide_password=True)


def mask_url_text(text: str) -> str:
    """Best-effort password masking for text that may not even parse as a URL."""
    scheme, sep, rest = text.partition("://")
    if not sep or "@" not in rest:
        return text
    credentials, _, host = rest.rpartition("@")
    user, has_password, _ = credentials.partition(":")
    return f"{scheme}://{user}{':***' if has_password else ''}@{host}"


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: URL

    @property
    def backend(self) -> str:
        return "postgresql" if self.database_url.get_backend_name() == "postgresql" else "sqlite"


def load_settings(database_url: str | None = None) -> Settings:
    raw = database_url or os.environ.get(DATABASE_URL_ENV) or default_database_url()
    return Settings(database_url=normalize_database_url(raw))
