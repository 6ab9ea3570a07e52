-- SQLite counterparts of sql/postgresql/0001_views.up.sql. Applied by migration 0001.

CREATE VIEW recent_system_activity AS
SELECT 'system_log' AS source,
       s.timestamp AS timestamp,
       s.level AS severity,
       COALESCE(s.logger_name, 'root') AS component,
       s.message AS description,
       s.correlation_id AS correlation_id,
       s.metadata AS metadata
  FROM system_logs s
UNION ALL
SELECT 'trading_event',
       t.timestamp,
       CASE
         WHEN instr(t.event_type, 'error') > 0 OR instr(t.event_type, 'failed') > 0 THEN 'ERROR'
         WHEN instr(t.event_type, 'rejected') > 0 OR instr(t.event_type, 'kill_switch') > 0 THEN 'WARNING'
         ELSE 'INFO'
       END,
       'trading',
       t.event_type
         || COALESCE(' ' || t.side, '')
         || COALESCE(' ' || CAST(t.quantity AS TEXT), '')
         || COALESCE(' ' || t.symbol, '')
         || COALESCE(' @ ' || CAST(t.price AS TEXT), '')
         || COALESCE(' order ' || t.order_id, '')
         || COALESCE(' [' || t.strategy || ']', ''),
       t.correlation_id,
       json_patch(COALESCE(t.metadata, '{}'), json_object(
           'event_type', t.event_type, 'symbol', t.symbol, 'side', t.side,
           'quantity', t.quantity, 'price', t.price, 'order_id', t.order_id, 'strategy', t.strategy))
  FROM trading_events t
UNION ALL
SELECT 'performance_log',
       p.timestamp,
       CASE p.status WHEN 'error' THEN 'ERROR' WHEN 'timeout' THEN 'WARNING' ELSE 'INFO' END,
       COALESCE(p.component, 'performance'),
       p.operation_name || ' ' || CAST(round(p.duration_ms, 1) AS TEXT) || ' ms (' || p.status || ')',
       p.correlation_id,
       json_patch(COALESCE(p.metadata, '{}'), json_object(
           'operation_name', p.operation_name, 'duration_ms', p.duration_ms, 'status', p.status,
           'memory_usage_mb', p.memory_usage_mb, 'cpu_usage_percent', p.cpu_usage_percent))
  FROM performance_logs p
UNION ALL
SELECT 'error_log',
       e.timestamp,
       'ERROR',
       COALESCE(e.component, 'application'),
       e.error_type || ': ' || e.error_message,
       e.correlation_id,
       json_patch(COALESCE(e.metadata, '{}'), json_object(
           'error_type', e.error_type, 'stack_trace', e.stack_trace,
           'user_id', e.user_id, 'request_path', e.request_path))
  FROM error_logs e;

-- SQLite has no materialized views: the summary is a table that refresh_dashboard_summary() rebuilds.
CREATE TABLE mv_features_dashboard_summary (
    symbol VARCHAR(32) NOT NULL PRIMARY KEY,
    latest_timestamp DATETIME,
    total_records BIGINT NOT NULL,
    latest_version VARCHAR(16),
    rsi_coverage FLOAT,
    ma_coverage FLOAT
);

CREATE INDEX ix_orders_open ON orders (status, symbol)
    WHERE status IN ('pending', 'submitted', 'accepted', 'partially_filled', 'pending_cancel');
CREATE INDEX ix_system_logs_errors ON system_logs (timestamp DESC) WHERE level IN ('ERROR', 'CRITICAL');
CREATE INDEX ix_performance_logs_failures ON performance_logs (timestamp DESC) WHERE status <> 'success';
CREATE INDEX ix_error_logs_component_ts ON error_logs (component, timestamp DESC);
