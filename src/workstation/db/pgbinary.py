"""PostgreSQL's binary formats shared by the bulk paths: COPY framing (writers) and array_send (readers).

A COPY payload is HEADER, then one tuple per row (a 16-bit field count, then per field a 32-bit length
and the value in network byte order), then TRAILER. Timestamps are microseconds since 2000-01-01 UTC.
A one-dimensional ``array_send`` value is a 20-byte header, then per element a 32-bit length and the
value; ``unpack_array`` reads its elements with one numpy view (no Python object per element).
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
from numpy.typing import NDArray

HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)  # signature, flags, header-extension length
TRAILER = struct.pack(">h", -1)
PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01T00:00:00Z in Unix microseconds

ARRAY_HEADER = 20  # one-dimensional array_send: ndim, flags, element type, length, lower bound
DOUBLES = np.dtype([("len", ">i4"), ("value", ">f8")])
INT64S = np.dtype([("len", ">i4"), ("value", ">i8")])  # int8 and timestamptz elements


def unpack_array(data: bytes | None, dtype: np.dtype[Any]) -> NDArray[Any]:
    """The elements of an ``array_send`` value without NULLs (None: an aggregate over no rows)."""
    if data is None:
        return np.empty(0, dtype=dtype)["value"]
    return np.frombuffer(data, dtype=dtype, offset=ARRAY_HEADER)["value"]
