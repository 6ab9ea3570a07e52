"""Reading feature rows for training and prediction.

The reader reflects feature_engineered_data at run time: every numeric column that is not an
identifier, a timestamp or a raw price/volume level is a feature, so the full feature catalog is used
as soon as its migration lands. (When ``workstation.features.store.load_features`` is available this
module can delegate the per-symbol history reads to it; the one-query "latest rows" read below stays,
because predicting for a thousand symbols must not issue a thousand queries.)

Raw OHLCV is read alongside for the labels but is not a default feature: price levels differ by
orders of magnitude between symbols and drift over time, so they would teach a model the symbol and
the era rather than the setup.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, datetime
from threading import Lock
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, MetaData, Table, bindparam, select, text
from sqlalchemy.sql import sqltypes

from workstation.errors import ConfigurationError
from workstation.ml.errors import InsufficientDataError

TABLE = "feature_engineered_data"
KEY_COLUMNS = ("symbol", "interval", "timestamp", "source")
NON_FEATURE_COLUMNS = frozenset({"id", *KEY_COLUMNS, "feature_version", "created_at", "updated_at"})
RAW_COLUMNS = ("open", "high", "low", "close", "volume")
DEFAULT_FEATURE_VERSION = "3.0"

_table_cache: dict[str, Table] = {}
_cache_lock = Lock()


def feature_table(engine: Engine, *, refresh: bool = False) -> Table:
    """The reflected table (cached per database URL; ``refresh`` after a migration)."""
    key = engine.url.render_as_string(hide_password=True)
    with _cache_lock:
        if refresh or key not in _table_cache:
            _table_cache[key] = Table(TABLE, MetaData(), autoload_with=engine)
        return _table_cache[key]


def _table_with(engine: Engine, names: Sequence[str]) -> Table:
    """The reflected table, reflected again when a column is unknown (a migration ran since)."""
    table = feature_table(engine)
    if any(name not in table.columns for name in names):
        table = feature_table(engine, refresh=True)
    return table


def _is_numeric(column_type: sqltypes.TypeEngine[object]) -> bool:
    return isinstance(column_type, sqltypes.Numeric | sqltypes.Integer | sqltypes.Float | sqltypes.Boolean)


def available_features(engine: Engine) -> list[str]:
    """Numeric feature columns of the table in table order, raw OHLCV excluded."""
    table = feature_table(engine, refresh=True)
    return [
        c.name
        for c in table.columns
        if c.name not in NON_FEATURE_COLUMNS and c.name not in RAW_COLUMNS and _is_numeric(c.type)
    ]


def resolve_features(engine: Engine, requested: Sequence[str] | None) -> list[str]:
    columns = available_features(engine)
    if not requested:
        if not columns:
            raise ConfigurationError(f"{TABLE} has no feature columns")
        return columns
    table = _table_with(engine, requested)
    unknown = [name for name in requested if name not in table.columns]
    if unknown:
        raise ConfigurationError(f"unknown feature column(s): {', '.join(unknown)}")
    return list(dict.fromkeys(requested))


def _prefer_one_source(frame: pd.DataFrame) -> pd.DataFrame:
    """Per symbol, keep the source with the most rows (never a mix of two vendors' features)."""
    if frame.empty or frame.groupby("symbol")["source"].nunique().max() <= 1:
        return frame
    counts = frame.groupby(["symbol", "source"]).size().reset_index(name="n")
    best = counts.sort_values(["symbol", "n", "source"], ascending=[True, False, True]).drop_duplicates("symbol")
    keep = frame.set_index(["symbol", "source"]).index.isin(best.set_index(["symbol", "source"]).index)
    return frame[keep]


def _to_frame(rows: Sequence[Sequence[object]], columns: Sequence[str]) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows), columns=list(columns))
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    for name in columns:
        if name not in ("symbol", "timestamp", "source"):
            frame[name] = pd.to_numeric(frame[name], errors="coerce").astype(np.float64)
    return frame


def load_history(
    engine: Engine,
    symbols: Sequence[str],
    interval: str,
    features: Sequence[str],
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    feature_version: str = DEFAULT_FEATURE_VERSION,
) -> pd.DataFrame:
    """Long frame (symbol, timestamp, source, OHLCV, features) sorted by symbol then timestamp."""
    wanted = list(dict.fromkeys(["symbol", "timestamp", "source", *RAW_COLUMNS, *features]))
    table = _table_with(engine, wanted)
    if engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg":
        frame = _copy_history(engine, wanted, symbols, interval, feature_version, start, end)
    else:
        query = select(*(table.c[name] for name in wanted)).where(
            table.c.symbol.in_(list(symbols)),
            table.c.interval == interval,
            table.c.feature_version == feature_version,
        )
        if start is not None:
            query = query.where(table.c.timestamp >= start)
        if end is not None:
            query = query.where(table.c.timestamp <= end)
        query = query.order_by(table.c.symbol, table.c.timestamp)
        with engine.connect() as conn:
            frame = _to_frame(conn.execute(query).all(), wanted)
    frame = _prefer_one_source(frame)
    missing = sorted(set(symbols) - set(frame["symbol"].unique()))
    if missing:
        raise InsufficientDataError(
            f"no {interval} feature rows (feature_version {feature_version}) for: {', '.join(missing)}; "
            "compute features first"
        )
    return frame.reset_index(drop=True)


