-- Back to the unique key plus the separate covering chart index of 0001, one id per sequence call.
ALTER TABLE market_data ALTER COLUMN id SET CACHE 1;

ALTER TABLE market_data ADD CONSTRAINT uq_market_data_symbol_interval_timestamp_source
    UNIQUE (symbol, interval, timestamp, source);

DROP INDEX ix_market_data_chart;

CREATE INDEX ix_market_data_chart ON market_data (symbol, interval, timestamp)
    INCLUDE (open, high, low, close, volume, source);
