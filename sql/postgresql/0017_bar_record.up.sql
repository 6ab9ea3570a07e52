-- Each bar also as the fixed-size binary record every PostgreSQL reader unpacks (see migration
-- 0017_bar_record). Generated, so it can never disagree with the columns; every partition is rewritten once.
ALTER TABLE market_data ADD COLUMN bar_record bytea GENERATED ALWAYS AS (
    timestamptz_send(timestamp)
    || int8send((open * 1000000)::bigint) || int8send((high * 1000000)::bigint)
    || int8send((low * 1000000)::bigint) || int8send((close * 1000000)::bigint)
    || int8send(volume)
) STORED;

-- The covering unique key carries the record instead of the NUMERIC prices and the volume: same key, same
-- role (idempotency, the chart query, the ingest's comparison with stored bars), read index-only.
CREATE UNIQUE INDEX ix_market_data_bar_key ON market_data (symbol, interval, timestamp, source)
    INCLUDE (bar_record);

DROP INDEX ix_market_data_chart;

ALTER INDEX ix_market_data_bar_key RENAME TO ix_market_data_chart;
