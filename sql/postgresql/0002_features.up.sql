-- The dashboard cache over each symbol's latest feature version (the version of its most recent row).
-- One pass over feature_engineered_data: aggregate per (symbol, version), then keep one version per symbol.
-- The unique index on symbol is what makes REFRESH MATERIALIZED VIEW CONCURRENTLY possible.
CREATE MATERIALIZED VIEW mv_features_dashboard_summary AS
WITH per_version AS (
    SELECT f.symbol,
           f.feature_version,
           max(f.timestamp) AS latest_timestamp,
           count(*) AS total_records,
           count(f.rsi_1d) AS rsi_rows,
           count(f.price_ma_short) AS ma_rows
      FROM feature_engineered_data f
     GROUP BY f.symbol, f.feature_version
), ranked AS (
    SELECT p.*,
           row_number() OVER (PARTITION BY p.symbol ORDER BY p.latest_timestamp DESC, p.feature_version DESC) AS rank
      FROM per_version p
)
SELECT r.symbol::varchar(32) AS symbol,
       r.latest_timestamp,
       r.total_records::bigint AS total_records,
       r.feature_version::varchar(16) AS latest_version,
       r.rsi_rows::double precision / r.total_records AS rsi_coverage,
       r.ma_rows::double precision / r.total_records AS ma_coverage
  FROM ranked r
 WHERE r.rank = 1
WITH DATA;

CREATE UNIQUE INDEX ux_mv_features_dashboard_summary_symbol ON mv_features_dashboard_summary (symbol);
