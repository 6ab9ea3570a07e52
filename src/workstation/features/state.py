"""feature_build_state: what each (symbol, interval, feature version) was built from, and the build plan.

One row per built series (migration 0006_features_speed): the bar source, the last bar built
(``built_through``), the number of bars up to it and a checksum of their OHLCV as they were when the
features were computed, plus the stored row counts the dashboard summary needs. The builder writes it
in the same transaction as the feature rows, so it always describes them exactly.

Planning is one grouped query over all of market_data (narrow, covered by ix_market_data_chart) and
one over the bars after each ``built_through`` (index range scans); their difference is the bar count
and checksum of the built range. Equal count and checksum mean the built range is unchanged, so only
the tail is computed; a difference (a revised, deleted or back-filled bar) sends the symbol to the
exact per-bar comparison in ``changes``, which finds the first changed bar. No fingerprint (rows
built before the table existed) also means the exact comparison.

The checksum is the per-column sums of open, high, low and close (exact NUMERIC on PostgreSQL; on
SQLite float sums rounded back to the prices' six decimals) and the sum of a time-keyed term of the
volume (PostgreSQL: a 64-bit hash of the volume seeded with the bar's time; SQLite: volume × a
time-derived weight). Any change to one bar, a deleted bar or a back-filled bar changes the count or a
sum; a bar moved to another time changes the volume term. Only revisions of several bars that cancel
exactly in every sum could pass unseen. These aggregates cost little more than counting the bars
(hashing every field, or multiplying NUMERICs, would double the planning query's time).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Column, MetaData, String, Table, bindparam, select, text
from sqlalchemy.engine import Connection

from workstation.db.types import UTCDateTime
from workstation.db.upsert import conflict_insert

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
    Column("bar_checksum", String(200)),
    Column("total_records", BigInteger, nullable=False),
    Column("rsi_records", BigInteger, nullable=False),
    Column("ma_records", BigInteger, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

# The volume term of the fingerprint ties each bar to its time, so a bar moved to another time shows.
_PG_VOLUME_TERM = "hashint8extended(m.volume, date_part('epoch', m.timestamp)::bigint)"
_SQLITE_VOLUME_TERM = "m.volume * (1 + (CAST(strftime('%s', m.timestamp) AS INTEGER) / 60) % 1009)"


@dataclass(frozen=True)
class _Partial:
    """Aggregates of some of one symbol's bars (PostgreSQL: exact NUMERIC sums)."""

    count: int
    first: datetime | None
    last: datetime | None
    sums: tuple[Any, ...]  # open, high, low, close, volume term

    def __sub__(self, other: _Partial) -> _Partial:
        """The bars of ``self`` that are not in ``other`` (a subset); first/last are no longer known."""
        sums = tuple(a - b for a, b in zip(self.sums, other.sums, strict=True))
        return _Partial(self.count - other.count, None, None, sums)

    def checksum(self) -> str:
        # Six decimals: the prices' scale in market_data (on SQLite, float sums round back to it exactly).
        prices = [format(Decimal(v), ".6f") for v in self.sums[:4]]
        return "/".join([*prices, str(int(self.sums[4]))])


@dataclass(frozen=True)
class SeriesState:
    """A feature_build_state row."""

    source: str
    built_through: datetime
    bar_count: int | None
    bar_checksum: str | None
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
    checksum: str
    since: datetime | None = None
    previous: SeriesState | None = None


def _utc(value: Any) -> Any:
    if isinstance(value, str):  # aggregates lose the column type on SQLite
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def load_states(
    conn: Connection, interval: str, version: str, symbols: list[str] | None = None
) -> dict[str, SeriesState]:
    s = build_state.c
    query = select(
        s.symbol, s.source, s.built_through, s.bar_count, s.bar_checksum, s.total_records, s.rsi_records,
        s.ma_records,
    ).where(s.interval == interval, s.feature_version == version)  # fmt: skip
    if symbols is not None:
        query = query.where(s.symbol.in_(symbols))
    return {row[0]: SeriesState(*row[1:]) for row in conn.execute(query)}


