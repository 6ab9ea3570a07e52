-- SQLite has no materialized views: the summary is a table that refresh_dashboard_summary() rebuilds
-- over each symbol's latest feature version (same definition as the PostgreSQL view).
CREATE TABLE mv_features_dashboard_summary (
    symbol VARCHAR(32) NOT NULL PRIMARY KEY,
    latest_timestamp DATETIME,
    total_records BIGINT NOT NULL,
    latest_version VARCHAR(16),
    rsi_coverage FLOAT,
    ma_coverage FLOAT
);
