"""Framing of PostgreSQL's binary COPY format, shared by every bulk writer (bars, features).

A payload is HEADER, then one tuple per row (a 16-bit field count, then per field a 32-bit length
and the value in network byte order), then TRAILER. Timestamps are microseconds since 2000-01-01 UTC.
"""

from __future__ import annotations

import struct

HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)  # signature, flags, header-extension length
TRAILER = struct.pack(">h", -1)
PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01T00:00:00Z in Unix microseconds
