"""Strategies turn bars (and stored predictions) into order intents."""
