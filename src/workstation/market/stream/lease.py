"""Who owns an account's data connection: one lease row per account in ``feed_leases``.

Alpaca allows one data connection per account; several processes (the window, ``feed run``, ``trade
run``, a second window) may run at once. Exactly one of them — the lease holder — connects; the others
read bars from the database (market.notify).

* **Acquire** is one conditional statement (compare-and-set): take the row when it is free, expired, or
  already ours. It works the same on SQLite and PostgreSQL and survives a crashed holder: a lease that is
  not renewed expires after ``ttl`` seconds (15 by default; holders renew every ``ttl / 5``).
* **Roles**: ``feed`` (``workstation feed run``) outranks ``window``. A feed run that finds a window
  holding the lease sets ``handover_requested_by``; the window sees it at its next renewal, closes its
  connection, releases the lease and becomes a consumer; the feed run then takes it. Two holders of the
  same role do not take from each other: the second one waits (window) or is refused (feed run).
* Times come from the database server on PostgreSQL (``clock_timestamp()``), so hosts with skewed clocks
  agree; SQLite is a local file, so the local clock is the database's clock.
* Why not a PostgreSQL advisory lock: SQLite has none, and a lock cannot carry the handover request or
  the owner's published status that other processes show.
"""

from __future__ import annotations

import hashlib
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Connection, Engine, and_, delete, or_, select, text, update

from workstation.db.upsert import conflict_insert
from workstation.market.stream.events import FeedStatus
from workstation.market.tables import feed_leases

Role = Literal["feed", "window"]
RANK: dict[str, int] = {"window": 0, "feed": 1}


def account_key(key_id: str) -> str:
    """The lease's account: a hash of the API key id (the limit is per account, whatever the feed)."""
    return hashlib.sha256(f"alpaca-data:{key_id}".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class LeaseHolder:
    account: str
    role: str
    holder: str
    description: str
    acquired_at: datetime
    heartbeat_at: datetime
    expires_at: datetime
    handover_requested_by: str | None
    status: FeedStatus | None

    @classmethod
    def from_row(cls, row: Any) -> LeaseHolder:
        status = FeedStatus.from_dict(row.status) if row.status else None
        return cls(
            row.account,
            row.role,
            row.holder,
            row.description,
            row.acquired_at,
            row.heartbeat_at,
            row.expires_at,
            row.handover_requested_by,
            status,
        )


def _now(conn: Connection) -> datetime:
    if conn.dialect.name == "postgresql":
        value: datetime = conn.execute(text("SELECT clock_timestamp()")).scalar_one()
        return value.astimezone(UTC)
    return datetime.now(UTC)


def describe_process(role: str) -> str:
    what = "feed run" if role == "feed" else "window"
    return f"{what}, pid {os.getpid()} on {socket.gethostname()}"


class FeedLease:
    """This process's claim on one account's data connection."""

    def __init__(
        self, engine: Engine, account: str, role: Role, *, ttl: float = 15.0, description: str | None = None
    ) -> None:
        if role not in RANK:
            raise ValueError(f"unknown role {role!r}")
        self.engine = engine
        self.account = account
        self.role = role
        self.ttl = timedelta(seconds=ttl)
        self.description = description or describe_process(role)
        self.token = uuid.uuid4().hex
        self.held = False

    def try_acquire(self, status: FeedStatus | None = None) -> LeaseHolder | None:
        """Take the lease if it is free, expired or ours (returns None); else the current holder, after
        asking it to hand over when our role outranks its role."""
        t = feed_leases.c
        with self.engine.begin() as conn:
            now = _now(conn)
            values = self._values(now, status)
            # RETURNING tells whether a row was taken (an INSERT's rowcount is -1 through psycopg).
            taken = conn.execute(
                update(feed_leases)
                .where(t.account == self.account, or_(t.holder == self.token, t.expires_at < now))
                .values(acquired_at=now, **values)
                .returning(t.account)
            ).first()
            if taken is None:
                taken = conn.execute(
                    conflict_insert(conn, feed_leases)
                    .values(account=self.account, acquired_at=now, **values)
                    .on_conflict_do_nothing(index_elements=["account"])
                    .returning(t.account)
                ).first()
            if taken is not None:
                self.held = True
                return None
            row = conn.execute(select(feed_leases).where(t.account == self.account)).first()
            if row is None:  # released between our statements: try again next time
                return None if self.try_acquire(status) is None else self.holder()
            holder = LeaseHolder.from_row(row)
            if RANK[self.role] > RANK.get(holder.role, 0) and holder.handover_requested_by is None:
                conn.execute(
                    update(feed_leases)
                    .where(t.account == self.account, t.holder == holder.holder)
                    .values(handover_requested_by=self.description)
                )
            self.held = False
            return holder

    def renew(self, status: FeedStatus | None = None) -> bool:
        """Extend the lease and publish ``status``; False when it is no longer ours or a process of a
        higher role asked for it (the caller then stops streaming and calls ``release``)."""
        t = feed_leases.c
        with self.engine.begin() as conn:
            now = _now(conn)
            values = {
                "heartbeat_at": now,
                "expires_at": now + self.ttl,
                "status": status.to_dict() if status is not None else None,
            }
            row = conn.execute(
                update(feed_leases)
                .where(t.account == self.account, t.holder == self.token)
                .values(**values)
                .returning(t.handover_requested_by)
            ).first()
        self.held = row is not None and row[0] is None
        return self.held

    def release(self) -> None:
        t = feed_leases.c
        with self.engine.begin() as conn:
            conn.execute(delete(feed_leases).where(and_(t.account == self.account, t.holder == self.token)))
        self.held = False

    def holder(self) -> LeaseHolder | None:
        return read_lease(self.engine, self.account)

    def _values(self, now: datetime, status: FeedStatus | None) -> dict[str, Any]:
        return {
            "role": self.role,
            "holder": self.token,
            "description": self.description,
            "heartbeat_at": now,
            "expires_at": now + self.ttl,
            "handover_requested_by": None,
            "status": status.to_dict() if status is not None else None,
        }


def read_lease(engine: Engine, account: str | None = None) -> LeaseHolder | None:
    """The current lease of ``account`` (or of any account), expired or not."""
    query = select(feed_leases).order_by(feed_leases.c.heartbeat_at.desc()).limit(1)
    if account is not None:
        query = query.where(feed_leases.c.account == account)
    with engine.connect() as conn:
        row = conn.execute(query).first()
    return LeaseHolder.from_row(row) if row is not None else None


def lease_expired(holder: LeaseHolder, engine: Engine) -> bool:
    with engine.connect() as conn:
        return holder.expires_at < _now(conn)
