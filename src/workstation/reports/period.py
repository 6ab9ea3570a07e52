"""The time window a report covers (inclusive dates, interpreted in UTC)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement


@dataclass(frozen=True, slots=True)
class ReportPeriod:
    start: date | None = None
    end: date | None = None

    @property
    def start_at(self) -> datetime | None:
        return datetime.combine(self.start, time.min, tzinfo=UTC) if self.start else None

    @property
    def end_before(self) -> datetime | None:
        """The first instant after the period (``end`` is inclusive)."""
        return datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=UTC) if self.end else None

    def where(self, column: Any) -> list[ColumnElement[bool]]:
        clauses: list[ColumnElement[bool]] = []
        if self.start_at is not None:
            clauses.append(column >= self.start_at)
        if self.end_before is not None:
            clauses.append(column < self.end_before)
        return clauses

    def contains(self, moment: datetime) -> bool:
        return (self.start_at is None or moment >= self.start_at) and (
            self.end_before is None or moment < self.end_before
        )

    def describe(self) -> str:
        if self.start and self.end:
            return f"{self.start:%Y-%m-%d} to {self.end:%Y-%m-%d} (UTC)"
        if self.start:
            return f"from {self.start:%Y-%m-%d} (UTC)"
        if self.end:
            return f"until {self.end:%Y-%m-%d} (UTC)"
        return "all recorded history"
