"""The dashboard summary: a materialized view on PostgreSQL, a rebuilt table on SQLite; one refresh for both.

Per symbol it describes the latest feature version (the version of the symbol's most recent row):
latest bar time, rows of that version, and the non-null fraction of rsi_1d and price_ma_short.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select, text

from workstation.db.views import mv_features_dashboard_summary

# Same definition as sql/postgresql/0002_features.up.sql.
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


def refresh_dashboard_summary(engine: Engine, *, concurrently: bool = True) -> None:
    """Recompute mv_features_dashboard_summary from feature_engineered_data.

    On PostgreSQL the refresh is CONCURRENTLY by default, so dashboards keep reading the old
    contents until the new ones are ready (a view that was never populated is refreshed plainly,
    as PostgreSQL requires). On SQLite the table is rebuilt in one transaction, which readers in
    WAL mode never see half-done.
    """
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
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
    with engine.connect() as conn:
        return [dict(row) for row in conn.execute(query).mappings()]
