"""Execution integrity: the state machine's transitions, fill identity, timings and reconciliation.

The database is the one truth for order state. Every process (window, CLI, ``trade run``) changes an
order by reading it locked, deciding the change here (pure functions, no I/O) and writing it back
conditionally on the version it read, together with its trading events, under the account's lock.
"""
