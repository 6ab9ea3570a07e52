"""Market data: providers (Yahoo, Alpaca, CSV, synthetic demo), validation, corporate actions, bar store."""
