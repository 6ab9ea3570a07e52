-- Back to migration 0001's summary table (same shape; refresh_dashboard_summary() fills it).
CREATE TABLE mv_features_dashboard_summary (
    symbol VARCHAR(32) NOT NULL PRIMARY KEY,
    latest_timestamp DATETIME,
    total_records BIGINT NOT NULL,
    latest_version VARCHAR(16),
    rsi_coverage FLOAT,
    ma_coverage FLOAT
);
