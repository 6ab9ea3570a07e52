"""The backtester: strategies over stored bars through the same order manager, risk checks and paper broker."""
