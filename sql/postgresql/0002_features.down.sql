-- Back to migration 0001's summary (all versions counted together).
CREATE MATERIALIZED VIEW mv_features_dashboard_summary AS
SELECT f.symbol::varchar(32) AS symbol,
       max(f.timestamp) AS latest_timestamp,
       count(*)::bigint AS total_records,
       (array_agg(f.feature_version ORDER BY f.timestamp DESC, f.feature_version DESC))[1]::varchar(16)
           AS latest_version,
       count(f.rsi_1d)::double precision / count(*) AS rsi_coverage,
       count(f.price_ma_short)::double precision / count(*) AS ma_coverage
  FROM feature_engineered_data f
 GROUP BY f.symbol
WITH DATA;

CREATE UNIQUE INDEX ux_mv_features_dashboard_summary_symbol ON mv_features_dashboard_summary (symbol);
