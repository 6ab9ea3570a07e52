-- Back to the covering unique key of 0007 over the NUMERIC prices, then the record goes.
CREATE UNIQUE INDEX ix_market_data_bar_key ON market_data (symbol, interval, timestamp, source)
    INCLUDE (open, high, low, close, volume);

DROP INDEX ix_market_data_chart;

ALTER INDEX ix_market_data_bar_key RENAME TO ix_market_data_chart;

ALTER TABLE market_data DROP COLUMN bar_record;
