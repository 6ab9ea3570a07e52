"""stock_info: every symbol with bars has a row (the foreign key); metadata is filled, never invented."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, func, select

from workstation.db.models import MarketData, StockInfo
from workstation.db.upsert import conflict_insert
from workstation.errors import InvalidInputError
from workstation.market.frame import Reject
from workstation.market.providers.csv import read_table
from workstation.market.providers.csv_format import CsvFormat

METADATA_FIELDS = ("company_name", "sector", "industry", "market_cap", "country", "currency", "exchange")
_TEXT_LIMITS = {"company_name": 255, "sector": 128, "industry": 128, "country": 64, "currency": 8, "exchange": 32}
_ALIASES = {
    "symbol": ("symbol", "ticker", "sym"),
    "company_name": ("company_name", "company", "name", "long_name", "longname", "short_name", "security"),
    "sector": ("sector", "gics_sector"),
    "industry": ("industry", "gics_sub_industry", "sub_industry"),
    "market_cap": ("market_cap", "marketcap", "market_capitalization"),
    "country": ("country",),
    "currency": ("currency",),
    "exchange": ("exchange", "primary_exchange"),
}


def ensure_symbols(conn: Connection, symbols: Iterable[str], source: str) -> None:
    """Create bare stock_info rows for symbols that have none (fields unknown stay NULL)."""
    now = datetime.now(UTC)
    rows = [{"symbol": s, "source": source, "created_at": now, "updated_at": now} for s in symbols]
    if rows:
        conn.execute(conflict_insert(conn, StockInfo.__table__).on_conflict_do_nothing(index_elements=["symbol"]), rows)


def clean_metadata(record: Mapping[str, Any]) -> dict[str, Any]:
    """Keep known, non-empty fields; text trimmed to the column sizes, market cap a whole number."""
    out: dict[str, Any] = {}
    for name in METADATA_FIELDS:
        value = record.get(name)
        if value is None or (isinstance(value, float) and pd.isna(value)):
            continue
        if name == "market_cap":
            try:
                number = float(str(value).replace(",", ""))
            except ValueError:
                continue
            if number > 0 and number < 2**63:
                out[name] = int(number)
            continue
        value_text = str(value).strip()
        if value_text:
            out[name] = value_text[: _TEXT_LIMITS[name]]
    return out


def upsert_stock_info(conn: Connection, symbol: str, metadata: Mapping[str, Any], source: str) -> None:
    """Insert or update one symbol's metadata; fields the source does not know keep their stored value."""
    values = clean_metadata(metadata)
    now = datetime.now(UTC)
    statement = conflict_insert(conn, StockInfo.__table__).values(
        symbol=symbol, source=source, created_at=now, updated_at=now, **values
    )
    statement = statement.on_conflict_do_update(
        index_elements=["symbol"], set_={**values, "source": source, "updated_at": now}
    )
    conn.execute(statement)


@dataclass
class SymbolImportSummary:
    imported: int = 0
    rejects: list[Reject] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "imported": self.imported,
            "rejected": len(self.rejects),
            "rejects": [r.to_dict() for r in self.rejects],
        }


def import_symbols_csv(engine: Engine, path: Path | str, *, source: str = "csv") -> SymbolImportSummary:
    """Read a metadata CSV (symbol plus any of the stock_info fields, common header spellings accepted)."""
    path = Path(path)
    # The bar reader's encoding and delimiter detection: European files, byte-order marks, cp1252 names.
    table = read_table(path, CsvFormat()).cells
    table = table[~(table == "").all(axis=1)]  # blank lines; the index still counts them for line numbers
    normalised = {str(c).strip().lower().replace(" ", "_").replace("-", "_"): str(c) for c in table.columns}
    columns: dict[str, str] = {}
    for name, aliases in _ALIASES.items():
        for alias in aliases:
            if alias in normalised:
                columns[name] = normalised[alias]
                break
    if "symbol" not in columns:
        raise InvalidInputError(f"{path.name}: no symbol column among {', '.join(map(str, table.columns))}")
    summary = SymbolImportSummary()
    with engine.begin() as conn:
        for index, row in table.iterrows():
            line = int(str(index)) + 2
            symbol = row[columns["symbol"]].strip().upper()
            if not symbol or len(symbol) > 32:
                summary.rejects.append(Reject(line, symbol or None, "symbol missing or longer than 32 characters"))
                continue
            metadata = {name: row[column] for name, column in columns.items() if name != "symbol"}
            cap = metadata.get("market_cap", "").strip()
            if cap and "market_cap" not in clean_metadata({"market_cap": cap}):
                summary.rejects.append(Reject(line, symbol, f"market_cap is not a positive number: {cap!r}"))
                continue
            upsert_stock_info(conn, symbol, metadata, source)
            summary.imported += 1
    return summary


def list_symbols(engine: Engine) -> list[dict[str, Any]]:
    """Every stock_info row with how many bars it has and their range (all intervals and sources)."""
    bars = (
        select(
            MarketData.symbol,
            func.count().label("bars"),
            func.min(MarketData.timestamp).label("first"),
            func.max(MarketData.timestamp).label("last"),
        )
        .group_by(MarketData.symbol)
        .subquery()
    )
    query = (
        select(StockInfo.__table__, bars.c.bars, bars.c.first, bars.c.last)
        .outerjoin(bars, bars.c.symbol == StockInfo.symbol)
        .order_by(StockInfo.symbol)
    )
    out: list[dict[str, Any]] = []
    with engine.connect() as conn:
        for row in conn.execute(query).mappings():
            record = {"symbol": row["symbol"], **{f: row[f] for f in METADATA_FIELDS}, "source": row["source"]}
            first, last = row["first"], row["last"]
            record["bars"] = int(row["bars"] or 0)
            record["first"] = _utc(first)
            record["last"] = _utc(last)
            out.append(record)
    return out


def _utc(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):  # SQLite aggregates come back as text
        value = datetime.fromisoformat(value)
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.isoformat()
