-- Back to migration 0002's summary over feature_engineered_data.
DROP MATERIALIZED VIEW IF EXISTS mv_features_dashboard_summary;
DROP TRIGGER IF EXISTS tr_feature_engineered_data_counts ON feature_engineered_data;
DROP FUNCTION IF EXISTS feature_rows_written_elsewhere();
DROP TABLE IF EXISTS feature_build_state_stale;

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
