"""The report document model: what a report says, independent of the format it is written in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

# How a column's values are shown to people (CSV/XLSX keep the raw values).
ColumnFormat = Literal["text", "int", "number", "money", "percent", "datetime", "date"]


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    title: str
    format: ColumnFormat = "text"
    decimals: int = 2


@dataclass(slots=True)
class Table:
    name: str  # sheet / file name: short, unique within the report
    title: str
    columns: Sequence[Column]
    rows: list[dict[str, Any]]
    note: str = ""


@dataclass(slots=True)
class KeyValues:
    """A "metric: value" block, e.g. the metrics of a backtest. With several ``value_titles`` each item's
    value is a tuple with one value per title (a strategy next to its benchmark), formatted alike."""

    title: str
    items: list[tuple[str, Any, ColumnFormat]]
    value_titles: tuple[str, ...] = ("Value",)

    def values(self, value: Any) -> tuple[Any, ...]:
        return tuple(value) if len(self.value_titles) > 1 else (value,)


@dataclass(slots=True)
class LineChart:
    title: str
    x: Sequence[datetime]
    series: dict[str, Sequence[float]]
    y_format: ColumnFormat = "number"
    fill_below_zero: bool = False  # drawdown charts


@dataclass(slots=True)
class Paragraph:
    text: str


Block = Table | KeyValues | LineChart | Paragraph


@dataclass(slots=True)
class Section:
    title: str
    blocks: list[Block] = field(default_factory=list)


@dataclass(slots=True)
class ReportDocument:
    kind: str
    title: str
    subtitle: str
    generated_at: datetime
    timezone: str  # the zone every time in the report is shown in
    sections: list[Section] = field(default_factory=list)

    def tables(self) -> list[Table]:
        found: list[Table] = []
        for section in self.sections:
            for block in section.blocks:
                if isinstance(block, Table):
                    found.append(block)
                elif isinstance(block, KeyValues):
                    keys = ["value"] if len(block.value_titles) == 1 else [_sheet_name(t) for t in block.value_titles]
                    found.append(
                        Table(
                            name=_sheet_name(block.title),
                            title=block.title,
                            columns=[Column("metric", "Metric")]
                            + [Column(k, t) for k, t in zip(keys, block.value_titles, strict=True)],
                            rows=[
                                {"metric": k} | dict(zip(keys, block.values(v), strict=True)) for k, v, _ in block.items
                            ],
                        )
                    )
        return found


def _sheet_name(title: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in title.lower()).strip("_")[:31] or "table"
