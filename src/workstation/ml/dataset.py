"""Reading feature rows for training and prediction, exactly as stored.

The reader reflects feature_engineered_data at run time: every numeric column that is not an
identifier, a timestamp or raw OHLCV is a feature column, so the full feature catalog is used as soon
as its migration lands; which of them a model is fed by default is decided in :mod:`workstation.ml.inputs`
(columns measured in price units are left out). The one-query "latest rows" read below exists because
predicting for a thousand symbols must not issue a thousand queries.

Values arrive bit for bit as stored on both databases (PostgreSQL: binary COPY, see
:mod:`workstation.ml.pgread`), so a bar's model input is the same whichever path read it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from threading import Lock
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sqlalchemy import Engine, MetaData, Table, bindparam, func, select, text
from sqlalchemy.sql import sqltypes

from workstation.errors import ConfigurationError
from workstation.ml.errors import InsufficientDataError
from workstation.ml.inputs import model_inputs
from workstation.ml.pgread import read_feature_rows

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


def resolve_features(
    engine: Engine, requested: Sequence[str] | None, *, include_price_levels: bool = False
) -> list[str]:
    """The columns asked for (checked), or by default every feature column that is not price-scaled."""
    if not requested:
        columns = model_inputs(available_features(engine), include_price_levels=include_price_levels)
        if not columns:
            raise ConfigurationError(f"{TABLE} has no feature columns")
        return columns
    table = _table_with(engine, requested)
    unknown = [name for name in requested if name not in table.columns]
    if unknown:
        raise ConfigurationError(f"unknown feature column(s): {', '.join(unknown)}")
    return list(dict.fromkeys(requested))


@dataclass(frozen=True)
class FeatureRows:
    """Feature rows sorted by symbol then timestamp, one source per symbol: the keys as a small frame
    (symbol, timestamp, source) and each numeric column as a float64 array read exactly as stored."""

    keys: pd.DataFrame
    columns: dict[str, NDArray[np.float64]]

    def __len__(self) -> int:
        return len(self.keys)

    def frame(self) -> pd.DataFrame:
        """Keys and columns as one frame (float64 copies)."""
        data = {name: np.asarray(values, dtype=np.float64) for name, values in self.columns.items()}
        return pd.concat([self.keys, pd.DataFrame(data, index=self.keys.index)], axis=1)


def _preferred_sources(counts: pd.DataFrame) -> dict[str, str]:
    """Per symbol, the source with the most rows (ties: the first by name) — never a mix of two vendors."""
    best = counts.sort_values(["symbol", "n", "source"], ascending=[True, False, True]).drop_duplicates("symbol")
    return dict(zip(best["symbol"].astype(str), best["source"].astype(str), strict=True))


def _scope(table: Table, symbols: Sequence[str], interval: str, version: str, start: datetime | None,
           end: datetime | None) -> list[Any]:  # fmt: skip
    clauses = [table.c.symbol.in_(list(symbols)), table.c.interval == interval, table.c.feature_version == version]
    if start is not None:
        clauses.append(table.c.timestamp >= start)
    if end is not None:
        clauses.append(table.c.timestamp <= end)
    return clauses


def read_rows(
    engine: Engine,
    symbols: Sequence[str],
    interval: str,
    columns: Sequence[str],
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    feature_version: str = DEFAULT_FEATURE_VERSION,
) -> FeatureRows:
    """The rows of ``symbols`` with ``columns`` (numeric), exactly as stored; missing symbols raise."""
    wanted = list(dict.fromkeys(columns))
    table = _table_with(engine, wanted)
    scope = _scope(table, symbols, interval, feature_version, start, end)
    counts_query = (
        select(table.c.symbol, table.c.source, func.count().label("n"))
        .where(*scope)
        .group_by(table.c.symbol, table.c.source)
    )
    with engine.connect() as conn:
        counts = pd.DataFrame(conn.execute(counts_query).all(), columns=["symbol", "source", "n"])
    sources = _preferred_sources(counts) if len(counts) else {}
    missing = sorted(set(symbols) - set(sources))
    if missing:
        raise InsufficientDataError(
            f"no {interval} feature rows (feature_version {feature_version}) for: {', '.join(missing)}; "
            "compute features first"
        )
    chosen = sorted(sources)
    if engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg":
        rows = _read_postgres(
            engine, chosen, [sources[s] for s in chosen], wanted, interval, feature_version, start, end
        )
    else:
        rows = _read_generic(engine, table, chosen, sources, wanted, scope)
    return rows


def _read_postgres(
    engine: Engine, symbols: list[str], sources: list[str], columns: list[str], interval: str, version: str,
    start: datetime | None, end: datetime | None,
) -> FeatureRows:  # fmt: skip
    where = "interval = %s AND feature_version = %s"
    params: list[object] = [interval, version]
    if start is not None:
        where += " AND timestamp >= %s"
        params.append(start)
    if end is not None:
        where += " AND timestamp <= %s"
        params.append(end)
    read = read_feature_rows(engine, TABLE, symbols, sources, columns, where, params)
    order = np.lexsort((read.timestamp_ns, read.symbol_index))
    ordered = bool(np.all(order == np.arange(len(order))))
    index = read.symbol_index if ordered else read.symbol_index[order]
    names, codes = np.asarray(symbols, dtype=object), np.asarray(sources, dtype=object)
    keys = pd.DataFrame(
        {
            "symbol": names[index],
            "timestamp": pd.to_datetime(read.timestamp_ns if ordered else read.timestamp_ns[order], utc=True),
            "source": codes[index],
        }
    )
    values = {n: (v if ordered else v[order]) for n, v in read.columns.items()}
    return FeatureRows(keys, values)


def _read_generic(
    engine: Engine, table: Table, symbols: list[str], sources: dict[str, str], columns: list[str], scope: list[Any]
) -> FeatureRows:
    query = select(table.c.symbol, table.c.timestamp, table.c.source, *(table.c[c] for c in columns)).where(*scope)
    query = query.order_by(table.c.symbol, table.c.timestamp, table.c.source)
    with engine.connect() as conn:
        result = conn.execute(query).all()
    symbol = np.asarray([r[0] for r in result], dtype=object)
    source = np.asarray([r[2] for r in result], dtype=object)
    keep = np.asarray([sources.get(str(a)) == b for a, b in zip(symbol, source, strict=True)], dtype=bool)
    stamps = pd.to_datetime([r[1] for r in result], utc=True)
    keys = pd.DataFrame({"symbol": symbol[keep], "timestamp": stamps[keep], "source": source[keep]})
    # numpy reads None (NULL) as NaN in a float64 array; SQLite hands back the stored doubles exactly.
    matrix = np.array([tuple(r[3:]) for r in result], dtype=np.float64).reshape(len(result), len(columns))[keep]
    values = {name: matrix[:, j] for j, name in enumerate(columns)}
    return FeatureRows(keys, values)


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
    wanted = list(dict.fromkeys([*RAW_COLUMNS, *features]))
    rows = read_rows(engine, symbols, interval, wanted, start=start, end=end, feature_version=feature_version)
    return rows.frame().reset_index(drop=True)


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
