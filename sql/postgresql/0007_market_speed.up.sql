-- One covering unique index replaces the unique key and the chart index (see migration 0007_market_speed).
CREATE UNIQUE INDEX ix_market_data_bar_key ON market_data (symbol, interval, timestamp, source)
    INCLUDE (open, high, low, close, volume);

DROP INDEX ix_market_data_chart;

ALTER TABLE market_data DROP CONSTRAINT uq_market_data_symbol_interval_timestamp_source;

ALTER INDEX ix_market_data_bar_key RENAME TO ix_market_data_chart;
