"""The Explain view: select an order or fill (blotter, chart marker) and see the chain that led to it.

fills → order (ids, every state change) → risk verdict → signal → prediction (model, version,
confidence, inputs that stood out) → bar(s) → origin (the click, the command line or the bar).

It is a non-modal dialog, not a dock: explaining is a drill-down into one trade that the user opens,
reads next to the chart (which jumps to the trade's bars) and closes; a dock would hold a permanent
place in every saved layout for something empty most of the time. One dialog per window is reused,
so explaining another trade replaces the content instead of piling up windows.

The chain is read by ``trading.lineage.explain`` in a background job; the text is the CLI's
(``workstation explain ID``), one tree section per link, in the window's display time zone.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workstation.gui.chart.focus import ChartFocus
from workstation.gui.context import WorkstationContext
from workstation.jobs import CancelToken, ProgressCallback
from workstation.trading.lineage import Explanation, UnknownTradeError, explain
from workstation.trading.lineage_links import parse_time
from workstation.trading.lineage_text import (
    bar_lines,
    fill_lines,
    order_lines,
    origin_lines,
    prediction_lines,
    risk_lines,
    signal_lines,
)

SECTIONS = ("Fills", "Order", "Risk", "Signal", "Prediction", "Bars", "Origin")


class ExplainDialog(QDialog):
    def __init__(self, context: WorkstationContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("explainDialog")
        self.setWindowTitle("Explain this trade")
        self.setModal(False)
        self._context = context
        self.explanation: Explanation | None = None
        self.trade_id = ""
        self.id_field = QLineEdit()
        self.id_field.setObjectName("explainId")
        self.id_field.setPlaceholderText("Order id, broker id or fill id (RUN_ID:FILL_ID for a backtest)")
        self.id_field.returnPressed.connect(lambda: self.show_trade(self.id_field.text()))
        go = QPushButton("Explain")
        go.clicked.connect(lambda: self.show_trade(self.id_field.text()))
        self.summary = QLabel("")
        self.summary.setObjectName("explainSummary")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.tree = QTreeWidget()
        self.tree.setObjectName("explainTree")
        self.tree.setHeaderHidden(True)
        self.tree.setWordWrap(True)
        self.tree.setUniformRowHeights(False)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.chart_button = buttons.addButton("Show on chart", QDialogButtonBox.ButtonRole.ActionRole)
        self.chart_button.setObjectName("explainShowOnChart")
        self.chart_button.clicked.connect(self.show_on_chart)
        self.copy_button = buttons.addButton("Copy JSON", QDialogButtonBox.ButtonRole.ActionRole)
        self.copy_button.setObjectName("explainCopyJson")
        self.copy_button.clicked.connect(self.copy_json)
        buttons.rejected.connect(self.close)
        top = QHBoxLayout()
        top.addWidget(self.id_field, 1)
        top.addWidget(go)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.summary)
        layout.addWidget(self.tree, 1)
        layout.addWidget(buttons)
        self.resize(720, 620)
        self._set_enabled(False)

    # -- loading ---------------------------------------------------------------------------------------
    def show_trade(self, trade_id: str) -> None:
        """Read the chain of ``trade_id`` in the background; the chart jumps to its bars when it is in."""
        trade_id = trade_id.strip()
        if not trade_id:
            return
        self.trade_id = trade_id
        self.id_field.setText(trade_id)
        self.summary.setText(f"Reading the chain of {trade_id}…")
        self.tree.clear()
        self._set_enabled(False)
        engine = self._context.engine

        def job(progress: ProgressCallback, cancel: CancelToken) -> Explanation | str:
            try:
                return explain(engine, trade_id)
            except UnknownTradeError as exc:
                return str(exc)

        self._context.jobs.submit(
            f"Explain {trade_id}", job, on_success=lambda result: self._loaded(trade_id, result),
            on_failure=lambda message: self._failed(trade_id, message),
        )  # fmt: skip

    def _failed(self, trade_id: str, message: str) -> None:
        if trade_id == self.trade_id:
            self.summary.setText(f"Could not explain {trade_id}: {message.strip().splitlines()[0] if message else ''}")

    def _loaded(self, trade_id: str, result: Explanation | str) -> None:
        if trade_id != self.trade_id:
            return  # another trade was asked for meanwhile
        if isinstance(result, str):
            self.explanation = None
            self.summary.setText(result)
            return
        self.explanation = result
        self._fill_tree(result)
        self._set_enabled(True)
        self.show_on_chart()

    def _fill_tree(self, e: Explanation) -> None:
        zone = self._context.display_time.zone
        o = e.order
        where = f"backtest {o['run_id']}" if o.get("run_id") else str(o.get("broker"))
        self.summary.setText(
            f"<b>{str(o['side']).upper()} {_plain(o['quantity'])} {o['symbol']}</b> {o['order_type']} · "
            f"{o['status']} · {where} · strategy {o.get('strategy') or 'manual'}"
        )
        sections = (
            fill_lines(e, zone), order_lines(e, zone), risk_lines(e.risk), signal_lines(e.signal, zone),
            prediction_lines(e.prediction, zone, "listed below"), bar_lines(e.bars, zone), origin_lines(e.origin, zone),
        )  # fmt: skip
        self.tree.clear()
        for name, lines in zip(SECTIONS, sections, strict=True):
            head = QTreeWidgetItem([lines[0]])
            head.setData(0, Qt.ItemDataRole.UserRole, name)
            font = head.font(0)
            font.setBold(True)
            head.setFont(0, font)
            for line in lines[1:]:
                head.addChild(QTreeWidgetItem([line.strip()]))
            self.tree.addTopLevelItem(head)
        vector = (e.prediction or {}).get("input_vector") or {}
        inputs: QTreeWidgetItem | None = None
        prediction_item = self.section("Prediction")
        if vector and prediction_item is not None:
            inputs = QTreeWidgetItem([f"input vector ({len(vector)} values)"])
            for name, value in vector.items():
                inputs.addChild(QTreeWidgetItem([f"{name} = {value}"]))
            prediction_item.addChild(inputs)
        self.tree.expandAll()
        if inputs is not None:
            inputs.setExpanded(False)  # every value is one click away; the standouts are what to read
        risk_item = self.section("Risk")
        if risk_item is not None and (e.risk or {}).get("outcome") == "passed":
            risk_item.setExpanded(False)  # "Risk: passed" says it; the rules and inputs are one click away

    def section(self, name: str) -> QTreeWidgetItem | None:
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if item is not None and item.data(0, Qt.ItemDataRole.UserRole) == name:
                return item
        return None

    def section_text(self, name: str) -> str:
        """The section's lines as shown (its head and every child), for reading and for tests."""
        item = self.section(name)
        if item is None:
            return ""
        lines: list[str] = []
        stack: list[QTreeWidgetItem | None] = [item]
        while stack:
            current = stack.pop(0)
            if current is None:
                continue
            lines.append(current.text(0))
            stack[:0] = [current.child(i) for i in range(current.childCount())]
        return "\n".join(lines)

    # -- actions ---------------------------------------------------------------------------------------
    def show_on_chart(self) -> None:
        """The chart shows the trade's symbol at the bars that drove it (else its fills, else its time)."""
        e = self.explanation
        if e is None:
            return
        interval: str | None = None
        times: list[datetime] = []
        for bar in e.bars or []:
            moment = parse_time(bar.get("timestamp"))
            if moment is not None:
                times.append(moment)
                interval = interval or bar.get("interval")
        if not times:
            times = [t for f in e.fills if (t := parse_time(f.get("timestamp"))) is not None]
        if not times and (created := parse_time(e.order.get("created_at"))) is not None:
            times = [created]
        if times:
            focus = ChartFocus(e.symbol.upper(), min(times), max(times), interval=interval or None, key="explain")
            self._context.focus_chart(focus)

    def copy_json(self) -> None:
        if self.explanation is not None:
            QGuiApplication.clipboard().setText(json.dumps(self.explanation.as_json(), indent=2))

    def _set_enabled(self, enabled: bool) -> None:
        self.chart_button.setEnabled(enabled)
        self.copy_button.setEnabled(enabled)


def _plain(value: Any) -> str:
    from workstation.trading.lineage_text import number

    return number(value)


def open_explanation(context: WorkstationContext, trade_id: str, parent: QWidget) -> ExplainDialog:
    """Show the window's Explain dialog (created on first use) for ``trade_id``."""
    window = parent.window()
    dialog = window.findChild(ExplainDialog, "explainDialog")
    if dialog is None:
        dialog = ExplainDialog(context, window)
    dialog.show()
    dialog.raise_()
    dialog.activateWindow()
    dialog.show_trade(trade_id)
    return dialog
