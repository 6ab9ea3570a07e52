"""feature_build_state: what each (symbol, interval, feature version) was built from, and the build plan.

One row per built series (migration 0006_features_speed): the bar source, the last bar built
(``built_through``), the number of bars up to it and a checksum of their OHLCV as they were when the
features were computed, plus the stored row counts the dashboard summary needs. The builder writes it
in the same transaction as the feature rows, so it always describes them exactly.

Planning is one grouped query over market_data (narrow, covered by ix_market_data_chart) joined to
this table: for every symbol it yields the bar count and checksum up to ``built_through`` and the first
newer bar. Equal count and checksum mean the built range is unchanged, so only the tail is computed;
a difference (a revised, deleted or back-filled bar) sends the symbol to the exact per-bar comparison
in ``changes``, which finds the first changed bar. No fingerprint (rows built before the table
existed) also means the exact comparison.

The checksum is exact on PostgreSQL: the sum, as NUMERIC, of a 64-bit hash of each bar's text
(time, OHLCV), so any change to any bar changes it (short of a 2^-64 hash coincidence). SQLite has
no hash function; there it is a floating sum of time-weighted prices and volume, which detects every
single-bar change but could in principle miss two changes that cancel exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Double, MetaData, Numeric, String, Table, bindparam, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from workstation.db.types import UTCDateTime

_metadata = MetaData()
build_state = Table(
    "feature_build_state",
    _metadata,
    Column("symbol", String(32), primary_key=True),
    Column("interval", String(8), primary_key=True),
    Column("feature_version", String(16), primary_key=True),
    Column("source", String(32), nullable=False),
    Column("built_through", UTCDateTime(), nullable=False),
    Column("bar_count", BigInteger),
    # Exact NUMERIC on PostgreSQL (a sum of 64-bit hashes), a float on SQLite: compared for equality only.
    Column("bar_checksum", Numeric(asdecimal=True).with_variant(Double(), "sqlite")),
    Column("total_records", BigInteger, nullable=False),
    Column("rsi_records", BigInteger, nullable=False),
    Column("ma_records", BigInteger, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

# Per-bar checksum terms (see the module docstring).
_PG_TERM = (
    "hashtextextended(concat_ws(',', extract(epoch FROM m.timestamp), m.open, m.high, m.low, m.close, m.volume), 0)"
    "::numeric"
)
_SQLITE_TERM = (
    "(m.open * 3 + m.high * 5 + m.low * 7 + m.close * 11 + m.volume * 0.001)"
    " * (1 + (CAST(strftime('%s', m.timestamp) AS INTEGER) / 60) % 1009)"
)


@dataclass(frozen=True)
class SeriesState:
    """A feature_build_state row."""

    source: str
    built_through: datetime
    bar_count: int | None
    bar_checksum: Any
    total_records: int
    rsi_records: int
    ma_records: int


@dataclass(frozen=True)
class SymbolPlan:
    """What one symbol's build must do, decided in the caller's process; picklable for the workers.

    mode: ``full`` (everything), ``tail`` (bars from ``since`` on; the built range is unchanged),
    ``check`` (the fingerprint differs or is unknown: compare bar by bar to find where to start) or
    ``up_to_date``. ``through``/``bar_count``/``checksum`` describe market_data at planning time:
    the build reads bars up to ``through`` only, so the new state matches what was computed.
    """

    symbol: str
    source: str
    mode: str
    through: datetime
    bar_count: int
    checksum: Any
    since: datetime | None = None
    previous: SeriesState | None = None


def _utc(value: Any) -> Any:
    if isinstance(value, str):  # aggregates lose the column type on SQLite
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def load_states(conn: Connection, interval: str, version: str) -> dict[str, SeriesState]:
    s = build_state.c
    query = select(
        s.symbol, s.source, s.built_through, s.bar_count, s.bar_checksum, s.total_records, s.rsi_records,
        s.ma_records,
    ).where(s.interval == interval, s.feature_version == version)  # fmt: skip
    return {row[0]: SeriesState(*row[1:]) for row in conn.execute(query)}


def plan_builds(
    conn: Connection, interval: str, version: str, symbols: list[str] | None, full: bool
) -> dict[str, SymbolPlan]:
    """symbol -> plan, for every symbol with bars at ``interval`` (restricted to ``symbols`` when given).

    The source used is the one with most bars (ties: alphabetical), as ``load_bars`` picks it.
    """
    term = _PG_TERM if conn.dialect.name == "postgresql" else _SQLITE_TERM
    built = "s.built_through IS NOT NULL AND m.timestamp <= s.built_through"
    where = "m.interval = :interval" + (" AND m.symbol IN :symbols" if symbols is not None else "")
    query = text(
        f"""SELECT m.symbol, m.source, count(*), max(m.timestamp), sum({term}),
                   sum(CASE WHEN {built} THEN 1 ELSE 0 END),
                   sum(CASE WHEN {built} THEN {term} END),
                   min(CASE WHEN NOT ({built}) THEN m.timestamp END)
              FROM market_data m
              LEFT JOIN feature_build_state s
                ON s.symbol = m.symbol AND s.interval = m.interval AND s.source = m.source
               AND s.feature_version = :version
             WHERE {where}
             GROUP BY m.symbol, m.source"""
    )
    params: dict[str, Any] = {"interval": interval, "version": version}
    if symbols is not None:
        query = query.bindparams(bindparam("symbols", expanding=True))
        params["symbols"] = symbols
    if conn.dialect.name == "postgresql":
        # JIT compilation costs more than it saves on this two-million-row aggregate.
        conn.exec_driver_sql("SET LOCAL jit = off")
    groups: dict[str, tuple[Any, ...]] = {}
    for row in conn.execute(query, params):
        current = groups.get(row[0])
        if current is None or (-row[2], row[1]) < (-current[2], current[1]):
            groups[row[0]] = tuple(row)
    states = {} if full else load_states(conn, interval, version)
    plans: dict[str, SymbolPlan] = {}
    for symbol, (_s, source, count, last, checksum, built_count, built_checksum, first_new) in groups.items():
        state = states.get(symbol)
        base = {"symbol": symbol, "source": source, "through": _utc(last), "bar_count": int(count)}
        base["checksum"] = checksum
        if state is None or state.source != source:
            plans[symbol] = SymbolPlan(**base, mode="full", previous=state)
        elif state.bar_checksum is None or state.bar_count != built_count or state.bar_checksum != built_checksum:
            plans[symbol] = SymbolPlan(**base, mode="check", previous=state)
        elif first_new is None:
            plans[symbol] = SymbolPlan(**base, mode="up_to_date", previous=state)
        else:
            plans[symbol] = SymbolPlan(**base, mode="tail", since=_utc(first_new), previous=state)
    return plans


def save_states(conn: Connection, interval: str, version: str, rows: list[dict[str, Any]]) -> None:
    """Insert or replace state rows (keys: symbol, source, built_through, bar_count, bar_checksum, counts)."""
    if not rows:
        return
    now = datetime.now(UTC)
    values = [{**row, "interval": interval, "feature_version": version, "updated_at": now} for row in rows]
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    statement = insert(build_state)
    keys = ("symbol", "interval", "feature_version")
    statement = statement.on_conflict_do_update(
        index_elements=list(keys),
        set_={c.name: statement.excluded[c.name] for c in build_state.columns if c.name not in keys},
    )
    conn.execute(statement, values)


def delete_states(conn: Connection, interval: str, version: str, symbols: list[str]) -> None:
    s = build_state.c
    conn.execute(
        build_state.delete().where(s.interval == interval, s.feature_version == version, s.symbol.in_(symbols))
    )
