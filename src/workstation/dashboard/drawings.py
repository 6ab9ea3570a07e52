"""Chart drawings saved per symbol: horizontal lines, trend lines and price alerts (no Qt here).

A drawing is anchored in time and price, never in bar indices (indices differ between intervals):
a horizontal line or an alert is one price; a trend line is two (bar time, price) points. They live
in ``chart_drawings.json`` in the user data directory, by symbol.

A price alert is *armed* at a level on one side of the price when it was set ("above": it fires when
the price reaches the level from below; "below": from above). ``fire_alerts`` is called with every
new last price (the chart's live bar today, a stream later): each armed alert whose level the price
has reached fires once, is stamped ``triggered_at`` and stays visible, disarmed, until the user moves
(re-arms) or deletes it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from workstation.dashboard.json_file import read_json, write_json
from workstation.paths import user_data_dir

DRAWINGS_FILE = "chart_drawings.json"
Kind = Literal["hline", "trend", "alert"]
Direction = Literal["above", "below"]
Point = tuple[datetime | None, float]
KINDS: tuple[str, ...] = ("hline", "trend", "alert")


def _new_id() -> str:
    return uuid.uuid4().hex[:12]


@dataclass(frozen=True, slots=True)
class Drawing:
    kind: Kind
    points: tuple[Point, ...]
    id: str = field(default_factory=_new_id)
    direction: Direction | None = None  # alerts only
    triggered_at: datetime | None = None  # alerts only: when it fired (None: armed)

    @property
    def price(self) -> float:
        """The level of a horizontal line or an alert (a trend line's first point)."""
        return self.points[0][1]

    @property
    def armed(self) -> bool:
        return self.kind == "alert" and self.triggered_at is None

    def reached(self, price: float) -> bool:
        """Has ``price`` reached this alert's level from the side it was armed on?"""
        if self.direction == "above":
            return price >= self.price
        return price <= self.price

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "points": [[t.isoformat() if t is not None else None, p] for t, p in self.points],
            "direction": self.direction,
            "triggered_at": self.triggered_at.isoformat() if self.triggered_at else None,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Drawing | None:
        """None for an entry this version cannot read (skipped, not fatal)."""
        try:
            kind = raw["kind"]
            if kind not in KINDS:
                return None
            points = tuple((_when(t), float(p)) for t, p in raw["points"])
            direction = raw.get("direction")
            return cls(
                kind=kind,
                points=points,
                id=str(raw.get("id") or _new_id()),
                direction=direction if direction in ("above", "below") else None,
                triggered_at=_when(raw.get("triggered_at")),
            )
        except (KeyError, TypeError, ValueError):
            return None


def _when(value: object) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def horizontal_line(price: float) -> Drawing:
    return Drawing("hline", ((None, float(price)),))


def trend_line(start: Point, end: Point) -> Drawing:
    return Drawing("trend", (start, end))


def price_alert(level: float, last_price: float) -> Drawing:
    """An alert at ``level``, armed on the side away from the current price."""
    direction: Direction = "above" if level >= last_price else "below"
    return Drawing("alert", ((None, float(level)),), direction=direction)


def moved(drawing: Drawing, points: Sequence[Point], last_price: float | None = None) -> Drawing:
    """The drawing at new points; a moved alert is armed again on the side away from ``last_price``."""
    updated = replace(drawing, points=tuple(points))
    if drawing.kind == "alert" and last_price is not None:
        updated = replace(updated, direction="above" if updated.price >= last_price else "below", triggered_at=None)
    return updated


class DrawingStore:
    """The drawings of every symbol, cached in memory and written through to the JSON file."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._by_symbol: dict[str, list[Drawing]] | None = None

    @property
    def path(self) -> Path:
        return self._path or user_data_dir() / DRAWINGS_FILE

    def _all(self) -> dict[str, list[Drawing]]:
        if self._by_symbol is None:
            document = read_json(self.path)
            symbols = document.get("symbols", {}) if isinstance(document.get("symbols"), dict) else {}
            self._by_symbol = {
                str(symbol).upper(): [d for d in (Drawing.from_json(r) for r in rows if isinstance(r, dict)) if d]
                for symbol, rows in symbols.items()
                if isinstance(rows, list)
            }
        return self._by_symbol

    def load(self, symbol: str) -> list[Drawing]:
        return list(self._all().get(symbol.upper(), []))

    def save(self, symbol: str, drawings: Sequence[Drawing]) -> None:
        every = self._all()
        if drawings:
            every[symbol.upper()] = list(drawings)
        else:
            every.pop(symbol.upper(), None)
        write_json(
            self.path, {"version": 1, "symbols": {s: [d.to_json() for d in ds] for s, ds in sorted(every.items())}}
        )

    def armed_symbols(self) -> list[str]:
        return sorted(s for s, ds in self._all().items() if any(d.armed for d in ds))

    def fire_alerts(self, symbol: str, price: float, when: datetime | None = None) -> list[Drawing]:
        """The armed alerts of ``symbol`` that ``price`` reaches, now stamped as fired (and saved)."""
        drawings = self.load(symbol)
        fired: list[Drawing] = []
        stamp = when or datetime.now(UTC)
        for i, drawing in enumerate(drawings):
            if drawing.armed and drawing.reached(price):
                drawings[i] = replace(drawing, triggered_at=stamp)
                fired.append(drawings[i])
        if fired:
            self.save(symbol, drawings)
        return fired
