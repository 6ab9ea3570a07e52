"""PostgreSQL binary COPY rows built with numpy: one symbol's rows become one bytes buffer, no per-row Python.

Each row is: int16 field count, then per field int32 length + payload (length -1 and no payload for
NULL). The text fields of a symbol's rows are constant, the timestamps are int64 microseconds since
2000-01-01 UTC, the doubles are big-endian IEEE 754; NaN cells become NULL.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
from numpy.typing import NDArray

from workstation.db.pgbinary import HEADER, PG_EPOCH_US, TRAILER
from workstation.features.spec import FloatArray

__all__ = ["HEADER", "PG_EPOCH_US", "TRAILER", "encode_rows"]


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
    lead = struct.pack(">h", field_count) + b"".join(map(_text_field, leading_text))
    mid = b"".join(map(_text_field, between_text))
    trail = b"".join(map(_text_field, trailing_text))
    # One packed record per row, laid out exactly as COPY BINARY wants it.
    fields: list[Any] = [("lead", f"V{len(lead)}"), ("ts_len", ">i4"), ("ts", ">i8")]
    if mid:
        fields.append(("mid", f"V{len(mid)}"))
    fields += [("cells", [("len", ">i4"), ("value", ">f8")], (k,))]
    if trail:
        fields.append(("trail", f"V{len(trail)}"))
    record = np.empty(n, dtype=np.dtype(fields))
    record["lead"] = np.void(lead)
    record["ts_len"] = 8
    record["ts"] = timestamps_us - PG_EPOCH_US
    if mid:
        record["mid"] = np.void(mid)
    nulls = np.isnan(doubles)
    record["cells"]["len"] = np.where(nulls, -1, 8)
    record["cells"]["value"] = doubles
    if trail:
        record["trail"] = np.void(trail)
    rows = record.view(np.uint8).reshape(n, record.dtype.itemsize)
    sparse = nulls.any(axis=1)
    if not sparse.any():
        return rows.tobytes()
    # A NULL cell keeps only its 4-byte length (-1): its 8 payload bytes are dropped. Rows with NULLs are
    # few (the warm-up), so only they go through the slower masked copy; row order is kept.
    layout = record.dtype.fields
    assert layout is not None
    first_cell = int(layout["cells"][1])
    keep = np.ones((int(sparse.sum()), rows.shape[1]), dtype=bool)
    payload = keep[:, first_cell : first_cell + k * 12].reshape(-1, k, 12)
    payload[:, :, 4:] = ~nulls[sparse][:, :, None]
    out = bytearray()
    bounds = np.flatnonzero(np.diff(np.concatenate(([False], sparse, [False])).astype(np.int8)))
    dense_from = 0
    sparse_seen = 0
    for begin, end in zip(bounds[::2], bounds[1::2], strict=True):
        out += rows[dense_from:begin].tobytes()
        count = end - begin
        out += rows[begin:end][keep[sparse_seen : sparse_seen + count]].tobytes()
        sparse_seen += count
        dense_from = end
    out += rows[dense_from:].tobytes()
    return bytes(out)