def plan_builds(
    conn: Connection, interval: str, version: str, symbols: list[str] | None, full: bool
) -> dict[str, SymbolPlan]:
    """symbol -> plan, for every symbol with bars at ``interval`` (restricted to ``symbols`` when given).

    The source used is the one with most bars (ties: alphabetical), as ``load_bars`` picks it.
    """
    volume_term = _PG_VOLUME_TERM if conn.dialect.name == "postgresql" else _SQLITE_VOLUME_TERM
    aggregates = f"""count(*), min(m.timestamp), max(m.timestamp),
                     sum(m.open), sum(m.high), sum(m.low), sum(m.close), sum({volume_term})"""
    # Every bar of every symbol: one pass over the narrow market_data, no join, cheap aggregates only.
    every_bar = f"""SELECT m.symbol, m.source, {aggregates} FROM market_data m
                     WHERE m.interval = :interval {"AND m.symbol IN :symbols" if symbols is not None else ""}
                     GROUP BY m.symbol, m.source"""
    # Bars after each series' built_through: index range scans, few rows. Built range = every − newer.
    newer_bars = f"""SELECT m.symbol, m.source, {aggregates}
                       FROM feature_build_state s
                       JOIN market_data m
                         ON m.symbol = s.symbol AND m.interval = s.interval AND m.source = s.source
                        AND m.timestamp > s.built_through
                      WHERE s.interval = :interval AND s.feature_version = :version
                        {"AND s.symbol IN :symbols" if symbols is not None else ""}
                      GROUP BY m.symbol, m.source"""
    params: dict[str, Any] = {"interval": interval, "version": version}
    if symbols is not None:
        params["symbols"] = symbols
    if conn.dialect.name == "postgresql":
        # JIT compilation costs more than it saves on this two-million-row aggregate.
        conn.exec_driver_sql("SET LOCAL jit = off")

    def partials(sql: str) -> dict[tuple[str, str], _Partial]:
        query = text(sql)
        if symbols is not None:
            query = query.bindparams(bindparam("symbols", expanding=True))
        return {
            (symbol, source): _Partial(int(count), _utc(first), _utc(last), tuple(sums))
            for symbol, source, count, first, last, *sums in conn.execute(query, params)
        }

    every = partials(every_bar)
    best: dict[str, tuple[str, _Partial]] = {}
    for (symbol, source), bars in sorted(every.items()):
        if symbol not in best or bars.count > best[symbol][1].count:
            best[symbol] = (source, bars)
    newer = {} if full else partials(newer_bars)
    states = {} if full else load_states(conn, interval, version)
    plans: dict[str, SymbolPlan] = {}
    for symbol, (source, bars) in best.items():
        new = newer.get((symbol, source))
        old = bars - new if new is not None else bars
        state = states.get(symbol)
        unchanged = state is not None and state.bar_count == old.count and state.bar_checksum == old.checksum()
        if state is None or state.source != source:
            mode, since = "full", None
        elif not unchanged:
            mode, since = "check", None
        elif new is None:
            mode, since = "up_to_date", None
        else:
            mode, since = "tail", new.first
        assert bars.last is not None
        plans[symbol] = SymbolPlan(
            symbol, source, mode, bars.last, bars.count, bars.checksum(), since=since, previous=state
        )
    return plans


def save_states(conn: Connection, interval: str, version: str, rows: list[dict[str, Any]]) -> None:
    """Insert or replace state rows (keys: symbol, source, built_through, bar_count, bar_checksum, counts)."""
    if not rows:
        return
    now = datetime.now(UTC)
    values = [{**row, "interval": interval, "feature_version": version, "updated_at": now} for row in rows]
    statement = conflict_insert(conn, build_state)
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
