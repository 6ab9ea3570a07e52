"""Trading: one order path (strategy → risk → order manager → broker) for backtest, replay and live."""
