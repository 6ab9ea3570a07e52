-- The dashboard summary from feature_build_state (a few rows per symbol) instead of the wide table:
-- same columns and meaning as migration 0002's view (each symbol's latest feature version, the version
-- of its most recent row; coverage = non-null fraction), refreshed in milliseconds.
--
-- The feature builder keeps feature_build_state's row counts in step with its own writes (it sets
-- workstation.feature_builder for its transactions). Any other write to feature_engineered_data marks
-- the counts stale; the next refresh_dashboard_summary() recounts them from the table first.
CREATE TABLE feature_build_state_stale (
    id smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    marked_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- (The trigger function feature_rows_written_elsewhere() is created by the migration itself: its
-- PL/pgSQL body has semicolons at line ends, which this file's statement splitter would cut.)

CREATE TRIGGER tr_feature_engineered_data_counts
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON feature_engineered_data
    FOR EACH STATEMENT EXECUTE FUNCTION feature_rows_written_elsewhere();

DROP MATERIALIZED VIEW IF EXISTS mv_features_dashboard_summary;

CREATE MATERIALIZED VIEW mv_features_dashboard_summary AS
WITH per_version AS (
    SELECT s.symbol,
           s.feature_version,
           max(s.built_through) AS latest_timestamp,
           sum(s.total_records) AS total_records,
           sum(s.rsi_records) AS rsi_rows,
           sum(s.ma_records) AS ma_rows
      FROM feature_build_state s
     WHERE s.total_records > 0
     GROUP BY s.symbol, s.feature_version
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
