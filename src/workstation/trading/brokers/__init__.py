"""Broker adapters behind one interface: the embedded paper broker and Alpaca."""