def _copy_history(
    engine: Engine,
    columns: Sequence[str],
    symbols: Sequence[str],
    interval: str,
    feature_version: str,
    start: datetime | None,
    end: datetime | None,
) -> pd.DataFrame:
    """PostgreSQL: stream the rows with COPY … TO STDOUT (CSV) and parse them in C with pandas, about 20x
    faster than building a Python object per value when training on millions of rows."""
    quoted = ", ".join(f'"{c}"' for c in columns)
    where = "symbol = ANY(%s) AND interval = %s AND feature_version = %s"
    params: list[object] = [list(symbols), interval, feature_version]
    if start is not None:
        where += " AND timestamp >= %s"
        params.append(start)
    if end is not None:
        where += " AND timestamp <= %s"
        params.append(end)
    statement = (
        f"COPY (SELECT {quoted} FROM {TABLE} WHERE {where} ORDER BY symbol, timestamp) TO STDOUT WITH (FORMAT csv)"
    )
    buffer = io.BytesIO()
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cursor, cursor.copy(statement, params) as copy:
            for chunk in copy:
                buffer.write(chunk)
    buffer.seek(0)
    text_columns = ("symbol", "source", "timestamp")
    numeric = [c for c in columns if c not in text_columns]
    dtypes: dict[str, Any] = dict.fromkeys(text_columns, str) | dict.fromkeys(numeric, np.float64)
    # keep_default_na=False: a ticker like "NA" stays a ticker; only empty fields (NULL) become NaN.
    frame = pd.read_csv(
        buffer, names=list(columns), header=None, dtype=dtypes, keep_default_na=False,
        na_values={c: [""] for c in numeric},
    )  # fmt: skip
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True, format="ISO8601")
    return frame


def _latest_sql(dialect: str, columns: Sequence[str], with_end: bool) -> str:
    quoted = ", ".join(f'f."{c}"' for c in columns)
    scope = "{symbol} AND feature_version = :version AND interval = :interval"
    if with_end:
        scope += " AND timestamp <= :end_ts"
    if dialect == "postgresql":
        # Per symbol: the n-th newest distinct bar time via a backward index scan on (symbol, feature_version,
        # timestamp) that stops after n entries, then the rows from there on. No per-symbol sort, so the
        # cost does not grow with the length of the history.
        inner = scope.format(symbol="symbol = s.symbol")
        return (
            f"SELECT {quoted} FROM unnest(CAST(:symbols AS text[])) AS s(symbol) CROSS JOIN LATERAL ("
            f"SELECT * FROM {TABLE} WHERE {inner} AND timestamp >= (SELECT min(x.ts) FROM ("
            f"SELECT DISTINCT timestamp AS ts FROM {TABLE} WHERE {inner} ORDER BY timestamp DESC LIMIT :n) AS x)"
            ") AS f"
        )
    return (
        f"SELECT {quoted} FROM (SELECT *, DENSE_RANK() OVER (PARTITION BY symbol ORDER BY timestamp DESC) "
        f"AS rn FROM {TABLE} WHERE {scope.format(symbol='symbol IN :symbols')}"
        ") AS f WHERE f.rn <= :n"
    )


def load_latest(
    engine: Engine,
    symbols: Sequence[str],
    interval: str,
    features: Sequence[str],
    *,
    rows_per_symbol: int = 1,
    end: datetime | None = None,
    feature_version: str = DEFAULT_FEATURE_VERSION,
) -> pd.DataFrame:
    """The latest ``rows_per_symbol`` rows of every symbol (at or before ``end``) in ONE query,
    sorted by symbol then timestamp. When one bar has rows from several sources, the first source
    by name wins."""
    columns = list(dict.fromkeys(["symbol", "timestamp", "source", "close", *features]))
    dialect = engine.dialect.name
    statement = text(_latest_sql(dialect, columns, end is not None))
    params: dict[str, object] = {"version": feature_version, "interval": interval, "n": rows_per_symbol}
    if end is not None:
        params["end_ts"] = _bind_time(dialect, end)
    if dialect == "postgresql":
        params["symbols"] = list(symbols)
    else:
        statement = statement.bindparams(bindparam("symbols", expanding=True))
        params["symbols"] = list(symbols)
    with engine.connect() as conn:
        rows = conn.execute(statement, params).all()
    frame = _to_frame(rows, columns)
    # Several sources per bar: keep one row per (symbol, timestamp), then the newest n per symbol.
    frame = frame.sort_values(["symbol", "timestamp", "source"]).drop_duplicates(["symbol", "timestamp"])
    frame = frame.groupby("symbol", sort=True).tail(rows_per_symbol)
    return frame.reset_index(drop=True)


def _bind_time(dialect: str, value: datetime) -> object:
    if value.tzinfo is None:
        raise ConfigurationError(f"naive datetime {value!r}: give a time zone")
    if dialect == "sqlite":
        # SQLite stores naive UTC text as 'YYYY-MM-DD HH:MM:SS.ffffff'; compare in the same form.
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value
