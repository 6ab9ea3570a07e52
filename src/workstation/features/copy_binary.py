"""PostgreSQL binary COPY rows built with numpy: one symbol's rows become one bytes buffer, no per-row Python.

Each row is: int16 field count, then per field int32 length + payload (length -1 and no payload for
NULL). The text fields of a symbol's rows are constant, the timestamps are int64 microseconds since
2000-01-01 UTC, the doubles are big-endian IEEE 754; NaN cells become NULL.
"""

from __future__ import annotations

import struct

import numpy as np
from numpy.typing import NDArray

from workstation.features.spec import FloatArray

HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
TRAILER = struct.pack(">h", -1)
_PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01T00:00:00Z in Unix microseconds
_DOUBLE_LEN = np.frombuffer(struct.pack(">i", 8), dtype=np.uint8)
_NULL_LEN = np.frombuffer(struct.pack(">i", -1), dtype=np.uint8)


def _text_field(value: str) -> bytes:
    raw = value.encode("utf-8")
    return struct.pack(">i", len(raw)) + raw


def encode_rows(
    leading_text: tuple[str, ...],
    timestamps_us: NDArray[np.int64],
    between_text: tuple[str, ...],
    doubles: FloatArray,
    trailing_text: tuple[str, ...],
) -> bytes:
    """Rows of (leading texts, timestamptz, between texts, doubles..., trailing texts), without header/trailer."""
    n, k = doubles.shape
    field_count = len(leading_text) + 1 + len(between_text) + k + len(trailing_text)
    prefix_a = np.frombuffer(struct.pack(">h", field_count) + b"".join(map(_text_field, leading_text)), np.uint8)
    prefix_b = np.frombuffer(b"".join(map(_text_field, between_text)), np.uint8)
    suffix = np.frombuffer(b"".join(map(_text_field, trailing_text)), np.uint8)

    stamps = np.empty((n, 12), dtype=np.uint8)
    stamps[:, :4] = _DOUBLE_LEN
    stamps[:, 4:] = (timestamps_us - _PG_EPOCH_US).astype(">i8").view(np.uint8).reshape(n, 8)

    cells = np.empty((n, k, 12), dtype=np.uint8)
    cells[:, :, :4] = _DOUBLE_LEN
    cells[:, :, 4:] = np.ascontiguousarray(doubles, dtype=">f8").view(np.uint8).reshape(n, k, 8)
    nulls = np.isnan(doubles)

    parts = [
        np.broadcast_to(prefix_a, (n, len(prefix_a))),
        stamps,
        np.broadcast_to(prefix_b, (n, len(prefix_b))),
        cells.reshape(n, k * 12),
        np.broadcast_to(suffix, (n, len(suffix))),
    ]
    rows = np.concatenate(parts, axis=1)
    if not nulls.any():
        return rows.tobytes()
    # A NULL cell keeps only its 4-byte length, set to -1: mark its payload bytes for removal.
    cells[nulls, :4] = _NULL_LEN
    rows[:, len(prefix_a) + 12 + len(prefix_b) : len(prefix_a) + 12 + len(prefix_b) + k * 12] = cells.reshape(n, -1)
    keep = np.ones(rows.shape, dtype=bool)
    cell_keep = np.ones((n, k, 12), dtype=bool)
    cell_keep[nulls, 4:] = False
    start = len(prefix_a) + 12 + len(prefix_b)
    keep[:, start : start + k * 12] = cell_keep.reshape(n, -1)
    return rows[keep].tobytes()
