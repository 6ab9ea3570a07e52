"""The dashboard summary: a materialized view on PostgreSQL, a rebuilt table on SQLite; one refresh for both.

Per symbol it describes the latest feature version (the version of the symbol's most recent row):
latest bar time, rows of that version, and the non-null fraction of rsi_1d and price_ma_short.
On PostgreSQL the view reads feature_build_state (migration 0006_features_speed), the per-series
counts the feature builder records with every write, so a refresh aggregates a few rows per symbol
instead of scanning the wide feature table; writes by anything else mark those counts stale and the
refresh recounts them first. SQLite's summary table is rebuilt from the feature table itself.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select, text

from workstation.db.views import mv_features_dashboard_summary

# SQLite reads the feature table itself (single user, modest sizes): same result as PostgreSQL's view.
_SQLITE_REBUILD = """
INSERT INTO mv_features_dashboard_summary
       (symbol, latest_timestamp, total_records, latest_version, rsi_coverage, ma_coverage)
WITH per_version AS (
    SELECT f.symbol, f.feature_version, max(f.timestamp) AS latest_timestamp, count(*) AS total_records,
           count(f.rsi_1d) AS rsi_rows, count(f.price_ma_short) AS ma_rows
      FROM feature_engineered_data f
     GROUP BY f.symbol, f.feature_version
), ranked AS (
    SELECT p.*, row_number() OVER (PARTITION BY p.symbol
                                   ORDER BY p.latest_timestamp DESC, p.feature_version DESC) AS rank
      FROM per_version p
)
SELECT symbol, latest_timestamp, total_records, feature_version,
       CAST(rsi_rows AS REAL) / total_records, CAST(ma_rows AS REAL) / total_records
  FROM ranked
 WHERE rank = 1
"""


# Recount feature_build_state from the feature table after writes the builder did not make (see the
# trigger of migration 0006_features_speed). A series whose rows changed under it loses its fingerprint,
# so the next build compares it bar by bar; a series with no rows left loses its state (rebuilt in full).
_PG_RECOUNT = (
    """DELETE FROM feature_build_state s
        WHERE NOT EXISTS (SELECT 1 FROM feature_engineered_data f
                           WHERE f.symbol = s.symbol AND f.interval = s.interval
                             AND f.feature_version = s.feature_version)""",
    """INSERT INTO feature_build_state AS s (symbol, interval, feature_version, source, built_through,
                                            total_records, rsi_records, ma_records, updated_at)
       SELECT symbol, interval, feature_version, max(source), max(timestamp), count(*), count(rsi_1d),
              count(price_ma_short), now()
         FROM feature_engineered_data
        GROUP BY symbol, interval, feature_version
       ON CONFLICT (symbol, interval, feature_version) DO UPDATE
          SET bar_count = CASE WHEN (s.source, s.built_through, s.total_records)
                                    = (excluded.source, excluded.built_through, excluded.total_records)
                               THEN s.bar_count END,
              bar_checksum = CASE WHEN (s.source, s.built_through, s.total_records)
                                       = (excluded.source, excluded.built_through, excluded.total_records)
                                  THEN s.bar_checksum END,
              source = excluded.source, built_through = excluded.built_through,
              total_records = excluded.total_records, rsi_records = excluded.rsi_records,
              ma_records = excluded.ma_records, updated_at = excluded.updated_at""",
    "DELETE FROM feature_build_state_stale",
)


def refresh_dashboard_summary(engine: Engine, *, concurrently: bool = True) -> None:
    """Recompute mv_features_dashboard_summary from feature_engineered_data.

    On PostgreSQL the refresh is CONCURRENTLY by default, so dashboards keep reading the old
    contents until the new ones are ready (a view that was never populated is refreshed plainly,
    as PostgreSQL requires). On SQLite the table is rebuilt in one transaction, which readers in
    WAL mode never see half-done.
    """
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Locks out writers' stale marks until this transaction ends, so none is cleared unseen.
            if conn.execute(text("SELECT 1 FROM feature_build_state_stale FOR UPDATE")).first() is not None:
                for statement in _PG_RECOUNT:
                    conn.execute(text(statement))
            populated = conn.execute(
                text("SELECT ispopulated FROM pg_matviews WHERE matviewname = 'mv_features_dashboard_summary'")
            ).scalar()
            mode = " CONCURRENTLY" if concurrently and populated else ""
            conn.execute(text(f"REFRESH MATERIALIZED VIEW{mode} mv_features_dashboard_summary"))
        else:
            conn.execute(text("DELETE FROM mv_features_dashboard_summary"))
            conn.execute(text(_SQLITE_REBUILD))


def dashboard_summary(engine: Engine, symbols: list[str] | None = None) -> list[dict[str, Any]]:
    """The summary rows (all symbols, or the given ones), ordered by symbol."""
    query = select(mv_features_dashboard_summary).order_by(mv_features_dashboard_summary.c.symbol)
    if symbols:
        query = query.where(mv_features_dashboard_summary.c.symbol.in_(symbols))
    # Autocommit: a read-only lookup needs no transaction, which saves the BEGIN/ROLLBACK round trip
    # that would otherwise double the cost of this sub-millisecond query.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        return [dict(row) for row in conn.execute(query).mappings()]
