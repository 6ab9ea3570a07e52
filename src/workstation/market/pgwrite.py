"""The PostgreSQL side of the bar store: one symbol batch inside the caller's transaction.

1. Classify every incoming bar exactly against the stored ones: one grouped query returns, per
   (symbol, interval, source) range of the batch, the stored bars as fixed-size binary records
   (timestamp, prices in millionths, volume: the generated column bar_record of 0017) read straight from
   the covering index ix_market_data_chart. numpy matches them by timestamp: absent → new, all equal →
   unchanged (counted, never rewritten), different → revised. A per-symbol aggregate (count, sums)
   would be cheaper still but can collide — two compensating revisions, or values shifted between
   bars, keep every sum — so it is not used.
2. New bars are COPYed (binary) straight into market_data. Revised bars go through a temporary table,
   an UPDATE and INSERT … ON CONFLICT DO UPDATE for any that vanished meanwhile, counted as updated.
3. The foreign key market_data.symbol → stock_info.symbol: a plain COPY runs PostgreSQL's per-row RI
   trigger (a SELECT … FOR KEY SHARE per bar), which costs more than the COPY itself. For a large batch
   (``BULK_FK_MIN_ROWS``) when the role may set ``session_replication_role`` and market_data has no user
   trigger that the setting would also skip, the check is done once per symbol instead: the batch's
   stock_info rows are locked FOR KEY SHARE (exactly the lock the RI trigger takes, so a concurrent
   DELETE of a symbol still waits for this transaction) and every symbol must be present, then the COPY
   runs with ``session_replication_role = replica`` (RI triggers off; CHECK, NOT NULL and unique are
   still enforced), and the setting is restored before anything else. No DDL lock is taken: readers
   of market_data and stock_info are never blocked. (Measured alternative: DROP the FK, COPY, ADD it NOT
   VALID and VALIDATE — similar speed on a small table, but it takes ACCESS EXCLUSIVE locks on both tables
   for the whole batch and VALIDATE re-scans all of market_data every batch.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from psycopg import pq
from sqlalchemy import Connection

from workstation.errors import WorkstationError
from workstation.market.pgcopy import COPY_COLUMNS, PRICES, encode_copy_binary, incoming_records, stored_bar_records

KEY = ["symbol", "interval", "source"]
BULK_FK_MIN_ROWS = 20_000
_COPY_INTO = f"({', '.join(COPY_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
_STORED = (
    "SELECT k.n, string_agg(m.bar_record, ''::bytea) "
    "FROM unnest(%s::text[], %s::text[], %s::text[], %s::timestamptz[], %s::timestamptz[]) "
    "WITH ORDINALITY AS k(symbol, interval, source, lo, hi, n) "
    "JOIN market_data m ON m.symbol = k.symbol AND m.interval = k.interval AND m.source = k.source "
    "AND m.timestamp BETWEEN k.lo AND k.hi GROUP BY k.n"
)
# A user trigger on market_data or on one of its partitions (0011) would be skipped by the replica role too.
_NO_USER_TRIGGER = (
    "NOT EXISTS (SELECT 1 FROM pg_trigger WHERE NOT tgisinternal AND tgrelid IN (SELECT 'market_data'::regclass"
    " UNION ALL SELECT inhrelid FROM pg_inherits WHERE inhparent = 'market_data'::regclass))"
)
# Who may SET session_replication_role: superusers, and from PostgreSQL 15 roles granted it with
# GRANT SET ON PARAMETER session_replication_role TO <role>.
_MAY_SET_ROLE = "(SELECT rolsuper FROM pg_roles WHERE rolname = current_user)"  # current_user: SET ROLE counts
_MAY_SET_ROLE_15 = f"({_MAY_SET_ROLE} OR has_parameter_privilege('session_replication_role', 'SET'))"


class MissingSymbolsError(WorkstationError):
    """Bars for symbols without a stock_info row: the foreign key forbids storing them."""


@dataclass
class BatchCounts:
    """Per-symbol counts of one batch: symbol -> [inserted, updated, unchanged]; and which rows of the
    batch were new and which revised (the rest were stored unchanged)."""

    by_symbol: dict[str, list[int]]
    new: np.ndarray | None = None
    revised: np.ndarray | None = None

    def add(self, symbols: pd.Series, column: int) -> None:
        for symbol, n in symbols.value_counts(sort=False).items():
            self.by_symbol[str(symbol)][column] += int(n)


def classify(cursor: Any, batch: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Masks (new, revised) over ``batch``'s rows; rows in neither are stored unchanged."""
    groups = batch.groupby(KEY, sort=False)
    group_of_row = groups.ngroup().to_numpy()
    ranges = groups["timestamp"].agg(["min", "max"]).reset_index()
    cursor.execute(
        _STORED,
        [
            ranges["symbol"].tolist(),
            ranges["interval"].tolist(),
            ranges["source"].tolist(),
            list(ranges["min"].dt.to_pydatetime()),
            list(ranges["max"].dt.to_pydatetime()),
        ],
        binary=True,
    )
    found = cursor.fetchall()
    new = np.ones(len(batch), dtype=bool)
    revised = np.zeros(len(batch), dtype=bool)
    if not found:
        return new, revised
    parts = [stored_bar_records(bytes(packed)) for _, packed in found]
    stored = np.concatenate(parts)
    stored_group = np.repeat(np.array([int(n) - 1 for n, _ in found], dtype=np.int64), [len(p) for p in parts])
    incoming = incoming_records(batch)
    index = pd.MultiIndex.from_arrays([stored_group, stored["timestamp"]])
    position = index.get_indexer(pd.MultiIndex.from_arrays([group_of_row, incoming["timestamp"]]))
    new = position < 0
    matched = np.flatnonzero(~new)
    theirs = stored[position[matched]]
    ours = incoming[matched]
    differs = np.zeros(len(matched), dtype=bool)
    for field in (*PRICES, "volume"):
        differs |= theirs[field] != ours[field]
    revised[matched[differs]] = True
    return new, revised


