-- Migration 0002 redefines the dashboard summary; the old definition goes first.
DROP MATERIALIZED VIEW IF EXISTS mv_features_dashboard_summary;
