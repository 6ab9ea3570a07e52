"""The dashboard summary: a materialized view on PostgreSQL, a rebuilt table on SQLite; one refresh for both."""

from __future__ import annotations

from sqlalchemy import Engine, text

_SQLITE_REBUILD = """
INSERT INTO mv_features_dashboard_summary
       (symbol, latest_timestamp, total_records, latest_version, rsi_coverage, ma_coverage)
SELECT f.symbol,
       max(f.timestamp),
       count(*),
       (SELECT f2.feature_version FROM feature_engineered_data f2
         WHERE f2.symbol = f.symbol ORDER BY f2.timestamp DESC, f2.feature_version DESC LIMIT 1),
       CAST(count(f.rsi_1d) AS REAL) / count(*),
       CAST(count(f.price_ma_short) AS REAL) / count(*)
  FROM feature_engineered_data f
 GROUP BY f.symbol
"""


def refresh_dashboard_summary(engine: Engine, *, concurrently: bool = True) -> None:
    """Recompute mv_features_dashboard_summary from feature_engineered_data.

    On PostgreSQL the refresh is CONCURRENTLY by default, so dashboards keep reading the old
    contents until the new ones are ready. On SQLite the table is rebuilt in one transaction,
    which readers in WAL mode never see half-done.
    """
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            mode = " CONCURRENTLY" if concurrently else ""
            conn.execute(text(f"REFRESH MATERIALIZED VIEW{mode} mv_features_dashboard_summary"))
        else:
            conn.execute(text("DELETE FROM mv_features_dashboard_summary"))
            conn.execute(text(_SQLITE_REBUILD))