def bulk_fk_allowed(cursor: Any) -> bool:
    """May this transaction check the FK per symbol (see the module docstring)?"""
    may_set = _MAY_SET_ROLE_15 if cursor.connection.info.server_version >= 150000 else _MAY_SET_ROLE
    cursor.execute(f"SELECT {may_set} AND {_NO_USER_TRIGGER}")
    return bool(cursor.fetchone()[0])


def copy_new_bars(cursor: Any, bars: pd.DataFrame, *, bulk_fk: bool) -> None:
    """COPY bars known to be absent into market_data; with ``bulk_fk`` the FK is checked per symbol."""
    if not bulk_fk:
        with cursor.copy(f"COPY market_data {_COPY_INTO}") as copy:
            copy.write(encode_copy_binary(bars))
        return
    symbols = sorted(bars["symbol"].unique().tolist())
    cursor.execute("SELECT symbol FROM stock_info WHERE symbol = ANY(%s) FOR KEY SHARE", [symbols])
    missing = sorted(set(symbols) - {row[0] for row in cursor.fetchall()})
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise MissingSymbolsError(f"no stock_info row for {shown}: bars not stored")
    cursor.execute("SELECT current_setting('session_replication_role')")
    previous = cursor.fetchone()[0]
    cursor.execute("SET LOCAL session_replication_role = replica")
    try:
        with cursor.copy(f"COPY market_data {_COPY_INTO}") as copy:
            copy.write(encode_copy_binary(bars))
    finally:
        # Back on before anything else runs in this transaction (a failed COPY aborts it anyway).
        if cursor.connection.info.transaction_status != pq.TransactionStatus.INERROR:
            cursor.execute("SELECT set_config('session_replication_role', %s, true)", [previous])


def upsert_revised(cursor: Any, bars: pd.DataFrame, counts: BatchCounts) -> None:
    """Revised bars: a temporary table, an UPDATE of the stored bars, then INSERT … ON CONFLICT DO UPDATE of
    the rest (a bar deleted meanwhile is inserted again and counted so).

    Two statements because RETURNING (xmax = 0), which would tell an insert from an update in one
    upsert, is refused on a partitioned table ("cannot retrieve a system column in this context").
    """
    cursor.execute(
        "CREATE TEMP TABLE market_data_incoming (symbol varchar(32), interval varchar(8), "
        "timestamp timestamptz, open numeric(18,6), high numeric(18,6), low numeric(18,6), close numeric(18,6), "
        "volume bigint, source varchar(32)) ON COMMIT DROP"
    )
    with cursor.copy(f"COPY market_data_incoming {_COPY_INTO}") as copy:
        copy.write(encode_copy_binary(bars))
    same_bar = "m.symbol = i.symbol AND m.interval = i.interval AND m.timestamp = i.timestamp AND m.source = i.source"
    cursor.execute(
        "WITH up AS (UPDATE market_data m SET open = i.open, high = i.high, low = i.low, close = i.close, "
        f"volume = i.volume FROM market_data_incoming i WHERE {same_bar} RETURNING m.symbol) "
        "SELECT symbol, count(*) FROM up GROUP BY symbol"
    )
    for symbol, updated in cursor.fetchall():
        counts.by_symbol[symbol][1] += int(updated)
    cursor.execute(
        "WITH ins AS (INSERT INTO market_data (symbol, interval, timestamp, open, high, low, close, volume, source) "
        "SELECT symbol, interval, timestamp, open, high, low, close, volume, source FROM market_data_incoming i "
        f"WHERE NOT EXISTS (SELECT 1 FROM market_data m WHERE {same_bar}) "
        "ON CONFLICT (symbol, interval, timestamp, source) DO UPDATE SET open = EXCLUDED.open, "
        "high = EXCLUDED.high, low = EXCLUDED.low, close = EXCLUDED.close, volume = EXCLUDED.volume "
        "RETURNING symbol) "
        "SELECT symbol, count(*) FROM ins GROUP BY symbol"
    )
    for symbol, inserted in cursor.fetchall():
        counts.by_symbol[symbol][0] += int(inserted)


def write_batch(conn: Connection, batch: pd.DataFrame, *, bulk_fk_min_rows: int | None = None) -> BatchCounts:
    """Store one batch of validated bars in the connection's open transaction; returns its counts.

    Raises MissingSymbolsError (nothing of the batch is usable; the caller rolls back) when a symbol has
    no stock_info row on the bulk path; the plain path gets the same refusal from the FK as a DBAPIError.
    """
    counts = BatchCounts({str(s): [0, 0, 0] for s in batch["symbol"].unique()})
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        new, revised = classify(cursor, batch)
        counts.new, counts.revised = new, revised
        counts.add(batch["symbol"][~new & ~revised], 2)
        fresh = batch[new]
        if not fresh.empty:
            threshold = BULK_FK_MIN_ROWS if bulk_fk_min_rows is None else bulk_fk_min_rows
            bulk = len(fresh) >= threshold and bulk_fk_allowed(cursor)
            copy_new_bars(cursor, fresh, bulk_fk=bulk)
            counts.add(fresh["symbol"], 0)
        if revised.any():
            upsert_revised(cursor, batch[revised], counts)
    finally:
        cursor.close()
    return counts
