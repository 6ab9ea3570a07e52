-- Relations and indexes SQLAlchemy's table models cannot express. Applied by migration 0001.

-- One stream of everything the application reports. Severity is derived for rows that have no level:
-- trading events that say "rejected" are warnings, "error"/"failed" are errors; performance rows map
-- status error -> ERROR, timeout -> WARNING. No time filter here: readers pass their own window, and
-- PostgreSQL pushes those predicates into each branch of the UNION ALL (each has a timestamp index).
CREATE VIEW recent_system_activity AS
SELECT 'system_log'::varchar(32) AS source,
       s.timestamp,
       s.level::varchar(10) AS severity,
       COALESCE(s.logger_name, 'root')::varchar(255) AS component,
       s.message AS description,
       s.correlation_id,
       s.metadata
  FROM system_logs s
UNION ALL
SELECT 'trading_event'::varchar(32),
       t.timestamp,
       (CASE
          WHEN strpos(t.event_type, 'error') > 0 OR strpos(t.event_type, 'failed') > 0 THEN 'ERROR'
          WHEN strpos(t.event_type, 'rejected') > 0 OR strpos(t.event_type, 'kill_switch') > 0 THEN 'WARNING'
          ELSE 'INFO'
        END)::varchar(10),
       'trading'::varchar(255),
       t.event_type
         || COALESCE(' ' || t.side, '')
         || COALESCE(' ' || t.quantity::text, '')
         || COALESCE(' ' || t.symbol, '')
         || COALESCE(' @ ' || t.price::text, '')
         || COALESCE(' order ' || t.order_id, '')
         || COALESCE(' [' || t.strategy || ']', ''),
       t.correlation_id,
       COALESCE(t.metadata, '{}'::jsonb) || jsonb_strip_nulls(jsonb_build_object(
           'event_type', t.event_type, 'symbol', t.symbol, 'side', t.side,
           'quantity', t.quantity, 'price', t.price, 'order_id', t.order_id, 'strategy', t.strategy))
  FROM trading_events t
UNION ALL
SELECT 'performance_log'::varchar(32),
       p.timestamp,
       (CASE p.status WHEN 'error' THEN 'ERROR' WHEN 'timeout' THEN 'WARNING' ELSE 'INFO' END)::varchar(10),
       COALESCE(p.component, 'performance')::varchar(255),
       p.operation_name || ' ' || round(p.duration_ms, 1)::text || ' ms (' || p.status || ')',
       p.correlation_id,
       COALESCE(p.metadata, '{}'::jsonb) || jsonb_strip_nulls(jsonb_build_object(
           'operation_name', p.operation_name, 'duration_ms', p.duration_ms, 'status', p.status,
           'memory_usage_mb', p.memory_usage_mb, 'cpu_usage_percent', p.cpu_usage_percent))
  FROM performance_logs p
UNION ALL
SELECT 'error_log'::varchar(32),
       e.timestamp,
       'ERROR'::varchar(10),
       COALESCE(e.component, 'application')::varchar(255),
       e.error_type || ': ' || e.error_message,
       e.correlation_id,
       COALESCE(e.metadata, '{}'::jsonb) || jsonb_strip_nulls(jsonb_build_object(
           'error_type', e.error_type, 'stack_trace', e.stack_trace,
           'user_id', e.user_id, 'request_path', e.request_path))
  FROM error_logs e;

-- The dashboard cache: one row per symbol. The unique index on symbol is what makes
-- REFRESH MATERIALIZED VIEW CONCURRENTLY possible (readers are never blocked by a refresh).
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

-- The chart query (one symbol and interval, a time window, OHLCV) is answered from the index alone.
CREATE INDEX ix_market_data_chart ON market_data (symbol, interval, timestamp)
    INCLUDE (open, high, low, close, volume, source);

-- Open orders are few among many: the blotter and the reconciler ask for exactly those.
CREATE INDEX ix_orders_open ON orders (status, symbol)
    WHERE status IN ('pending', 'submitted', 'accepted', 'partially_filled', 'pending_cancel');

-- "Recent errors" views look at the few bad rows among many good ones.
CREATE INDEX ix_system_logs_errors ON system_logs (timestamp DESC) WHERE level IN ('ERROR', 'CRITICAL');
CREATE INDEX ix_performance_logs_failures ON performance_logs (timestamp DESC) WHERE status <> 'success';
CREATE INDEX ix_error_logs_component_ts ON error_logs (component, timestamp DESC);
