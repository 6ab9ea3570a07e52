DROP INDEX IF EXISTS ix_error_logs_component_ts;
DROP INDEX IF EXISTS ix_performance_logs_failures;
DROP INDEX IF EXISTS ix_system_logs_errors;
DROP INDEX IF EXISTS ix_orders_open;
DROP INDEX IF EXISTS ix_market_data_chart;
DROP MATERIALIZED VIEW IF EXISTS mv_features_dashboard_summary;
DROP VIEW IF EXISTS recent_system_activity;
