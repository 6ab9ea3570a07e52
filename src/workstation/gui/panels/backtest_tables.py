"""Tables of the backtest panel: metrics (one run or two side by side), trades, stored runs, sweep points."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QTableWidget, QTableWidgetItem

from workstation.gui.tables import DOWN, UP, Column, fmt_number, fmt_time
from workstation.reports.backtest import METRICS as REPORT_METRICS

# Metric key → (label, kind): the backtest report's list (one definition), plus the final value the panel
# also ranks sweeps by.
METRICS: tuple[tuple[str, str, str], ...] = (*REPORT_METRICS, ("final_value", "Final value", "money"))
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


def format_metric(value: Any, kind: str) -> str:
    if value is None:
        return "—"
    number = float(value)
    if kind == "percent":
        return f"{number:.2%}"
    if kind == "int":
        return f"{number:,.0f}"
    if kind == "money":
        return f"{number:,.2f}"
    return f"{number:.3f}"


def read_only_table(name: str, headers: Sequence[str]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setObjectName(name)
    table.setHorizontalHeaderLabels(list(headers))
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.verticalHeader().hide()
    table.verticalHeader().setDefaultSectionSize(22)
    table.horizontalHeader().setStretchLastSection(True)
    table.setAlternatingRowColors(True)
    return table


def fill_rows(table: QTableWidget, rows: Sequence[Sequence[str]], numeric_from: int = 1) -> None:
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            item = QTableWidgetItem(text)
            if c >= numeric_from:
                item.setTextAlignment(_RIGHT)
            table.setItem(r, c, item)
    table.resizeColumnsToContents()


def metric_rows(metrics: Mapping[str, Any], extra: Mapping[str, Any] | None = None) -> list[tuple[str, str]]:
    values = dict(metrics) | dict(extra or {})
    return [(label, format_metric(values.get(key), kind)) for key, label, kind in METRICS if key in values]


def compare_rows(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[tuple[str, str, str, str]]:
    """Metric, run A, run B and B − A (in the metric's own unit)."""
    rows = []
    for key, label, kind in METRICS:
        if key not in a and key not in b:
            continue
        left, right = a.get(key), b.get(key)
        delta = None if left is None or right is None else float(right) - float(left)
        shown = format_metric(delta, kind) if delta is not None else "—"
        rows.append((label, format_metric(left, kind), format_metric(right, kind), shown))
    return rows


def _price(value: Any) -> str:
    return "—" if value is None else f"{float(value):,.4f}".rstrip("0").rstrip(".")


def _pnl_color(trade: Mapping[str, Any]) -> str | None:
    pnl = trade.get("pnl") or 0.0
    return UP if pnl > 0 else DOWN if pnl < 0 else None


TRADE_COLUMNS: list[Column[dict[str, Any]]] = [
    Column("Symbol", lambda t: t["symbol"]),
    Column("Side", lambda t: t["direction"]),
    Column("Qty", lambda t: t["quantity"], fmt_number(0), numeric=True),
    Column("Entry", lambda t: t["entry_time"], fmt_time),
    Column("Entry price", lambda t: t["entry_price"], _price, numeric=True),
    Column("Exit", lambda t: t["exit_time"], lambda v: "open" if v is None else fmt_time(v)),
    Column("Exit / mark", lambda t: t["exit_price"], _price, numeric=True),
    Column("P&L", lambda t: t["pnl"], fmt_number(2, signed=True), numeric=True, color=_pnl_color),
]


def run_label(run: Mapping[str, Any]) -> str:
    params = run.get("parameters") or {}
    shown = " ".join(f"{k}={v}" for k, v in params.items() if k in ("fast", "slow", "qty", "interval"))
    return f"{run['run_id']} · {run['strategy']} {shown} · {', '.join(run.get('symbols') or [])}"


RUN_COLUMNS: list[Column[dict[str, Any]]] = [
    Column("Run", lambda r: r["run_id"]),
    Column("Strategy", lambda r: r["strategy"]),
    Column(
        "Parameters",
        lambda r: " ".join(f"{k}={v}" for k, v in (r.get("parameters") or {}).items()),
    ),
    Column("Symbols", lambda r: ", ".join(r.get("symbols") or [])),
    Column("Return", lambda r: float(r["total_return"]), lambda v: f"{v:.2%}", numeric=True),
    Column("Sharpe", lambda r: (r.get("metrics") or {}).get("sharpe"), fmt_number(3), numeric=True),
    Column(
        "Max DD",
        lambda r: (r.get("metrics") or {}).get("max_drawdown"),
        lambda v: "—" if v is None else f"{v:.2%}",
        numeric=True,
    ),
    Column("Stored", lambda r: r.get("created_at"), fmt_time),
]
