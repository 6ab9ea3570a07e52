"""The strategies panel (Ctrl+7): start and stop strategies that trade streamed bars.

A strategy is sma_cross (fast, slow, quantity) or a model (threshold, exit threshold, sizing) on the
chosen symbols (by default the watchlist's selection), on the paper broker or Alpaca; the live
account needs the typed confirmation. Each runs in a job thread through the same loop as
``workstation trade run --strategy`` (gui/strategy_run.py). Per strategy the table shows its state,
last signal and confidence, position, P&L and orders; the orders below are the selected strategy's,
each with the bar it was placed on and its correlation id. Signals and fills appear on the chart
(the chart reloads when a strategy trades the symbol it shows). Stop leaves positions unless
"flatten" is ticked; quitting with a strategy running asks first.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workstation.gui.context import WorkstationContext
from workstation.gui.dialogs.trading_dialogs import LiveConfirmDialog
from workstation.gui.display_time import is_daily
from workstation.gui.strategy_run import Kind, StrategyConfig, StrategyRun
from workstation.trading.live_book import RunSnapshot
from workstation.trading.live_decide import BarOutcome

RUN_COLUMNS = ("Strategy", "Broker", "State", "Last signal", "Confidence", "Position", "P&L", "Orders")
ORDER_COLUMNS = ("Bar", "Symbol", "Side", "Qty", "Status", "Filled", "Avg price", "Correlation id")
INTERVALS = ("1m", "5m", "15m", "1h", "1d")


def _table(name: str, columns: tuple[str, ...]) -> QTableWidget:
    table = QTableWidget(0, len(columns))
    table.setObjectName(name)
    table.setHorizontalHeaderLabels(list(columns))
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.verticalHeader().setVisible(False)
    table.horizontalHeader().setStretchLastSection(True)
    return table


def _decimal(text: str, name: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(f"{name} must be a number, not {text!r}") from None
    if not value.is_finite():
        raise ValueError(f"{name} must be a finite number")
    return value


class StrategiesPanel(QWidget):
    def __init__(self, context: WorkstationContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._context = context
        self.runs: list[StrategyRun] = []
        self.live_dialog: LiveConfirmDialog | None = None
        self._symbols_typed = False
        self._build_form()
        self.run_table = _table("strategyRuns", RUN_COLUMNS)
        self.order_table = _table("strategyOrders", ORDER_COLUMNS)
        self.run_table.itemSelectionChanged.connect(self._show_orders)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("strategyStop")
        self.stop_button.clicked.connect(self.stop_selected)
        self.flatten = QCheckBox("Flatten its positions")
        self.flatten.setObjectName("strategyFlatten")
        self.flatten.setToolTip("Unticked, stopping leaves the strategy's positions open.")
        self.message = QLabel("")
        self.message.setObjectName("strategyMessage")
        self.message.setWordWrap(True)
        stop_row = QHBoxLayout()
        stop_row.addWidget(self.stop_button)
        stop_row.addWidget(self.flatten)
        stop_row.addStretch(1)
        # Side by side and scrollable: the panel shares a tab group below the chart and must not claim height.
        form_box = QWidget()
        form_layout = QVBoxLayout(form_box)
        form_layout.setContentsMargins(0, 0, 0, 0)
        form_layout.addLayout(self.form)
        form_layout.addWidget(self.message)
        form_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(form_box)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.run_table, 2)
        right_layout.addLayout(stop_row)
        right_layout.addWidget(QLabel("Orders of the selected strategy (each with the bar it was placed on)"))
        right_layout.addWidget(self.order_table, 3)
        for table in (self.run_table, self.order_table):
            table.setMinimumHeight(48)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(scroll)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        splitter.setSizes([320, 480])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(splitter)
        self._chart_refresh = QTimer(self)
        self._chart_refresh.setSingleShot(True)
        self._chart_refresh.setInterval(400)
        self._chart_refresh.timeout.connect(context.refreshRequested.emit)
        context.selectedSymbolsChanged.connect(self._selection_changed)
        context.symbolChanged.connect(lambda _s: self._selection_changed(context.selected_symbols))
        context.trading.choicesChanged.connect(self._fill_brokers)
        context.quit_guards.register("strategies", self.quit_reason)
        self._fill_brokers()
        self._selection_changed(context.selected_symbols)
        self._kind_changed()

    # -- the form ------------------------------------------------------------------------------------
    def _build_form(self) -> None:
        self.kind = QComboBox()
        self.kind.setObjectName("strategyKind")
        self.kind.addItems(["sma_cross", "model"])
        self.kind.currentTextChanged.connect(lambda _t: self._kind_changed())
        self.fast, self.slow = QSpinBox(), QSpinBox()
        for box, name, value in ((self.fast, "strategyFast", 15), (self.slow, "strategySlow", 30)):
            box.setObjectName(name)
            box.setRange(1, 500)
            box.setValue(value)
        self.model_id = QComboBox()
        self.model_id.setObjectName("strategyModel")
        self.model_id.setEditable(True)
        self.threshold = QLineEdit("0.55")
        self.threshold.setObjectName("strategyThreshold")
        self.exit_threshold = QLineEdit("0.5")
        self.exit_threshold.setObjectName("strategyExitThreshold")
        self.sizing = QComboBox()
        self.sizing.setObjectName("strategySizing")
        self.sizing.addItems(["fixed_shares", "fixed_notional", "volatility"])
        self.quantity = QLineEdit("100")
        self.quantity.setObjectName("strategyQuantity")
        self.notional = QLineEdit("10000")
        self.notional.setObjectName("strategyNotional")
        self.symbols = QLineEdit()
        self.symbols.setObjectName("strategySymbols")
        self.symbols.setPlaceholderText("the watchlist's selection, e.g. AAPL, MSFT")
        self.symbols.textEdited.connect(lambda _t: setattr(self, "_symbols_typed", True))
        self.interval = QComboBox()
        self.interval.setObjectName("strategyInterval")
        self.interval.addItems(list(INTERVALS))
        self.interval.setCurrentText("1d")
        self.broker = QComboBox()
        self.broker.setObjectName("strategyBroker")
        self.start_button = QPushButton("Start")
        self.start_button.setObjectName("strategyStart")
        self.start_button.clicked.connect(self.start_from_form)
        self.form = QFormLayout()
        self.form.addRow("Strategy", self.kind)
        self.form.addRow("Fast SMA", self.fast)
        self.form.addRow("Slow SMA", self.slow)
        self.form.addRow("Model", self.model_id)
        self.form.addRow("Enter at ≥", self.threshold)
        self.form.addRow("Exit below", self.exit_threshold)
        self.form.addRow("Sizing", self.sizing)
        self.form.addRow("Shares", self.quantity)
        self.form.addRow("Notional", self.notional)
        self.form.addRow("Symbols", self.symbols)
        self.form.addRow("Interval", self.interval)
        self.form.addRow("Broker", self.broker)
        self.form.addRow(self.start_button)

    def _kind_changed(self) -> None:
        model = self.kind.currentText() == "model"
        for widget, shown in ((self.fast, not model), (self.slow, not model), (self.model_id, model),
                              (self.threshold, model), (self.exit_threshold, model), (self.sizing, model),
                              (self.notional, model)):  # fmt: skip
            widget.setVisible(shown)
            label = self.form.labelForField(widget)
            if label is not None:
                label.setVisible(shown)
        if model and self.model_id.count() == 0:
            self._load_models()

    def _load_models(self) -> None:
        engine = self._context.engine

        def job(_progress: object, _cancel: object) -> list[str]:
            from workstation.ml.registry import list_models

            return [m.model_id for m in list_models(engine, status="active")]

        self._context.jobs.submit("List active models", job, on_success=self._set_models)

    def _set_models(self, model_ids: list[str]) -> None:
        typed = self.model_id.currentText()
        self.model_id.clear()
        self.model_id.addItems(model_ids)
        if typed:
            self.model_id.setCurrentText(typed)

    def _fill_brokers(self) -> None:
        current = self.broker.currentData()
        self.broker.clear()
        for choice in self._context.trading.choices():
            self.broker.addItem(choice.label, choice.key)
        index = self.broker.findData(current)
        self.broker.setCurrentIndex(max(index, 0))

    def _selection_changed(self, symbols: list[str]) -> None:
        if not self._symbols_typed:
            self.symbols.setText(", ".join(symbols))

    def config_from_form(self) -> StrategyConfig:
        """The form as a StrategyConfig; ValueError (or ConfigurationError) names what is wrong."""
        symbols = tuple(dict.fromkeys(s.strip().upper() for s in self.symbols.text().replace(";", ",").split(",")
                                      if s.strip()))  # fmt: skip
        if not symbols:
            raise ValueError("choose the symbols to trade (select them in the watchlist or type them)")
        kind: Kind = "model" if self.kind.currentText() == "model" else "sma_cross"
        model_id = self.model_id.currentText().strip()
        if kind == "model" and not model_id:
            raise ValueError("choose the model to trade")
        config = StrategyConfig(
            kind=kind,
            symbols=symbols,
            broker_key=str(self.broker.currentData() or "paper"),
            interval=self.interval.currentText(),
            fast=self.fast.value(),
            slow=self.slow.value(),
            quantity=_decimal(self.quantity.text(), "Shares"),
            model_id=model_id,
            threshold=_decimal(self.threshold.text(), "Enter threshold"),
            exit_threshold=_decimal(self.exit_threshold.text(), "Exit threshold"),
            sizing=self.sizing.currentText(),  # type: ignore[arg-type]
            notional=_decimal(self.notional.text(), "Notional"),
        )
        config.strategy()  # its own checks (fast < slow, thresholds in order, positive quantity)
        return config

    # -- start and stop ------------------------------------------------------------------------------
    def start_from_form(self) -> None:
        try:
            config = self.config_from_form()
        except Exception as exc:  # a form error: shown next to the form, nothing started
            self.message.setText(f"Not started: {exc}")
            return
        if self._context.trading.choice(config.broker_key).live:
            self.live_dialog = LiveConfirmDialog(f"Strategy {config.label} will place orders on its own.", self)
            self.live_dialog.setWindowTitle("Start a LIVE strategy")
            self.live_dialog.ok.setText("Start live strategy")
            self.live_dialog.accepted.connect(lambda: self.start(config))
            self.live_dialog.open()
            return
        self.start(config)

    def start(self, config: StrategyConfig) -> StrategyRun:
        run = StrategyRun(self._context, config, self)
        self.runs.append(run)
        run.changed.connect(lambda r=run: self._update_row(r))
        run.outcome.connect(self._on_outcome)
        run.notice.connect(lambda kind, text, r=run: self._on_notice(r, kind, text))
        self.run_table.insertRow(self.run_table.rowCount())
        self._update_row(run)
        self.run_table.selectRow(self.run_table.rowCount() - 1)
        self._context.perform("strategies/start", run.start, metadata={"strategy": config.label,
                                                                         "broker": config.broker_key})  # fmt: skip
        self.message.setText(f"Started {config.label} on {config.broker_key}.")
        return run

    def selected_run(self) -> StrategyRun | None:
        rows = self.run_table.selectionModel().selectedRows()
        return self.runs[rows[0].row()] if rows else None

    def stop_selected(self) -> None:
        run = self.selected_run()
        if run is None or not run.running:
            return
        flatten = self.flatten.isChecked()
        self._context.perform("strategies/stop", lambda: run.stop(flatten_positions=flatten),
                              metadata={"strategy": run.config.label, "flatten": flatten})  # fmt: skip

    def quit_reason(self) -> str | None:
        running = [run.config.label for run in self.runs if run.running]
        if not running:
            return None
        return f"{len(running)} strategy(ies) running: {'; '.join(running)} (quitting stops them; positions stay)"

    # -- showing what happens ------------------------------------------------------------------------
    def _on_outcome(self, outcome: BarOutcome) -> None:
        if (outcome.signal is not None or outcome.orders) and outcome.symbol == self._context.symbol:
            self._chart_refresh.start()  # the chart draws the new signal and fills (coalesced)

    def _on_notice(self, run: StrategyRun, kind: str, text: str) -> None:
        if kind != "ready":
            self.message.setText(f"{run.config.label}: {text}")

    def _update_row(self, run: StrategyRun) -> None:
        row = self.runs.index(run)
        snap = run.latest
        state = run.state + (f": {run.error}" if run.error else "")
        cells = [run.config.label, run.config.broker_key, state, "", "", "", "", "0"]
        if snap is not None:
            cells[3:8] = _snapshot_cells(snap)
        for column, text in enumerate(cells):
            item = QTableWidgetItem(text)
            if column >= 5:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.run_table.setItem(row, column, item)
        if run is self.selected_run():
            self._show_orders()

    def _show_orders(self) -> None:
        run = self.selected_run()
        if run is None or run.latest is None:
            self.order_table.setRowCount(0)
            return
        lines = run.latest.orders
        daily = is_daily(run.config.interval)
        self.order_table.setRowCount(len(lines))
        for row, line in enumerate(lines):
            cells = [
                self._context.display_time.format(line.bar, daily=daily), line.symbol, line.side,
                f"{line.quantity.normalize():f}", line.status, f"{line.filled_quantity.normalize():f}",
                "" if line.filled_avg_price is None else f"{line.filled_avg_price:.2f}", line.correlation_id or "",
            ]  # fmt: skip
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, line.order_id)
                self.order_table.setItem(row, column, item)


def _snapshot_cells(snap: RunSnapshot) -> list[str]:
    last = snap.last_signal
    signal = confidence = ""
    if last is not None and last.signal is not None:
        signal = f"{last.symbol} {last.signal.normalize():f}"
        confidence = "" if last.confidence is None else f"{last.confidence:.0%}"
    positions = [f"{s.symbol} {s.position.normalize():f}" for s in snap.symbols.values() if s.position != 0]
    return [signal, confidence, ", ".join(positions) or "flat", f"{snap.pnl:,.2f}", str(len(snap.orders))]
