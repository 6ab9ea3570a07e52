"""Blocks shared by the backtest and trading reports: equity and drawdown charts, monthly returns."""

from __future__ import annotations

import calendar
from collections.abc import Sequence

import numpy as np
import pandas as pd

from workstation.reports.document import Block, Column, LineChart, Table

_MONTHS = list(calendar.month_abbr)[1:]


def drawdown(equity: pd.Series) -> pd.Series:
    """Fall from the running peak, as a negative fraction (0 at a new high)."""
    values = equity.astype("float64")
    peak = values.cummax()
    return (values / peak - 1.0).fillna(0.0)


def monthly_returns(equity: pd.Series) -> list[dict[str, object]]:
    """One row per year: the return of each month (month-end equity over the previous month-end) and the year."""
    if equity.empty:
        return []
    values = equity.astype("float64")
    index = pd.DatetimeIndex(values.index)
    if index.tz is not None:
        values.index = index.tz_convert("UTC").tz_localize(None)
    month_end = values.resample("ME").last().dropna()
    # The first month is measured from the first point, not from a month-end before the data.
    previous = month_end.shift(1)
    previous.iloc[0] = float(values.iloc[0])
    returns = month_end / previous - 1.0
    rows: list[dict[str, object]] = []
    for year in sorted({stamp.year for stamp in returns.index}):
        row: dict[str, object] = {"year": str(year)}
        in_year = returns[pd.DatetimeIndex(returns.index).year == year]
        for stamp, value in in_year.items():
            row[_MONTHS[pd.Timestamp(stamp).month - 1]] = float(value)
        row["year_total"] = float(np.prod(1.0 + in_year.to_numpy()) - 1.0)
        rows.append(row)
    return rows


def performance_blocks(
    equity: pd.Series, *, title: str = "Equity", benchmark: pd.Series | None = None, benchmark_name: str = ""
) -> list[Block]:
    """Equity and drawdown charts and the monthly returns; ``benchmark`` (on the same timeline) is drawn as a
    second line in both charts."""
    stamps = [pd.Timestamp(t).to_pydatetime() for t in equity.index]
    lines: dict[str, Sequence[float]] = {"equity": equity.astype("float64").tolist()}
    falls: dict[str, Sequence[float]] = {"drawdown": drawdown(equity).tolist()}
    if benchmark is not None:
        lines = {"Strategy": lines["equity"], benchmark_name: benchmark.astype("float64").tolist()}
        falls = {"Strategy": falls["drawdown"], benchmark_name: drawdown(benchmark).tolist()}
    blocks: list[Block] = [
        LineChart(title, stamps, lines, "money"),
        LineChart("Drawdown", stamps, falls, "percent", fill_below_zero=True),
        Table(
            "monthly_returns",
            "Monthly returns",
            [Column("year", "Year")]
            + [Column(m, m, "percent", 1) for m in _MONTHS]
            + [Column("year_total", "Year", "percent", 1)],
            monthly_returns(equity),
            note="Month-end equity over the previous month-end; the first month starts at the first point.",
        ),
    ]
    return blocks
