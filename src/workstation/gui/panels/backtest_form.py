"""The backtest panel's settings: strategy, symbols, dates, parameters and costs → a BacktestRequest."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation

import pandas as pd
from PySide6.QtCore import QDate
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QFormLayout,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from workstation.errors import InvalidInputError
from workstation.gui.tables import named
from workstation.trading.backtest.engine import BacktestConfig
from workstation.trading.backtest.research import BacktestRequest
from workstation.trading.brokers.paper import CommissionModel

EXCHANGE_TZ = "America/New_York"
_OPEN = QDate(1900, 1, 1)


def _date_edit(name: str) -> QDateEdit:
    edit = named(QDateEdit(), name)
    edit.setCalendarPopup(True)
    edit.setDisplayFormat("yyyy-MM-dd")
    edit.setMinimumDate(_OPEN)
    edit.setSpecialValueText("— open —")
    edit.setDate(_OPEN)
    return edit


def _spin(name: str, value: int, low: int = 1, high: int = 1000) -> QSpinBox:
    spin = named(QSpinBox(), name)
    spin.setRange(low, high)
    spin.setValue(value)
    return spin


def _number(edit: QLineEdit, label: str, *, positive: bool = False) -> Decimal:
    text = edit.text().strip().replace(",", "")
    try:
        value = Decimal(text or "0")
    except InvalidOperation:
        raise InvalidInputError(f"{label} must be a number, got {text!r}") from None
    if not value.is_finite() or value < 0 or (positive and value == 0):
        raise InvalidInputError(f"{label} must be {'positive' if positive else 'zero or more'}, got {text!r}")
    return value


class BacktestForm(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.strategy = named(QComboBox(), "backtestStrategy")
        self.strategy.addItems(["sma_cross", "model"])
        self.model_id = named(QComboBox(), "backtestModel")
        self.model_id.setEditable(True)
        self.symbols = named(QLineEdit(), "backtestSymbols")
        self.symbols.setPlaceholderText("the watchlist's selection, e.g. AAPL, MSFT")
        self.interval = named(QComboBox(), "backtestInterval")
        self.interval.setEditable(True)
        self.interval.addItems(["1d", "1h", "15m", "5m", "1m"])
        self.start, self.end = _date_edit("backtestStart"), _date_edit("backtestEnd")
        self.fast, self.slow = _spin("backtestFast", 15), _spin("backtestSlow", 30, 2)
        self.quantity = named(QLineEdit("1000"), "backtestQuantity")
        self.threshold = named(QLineEdit("0.55"), "backtestThreshold")
        self.exit_threshold = named(QLineEdit("0.5"), "backtestExitThreshold")
        self.cash = named(QLineEdit("100000"), "backtestCash")
        self.commission = named(QComboBox(), "backtestCommissionModel")
        self.commission.addItems(["none", "rate of traded value", "per share", "per share with minimum"])
        self.rate = named(QLineEdit("0.001"), "backtestCommissionRate")
        self.per_share = named(QLineEdit("0.005"), "backtestCommissionPerShare")
        self.minimum = named(QLineEdit("1"), "backtestCommissionMin")
        self.slippage = named(QLineEdit("0"), "backtestSlippageBps")
        self.benchmark = named(QLineEdit(), "backtestBenchmark")
        self.benchmark.setPlaceholderText("optional, e.g. SPY")
        form = self._form = QFormLayout(self)
        form.addRow("Strategy", self.strategy)
        form.addRow("Model", self.model_id)
        form.addRow("Symbols", self.symbols)
        form.addRow("Interval", self.interval)
        form.addRow("From", self.start)
        form.addRow("To", self.end)
        form.addRow("Fast SMA", self.fast)
        form.addRow("Slow SMA", self.slow)
        form.addRow("Shares per entry", self.quantity)
        form.addRow("Entry confidence", self.threshold)
        form.addRow("Exit below", self.exit_threshold)
        form.addRow("Starting cash", self.cash)
        form.addRow("Commission", self.commission)
        form.addRow("Rate", self.rate)
        form.addRow("Per share", self.per_share)
        form.addRow("Minimum", self.minimum)
        form.addRow("Slippage (bps)", self.slippage)
        form.addRow("Benchmark", self.benchmark)
        self.strategy.currentTextChanged.connect(lambda _t: self._update_rows())
        self.commission.currentTextChanged.connect(lambda _t: self._update_rows())
        self._update_rows()

    def _update_rows(self) -> None:
        model = self.strategy.currentText() == "model"
        for widget in (self.model_id, self.threshold, self.exit_threshold):
            self._form.setRowVisible(widget, model)
        for spin in (self.fast, self.slow):
            self._form.setRowVisible(spin, not model)
        kind = self.commission.currentIndex()
        self._form.setRowVisible(self.rate, kind == 1)
        self._form.setRowVisible(self.per_share, kind in (2, 3))
        self._form.setRowVisible(self.minimum, kind == 3)

    def set_symbols(self, symbols: list[str]) -> None:
        self.symbols.setText(", ".join(symbols))

    def set_models(self, model_ids: list[str]) -> None:
        current = self.model_id.currentText()
        self.model_id.clear()
        self.model_id.addItems(model_ids)
        if current:
            self.model_id.setCurrentText(current)

    def commission_model(self) -> CommissionModel:
        kind = self.commission.currentIndex()
        if kind == 1:
            return CommissionModel(rate=_number(self.rate, "The commission rate"))
        if kind in (2, 3):
            minimum = _number(self.minimum, "The minimum commission") if kind == 3 else Decimal(0)
            return CommissionModel(per_share=_number(self.per_share, "The commission per share"), minimum=minimum)
        return CommissionModel()

    def request(self) -> BacktestRequest:
        """The request of the form; InvalidInputError names the field that is wrong."""
        symbols = tuple(dict.fromkeys(s.strip().upper() for s in self.symbols.text().split(",") if s.strip()))
        if not symbols:
            raise InvalidInputError("Choose the symbols (select them in the watchlist, or type them).")
        start, end = self._day(self.start), self._day(self.end, end_of_day=True)
        if start is not None and end is not None and start > end:
            raise InvalidInputError("The backtest starts after it ends.")
        strategy = self.strategy.currentText()
        if strategy == "sma_cross" and self.fast.value() >= self.slow.value():
            raise InvalidInputError("The fast average must be shorter than the slow one.")
        if strategy == "model" and not self.model_id.currentText().strip():
            raise InvalidInputError("Choose the model whose predictions drive the strategy.")
        return BacktestRequest(
            strategy=strategy,
            symbols=symbols,
            interval=self.interval.currentText().strip() or "1d",
            start=start,
            end=end,
            fast=self.fast.value(),
            slow=self.slow.value(),
            quantity=_number(self.quantity, "Shares per entry", positive=True),
            model_id=self.model_id.currentText().strip() or None,
            threshold=_number(self.threshold, "The entry confidence"),
            exit_threshold=_number(self.exit_threshold, "The exit confidence"),
            config=BacktestConfig(
                cash=_number(self.cash, "Starting cash", positive=True),
                commission=self.commission_model(),
                slippage_bps=_number(self.slippage, "Slippage"),
            ),
            benchmark=self.benchmark.text().strip().upper() or None,
        )

    @staticmethod
    def _day(edit: QDateEdit, *, end_of_day: bool = False) -> datetime | None:
        """A date in exchange time, as ``backtest --start/--end`` reads it (the end day inclusive)."""
        if edit.date() == _OPEN:
            return None
        day: date = edit.date().toPython()  # type: ignore[assignment]
        stamp = pd.Timestamp(day).tz_localize(EXCHANGE_TZ)
        if end_of_day:
            stamp = stamp + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)
        return stamp.tz_convert("UTC").to_pydatetime()
