"""The watchlist's rows: stock_info joined with the dashboard summary and the latest two bars per symbol.

Two queries per refresh whatever the number of symbols: one for the reference data and the summary,
one window query for the last two closes (last close and change %) of every symbol at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Engine, func, inspect, select

from workstation.db.engine import check_connection
from workstation.db.models import MarketData, StockInfo
from workstation.db.views import mv_features_dashboard_summary as summary


@dataclass(frozen=True, slots=True)
class WatchlistRow:
    symbol: str
    company_name: str | None
    sector: str | None
    exchange: str | None
    last_close: float | None
    change_pct: float | None
    last_bar: datetime | None
    bars: int
    feature_records: int | None
    features_updated: datetime | None
    rsi_coverage: float | None
    ma_coverage: float | None


@dataclass(frozen=True, slots=True)
class DatabaseState:
    """What the window needs to know at start-up: is there a schema, and is there anything to show."""

    schema_present: bool
    symbols: int
    bars: int

    @property
    def empty(self) -> bool:
        return not self.schema_present or self.bars == 0


def database_state(engine: Engine) -> DatabaseState:
    tables = set(inspect(engine).get_table_names())
    if not {"stock_info", "market_data"} <= tables:
        return DatabaseState(False, 0, 0)
    with engine.connect() as conn:
        symbols = conn.execute(select(func.count()).select_from(StockInfo)).scalar_one()
        # EXISTS-style probe: counting a million bars on every start-up would be wasteful.
        any_bar = conn.execute(select(MarketData.id).limit(1)).first()
    return DatabaseState(True, int(symbols), 1 if any_bar else 0)


def prepare_database(engine: Engine) -> tuple[DatabaseState, str | None]:
    """Create the schema of a database that has no tables at all; report one that is behind.

    Returns the state and, when the schema is missing or older than this version, a one-line warning.
    """
    from workstation.db.migrate import current_revisions, head_revisions, upgrade
    from workstation.db.partition_maintenance import create_ahead_quietly

    check_connection(engine)
    if not inspect(engine).get_table_names():
        upgrade(engine)
    state = database_state(engine)
    if not state.schema_present:
        return state, "This database holds other tables but not the workstation schema: run `workstation db upgrade`."
    if set(current_revisions(engine)) != set(head_revisions()):
        return state, "The database schema is older than this version: run `workstation db upgrade`."
    create_ahead_quietly(engine)  # PostgreSQL: this and next month's ranges exist before anyone writes
    return state, None


def _latest_closes(engine: Engine, interval: str) -> dict[str, tuple[float, float | None, datetime, int]]:
    """symbol -> (last close, previous close, last timestamp, bar count) from one window query.

    When several sources hold the same symbol, the source with the most bars wins, as in load_bars.
    """
    ranked = (
        select(
            MarketData.symbol,
            MarketData.source,
            MarketData.close,
            MarketData.timestamp,
            func.row_number()
            .over(partition_by=(MarketData.symbol, MarketData.source), order_by=MarketData.timestamp.desc())
            .label("rn"),
            func.count().over(partition_by=(MarketData.symbol, MarketData.source)).label("n"),
        )
        .where(MarketData.interval == interval)
        .subquery()
    )
    query = select(ranked.c.symbol, ranked.c.source, ranked.c.close, ranked.c.timestamp, ranked.c.rn, ranked.c.n).where(
        ranked.c.rn <= 2
    )
    per_source: dict[tuple[str, str], dict[int, tuple[Decimal, datetime]]] = {}
    counts: dict[tuple[str, str], int] = {}
    with engine.connect() as conn:
        for symbol, source, close, timestamp, rn, n in conn.execute(query):
            per_source.setdefault((symbol, source), {})[int(rn)] = (close, timestamp)
            counts[(symbol, source)] = int(n)
    best: dict[str, tuple[str, int]] = {}
    for (symbol, source), n in counts.items():
        if symbol not in best or n > best[symbol][1]:
            best[symbol] = (source, n)
    result: dict[str, tuple[float, float | None, datetime, int]] = {}
    for symbol, (source, n) in best.items():
        rows = per_source[(symbol, source)]
        last_close, last_ts = rows[1]
        previous = float(rows[2][0]) if 2 in rows else None
        result[symbol] = (float(last_close), previous, last_ts, n)
    return result


def load_watchlist(engine: Engine, interval: str = "1d") -> list[WatchlistRow]:
    """Every symbol in stock_info, with its latest bar figures for ``interval`` and feature coverage."""
    query = (
        select(
            StockInfo.symbol,
            StockInfo.company_name,
            StockInfo.sector,
            StockInfo.exchange,
            summary.c.total_records,
            summary.c.latest_timestamp,
            summary.c.rsi_coverage,
            summary.c.ma_coverage,
        )
        .select_from(StockInfo)
        .outerjoin(summary, summary.c.symbol == StockInfo.symbol)
        .order_by(StockInfo.symbol)
    )
    with engine.connect() as conn:
        reference = conn.execute(query).all()
    closes = _latest_closes(engine, interval)
    rows: list[WatchlistRow] = []
    for symbol, name, sector, exchange, records, features_ts, rsi, ma in reference:
        last = closes.get(symbol)
        change = None
        if last is not None and last[1]:
            change = (last[0] / last[1] - 1.0) * 100.0
        rows.append(
            WatchlistRow(
                symbol=symbol,
                company_name=name,
                sector=sector,
                exchange=exchange,
                last_close=last[0] if last else None,
                change_pct=change,
                last_bar=last[2] if last else None,
                bars=last[3] if last else 0,
                feature_records=int(records) if records is not None else None,
                features_updated=features_ts,
                rsi_coverage=float(rsi) if rsi is not None else None,
                ma_coverage=float(ma) if ma is not None else None,
            )
        )
    return rows


def available_intervals(engine: Engine, symbol: str | None = None) -> list[str]:
    """Bar intervals present in market_data (for one symbol, or all), daily first."""
    query = select(MarketData.interval).distinct()
    if symbol is not None:
        query = query.where(MarketData.symbol == symbol)
    with engine.connect() as conn:
        intervals = [row[0] for row in conn.execute(query)]
    return sorted(intervals, key=_interval_seconds, reverse=True)


_UNIT_SECONDS = {"m": 60, "min": 60, "h": 3600, "d": 86400, "wk": 604800, "w": 604800, "mo": 2_592_000}


def _interval_seconds(interval: str) -> int:
    digits = "".join(ch for ch in interval if ch.isdigit())
    unit = interval[len(digits) :].lower()
    return int(digits or 1) * _UNIT_SECONDS.get(unit, 1)
