"""The numpy COPY BINARY encoder produces exactly the bytes of a row-by-row reference encoder."""

from __future__ import annotations

import struct

import numpy as np

from workstation.features.copy_binary import encode_rows


def _reference(lead: tuple[str, ...], stamps: np.ndarray, mid: tuple[str, ...], doubles: np.ndarray,
               trail: tuple[str, ...]) -> bytes:  # fmt: skip
    def text(value: str) -> bytes:
        return struct.pack(">i", len(value.encode())) + value.encode()

    out = b""
    for i in range(doubles.shape[0]):
        out += struct.pack(">h", len(lead) + 1 + len(mid) + doubles.shape[1] + len(trail))
        out += b"".join(map(text, lead)) + struct.pack(">iq", 8, int(stamps[i]) - 946_684_800_000_000)
        out += b"".join(map(text, mid))
        out += b"".join(struct.pack(">i", -1) if np.isnan(v) else struct.pack(">id", 8, v) for v in doubles[i])
        out += b"".join(map(text, trail))
    return out


def test_encoder_matches_reference_with_nulls_anywhere() -> None:
    rng = np.random.default_rng(0)
    doubles = rng.normal(size=(120, 9))
    doubles[:30, 2] = np.nan  # warm-up
    doubles[60:62, 5] = np.nan  # a gap in the middle
    doubles[119, 0] = np.nan
    stamps = 1_600_000_000_000_000 + np.arange(120, dtype=np.int64) * 86_400_000_000
    args = (("ÄBC", "1d"), stamps, ("yahoo",), doubles, ("3.0",))
    assert encode_rows(*args) == _reference(*args)


def test_encoder_without_nulls_or_optional_text() -> None:
    doubles = np.arange(12, dtype=np.float64).reshape(4, 3)
    stamps = np.arange(4, dtype=np.int64)
    assert encode_rows(("X",), stamps, (), doubles, ()) == _reference(("X",), stamps, (), doubles, ())
