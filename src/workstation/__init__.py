"""workstation: a desktop trading workstation for systematic US-equity trading through Alpaca."""

__version__ = "0.1.0"
