"""Tables of the live market-data feed beyond the shared ORM (created by migration 0013_feed).

* ``feed_leases``: who owns an account's data connection (one row per account; see market.stream.lease).
* ``market_data_events``: one row per bar the feed inserted or revised, written in the same transaction
  as the bar; other processes read it from their last id on (market.notify) instead of scanning
  market_data. Ids only grow (AUTOINCREMENT on SQLite too, so pruning never lets an id come back).

Declared with SQLAlchemy Core on their own MetaData, like trading.tables.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Identity, Index, MetaData, String, Table

from workstation.db.base import NAMING_CONVENTION, utcnow
from workstation.db.types import BigId, JSONDocument, Price, UTCDateTime

metadata = MetaData(naming_convention=NAMING_CONVENTION)

feed_leases = Table(
    "feed_leases",
    metadata,
    # A hash of the API key id: the connection limit is per account, whatever the feed.
    Column("account", String(64), primary_key=True),
    Column("role", String(16), nullable=False),  # feed (workstation feed run) | window
    Column("holder", String(64), nullable=False),  # a random token per process and lease
    Column("description", String(255), nullable=False),  # "feed run, pid 4242 on host"
    Column("acquired_at", UTCDateTime(), nullable=False),
    Column("heartbeat_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    # Set by a process of a higher role (feed run) that wants the connection; the holder hands over.
    Column("handover_requested_by", String(255)),
    Column("status", JSONDocument),  # the owner's FeedStatus, refreshed with every heartbeat
)

market_data_events = Table(
    "market_data_events",
    metadata,
    Column("id", BigId, Identity(), primary_key=True),
    Column("symbol", String(32), nullable=False),
    Column("interval", String(8), nullable=False),
    Column("source", String(32), nullable=False),
    Column("timestamp", UTCDateTime(), nullable=False),
    Column("open", Price, nullable=False),
    Column("high", Price, nullable=False),
    Column("low", Price, nullable=False),
    Column("close", Price, nullable=False),
    Column("volume", BigInteger, nullable=False),
    Column("revised", Boolean, nullable=False),  # an update of a bar stored before (not a new bar)
    Column("created_at", UTCDateTime(), nullable=False, default=utcnow),
    Index("ix_market_data_events_created_at", "created_at"),
    sqlite_autoincrement=True,
)

__all__ = ["feed_leases", "market_data_events", "metadata"]
