"""blotterPanel: orders (live statuses, legs under their order), fills and positions; modify, cancel,
cancel-all, close a position, close all, the kill switch, explain.

Orders and fills are read from the order store once a second (in the background, only while the
panel is visible) and merged into the tables by id, so selection and scroll survive the refresh.
Positions are rebuilt from the recorded fills (average cost, realised P&L, commission) and marked
to the last stored close; for Alpaca, the broker's own positions (fetched every few seconds while
its session is open) replace the fill-derived quantities. Actions run as jobs on the broker's
shared trading session.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from workstation.gui.context import WorkstationContext
from workstation.gui.dialogs.trading_dialogs import ClosePositionsDialog, KillSwitchDialog, ReplaceDialog
from workstation.gui.halt_status import HaltBanner
from workstation.gui.panels.blotter_actions import BlotterActions
from workstation.gui.panels.blotter_data import (
    FILL_COLUMNS,
    ORDER_COLUMNS,
    POSITION_COLUMNS,
    BlotterSnapshot,
    PositionRow,
    load_snapshot,
)
from workstation.gui.tables import (
    DOWN,
    RecordTableModel,
    fit_columns_once,
    install_export_action,
    make_table_view,
    named,
    selected_records,
)
from workstation.jobs import CancelToken, ProgressCallback, ProgressUpdate
from workstation.monitoring.correlation import current_correlation_id, new_correlation_id
from workstation.trading.domain import Fill, Order, TradingError
from workstation.trading.feed import OrderFeed
from workstation.trading.killswitch import KillSwitchResult, kill_switch
from workstation.trading.paper_bars import PaperBarRelay
from workstation.trading.positions import Position
from workstation.trading.session import TradingSession

POLL_MS = 1000
MARKS_TTL_POLLS = 10  # last prices are re-read every ten polls
REPORTED_POLLS = 5  # a remote broker's positions are fetched every five polls
_ALL = "All brokers"


@dataclass(slots=True)
class _KillOutcome:
    results: dict[str, KillSwitchResult] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


class BlotterPanel(BlotterActions, QWidget):
    def __init__(self, context: WorkstationContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._context = context
        self._service = context.trading
        self._polling = False
        self._ready = False  # polls start once the window announces a database with the schema
        self._polls = 0
        self._again = False
        self._marks: dict[str, Decimal | None] = {}
        self._feed = OrderFeed(context.engine)
        # Live bars the feed announces work the paper account's resting orders (stops, trails, legs).
        self._relay = PaperBarRelay(context.engine)
        self._relaying = False
        self._snapshot: BlotterSnapshot | None = None
        self._reported: dict[str, list[Position]] = {}
        self.kill_dialog: KillSwitchDialog | None = None
        self.orders_model: RecordTableModel[Order] = RecordTableModel(ORDER_COLUMNS, lambda o: o.order_id, self)
        self.fills_model: RecordTableModel[Fill] = RecordTableModel(FILL_COLUMNS, lambda f: f.fill_id, self)
        self.positions_model: RecordTableModel[PositionRow] = RecordTableModel(
            POSITION_COLUMNS, lambda p: (p.broker, p.symbol), self
        )
        desc, asc = Qt.SortOrder.DescendingOrder, Qt.SortOrder.AscendingOrder
        self.orders = make_table_view("blotterOrders", self.orders_model, 0, desc, self)
        self.fills = make_table_view("blotterFills", self.fills_model, 0, desc, self)
        self.positions = make_table_view("blotterPositions", self.positions_model, 1, asc, self)
        notify = self._context.notify.emit
        for view, title in ((self.orders, "orders"), (self.fills, "fills"), (self.positions, "positions")):
            install_export_action(view, notify, title)
        self.tabs = named(QTabWidget(), "blotterTabs")
        self.tabs.addTab(self.orders, "Orders")
        self.tabs.addTab(self.fills, "Fills")
        self.tabs.addTab(self.positions, "Positions")
        self.broker = named(QComboBox(), "blotterBroker")
        self.broker.addItems([_ALL, "paper", "alpaca"])
        self.broker.currentIndexChanged.connect(lambda _i: self._broker_changed())
        self.cancel_button = named(QPushButton("Cancel"), "blotterCancel")
        self.cancel_button.setToolTip("Cancel the selected open orders (Delete)")
        self.cancel_button.clicked.connect(lambda: self._context.perform("blotter/cancel", self.cancel_selected))
        self.cancel_all_button = named(QPushButton("Cancel all"), "blotterCancelAll")
        self.cancel_all_button.clicked.connect(lambda: self._context.perform("blotter/cancel-all", self.cancel_all))
        self.modify_button = named(QPushButton("Modify…"), "blotterModify")
        self.modify_button.setToolTip("Change the selected open order's quantity, limit, stop or trail")
        self.modify_button.clicked.connect(lambda: self._context.perform("blotter/modify", self.modify_selected))
        self.close_button = named(QPushButton("Close position…"), "blotterClosePosition")
        self.close_button.setToolTip("Close the selected positions at market (their open orders are cancelled)")
        self.close_button.clicked.connect(lambda: self._context.perform("blotter/close", self.close_selected))
        self.close_all_button = named(QPushButton("Close all…"), "blotterCloseAll")
        self.close_all_button.setToolTip("Close every open position at market")
        self.close_all_button.clicked.connect(lambda: self._context.perform("blotter/close-all", self.close_all))
        self.replace_dialog: ReplaceDialog | None = None
        self.close_dialog: ClosePositionsDialog | None = None
        self.kill_button = named(QPushButton("Kill switch"), "blotterKill")
        self.kill_button.setStyleSheet(f"QPushButton {{ color: {DOWN}; font-weight: bold; }}")
        self.kill_button.clicked.connect(self.open_kill_switch)
        self.explain_button = named(QPushButton("Explain"), "blotterExplain")
        self.explain_button.setToolTip("Explain the selected order or fill: its chain back to what started it (Ctrl+I)")
        self.explain_button.clicked.connect(lambda: self._context.perform("blotter/explain", self.explain_selected))
        # The halt banner sits above the tables (never squeezed below them) and holds the Resume button.
        self.halt_banner = HaltBanner(lambda: self._context.perform("blotter/resume", self.resume), self)
        self.resume_button = self.halt_banner.resume_button
        self.status = named(QLabel(""), "blotterStatus")
        self.status.setWordWrap(True)  # a long message must never widen the window
        # Two rows, orders then positions and the account: one row of eight buttons would make the
        # blotter ~770 px wide at least, wider than a 1366-px window can give it beside the log monitor.
        orders_row, account_row = QHBoxLayout(), QHBoxLayout()
        for widget in (
            self.broker,
            self.modify_button,
            self.cancel_button,
            self.cancel_all_button,
            self.explain_button,
        ):
            orders_row.addWidget(widget)
        for widget in (self.close_button, self.close_all_button, self.kill_button):
            account_row.addWidget(widget)
        orders_row.addStretch(1)
        account_row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(orders_row)
        layout.addLayout(account_row)
        layout.addWidget(self.halt_banner)
        layout.addWidget(self.tabs)
        layout.addWidget(self.status)
        self.setFocusProxy(self.orders)
        self._register_shortcuts()
        self._timer = QTimer(self, interval=POLL_MS)
        self._timer.timeout.connect(self.poll)
        self._timer.start()
        self._service.ordersChanged.connect(lambda _broker: self.poll(force=True))
        context.refreshRequested.connect(lambda: self.poll(force=True))
        context.databaseChanged.connect(self._database_ready)
        context.engineChanged.connect(lambda: setattr(self, "_ready", False))
        self._service.haltChanged.connect(self.halt_banner.set_reason)
        context.quit_guards.register("open orders", self._service.open_orders_warning)

    def _register_shortcuts(self) -> None:
        shortcuts = self._context.shortcuts
        self.kill_action = QAction("Kill switch (halt, cancel all, optionally flatten)…", self)
        self.kill_action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        self.kill_action.triggered.connect(self.open_kill_switch)
        self.cancel_action = QAction("Cancel selected orders", self)
        self.cancel_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.cancel_action.triggered.connect(lambda: self._context.perform("blotter/cancel", self.cancel_selected))
        self.cancel_all_action = QAction("Cancel all open orders", self)
        self.cancel_all_action.triggered.connect(lambda: self._context.perform("blotter/cancel-all", self.cancel_all))
        self.explain_action = QAction("Explain this trade", self)
        self.explain_action.setObjectName("explainTrade")
        self.explain_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.explain_action.triggered.connect(lambda: self._context.perform("blotter/explain", self.explain_selected))
        for action in (self.kill_action, self.cancel_action, self.cancel_all_action, self.explain_action):
            self.addAction(action)
        for view in (self.orders, self.fills):  # right-click on an order or a fill: Explain first
            existing = view.actions()
            if existing:
                view.insertAction(existing[0], self.explain_action)
            else:
                view.addAction(self.explain_action)
        shortcuts.register("trading.kill_switch", self.kill_action, "Ctrl+Shift+X", "Trading")
        shortcuts.register("trading.cancel", self.cancel_action, "Delete", "Trading")
        shortcuts.register("trading.cancel_all", self.cancel_all_action, (), "Trading")
        shortcuts.register("trading.explain", self.explain_action, "Ctrl+I", "Trading")

    def showEvent(self, event: Any) -> None:
        window = self.window()
        if window is not self and self.kill_action not in window.actions():
            window.addAction(self.kill_action)  # the kill switch must work even with the blotter closed
        super().showEvent(event)
        self.poll(force=True)

    # -- refresh ------------------------------------------------------------------------------------------
    def broker_filter(self) -> str | None:
        text = self.broker.currentText()
        return None if text == _ALL else text

    def _database_ready(self) -> None:
        self._ready = True
        self._relay.close()
        self._relay = PaperBarRelay(self._context.engine)
        self._reset_feed()

    def _relay_bars(self) -> None:
        """Hand the newly announced bars to the paper session while it has working orders (one call at a time)."""
        snapshot = self._snapshot
        if self._relaying or snapshot is None:
            return
        if not any(o.broker == "paper" and not o.is_final for o in snapshot.orders):
            return
        self._relaying = True
        relay = self._relay

        def done(applied: Any, error: str | None) -> None:
            self._relaying = False
            if error is None and applied:
                self._service.ordersChanged.emit("paper")

        self._service.quietly("paper", lambda session: relay.apply(session.manager), done)

    def _reset_feed(self) -> None:
        """Start over from a full read (another database, or another broker filter)."""
        self._feed = OrderFeed(self._context.engine, self.broker_filter())
        self._snapshot = None
        for model in (self.orders_model, self.fills_model, self.positions_model):
            model.set_records([])
        self.poll(force=True)

    def _broker_changed(self) -> None:
        self._reset_feed()

    def poll(self, force: bool = False) -> None:
        if not self._ready:
            return  # a brand-new database gets its schema first: "no such table" is not worth a warning
        if self._polling:
            self._again = self._again or force  # re-read as soon as the running poll is back
            return
        if not (force or self.isVisible()):
            return
        self._polling = True
        self._polls += 1
        if self._polls % MARKS_TTL_POLLS == 0 or force:
            self._marks = {}
        if self._polls % REPORTED_POLLS == 1 or force:
            self._fetch_reported()
        feed, marks, reported, previous = self._feed, self._marks, self._reported, self._snapshot
        self._service.calls.run(
            lambda: load_snapshot(feed, marks, reported, previous),
            lambda result, error: self._loaded(result if feed is self._feed else None, error),
        )

    def _fetch_reported(self) -> None:
        """Positions straight from remote brokers whose session is open (not every second: rate limits)."""
        for key in self._service.open_keys():
            name = self._service.choice(key).broker
            if name == "paper":
                continue  # the paper broker's positions are exactly its recorded fills

            def store(result: Any, error: str | None, name: str = name) -> None:
                if error is None:
                    self._reported[name] = list(result)
                else:
                    self._reported.pop(name, None)

            self._service.quietly(key, lambda session: session.broker.positions(), store)

    def _loaded(self, snapshot: Any, error: str | None) -> None:
        if not isValid(self):
            return  # the window was closed while the poll ran
        self._polling = False
        if self._again:
            self._again = False
            self.poll(force=True)
        if error is not None:
            # One short line (a driver error can be a page of SQL); the whole text is in the tooltip.
            first = (error.strip().splitlines() or [""])[0]
            self.status.setText(f"Blotter not updated: {first[:117] + '…' if len(first) > 120 else first}")
            self.status.setToolTip(error)
            return
        if snapshot is None:  # read from a feed that was replaced meanwhile
            self.poll(force=True)
            return
        assert isinstance(snapshot, BlotterSnapshot)
        fills_before = len(self._snapshot.fills) if self._snapshot is not None else None
        self._snapshot = snapshot
        if fills_before is not None and len(snapshot.fills) != fills_before:
            self._service.fillsChanged.emit()  # positions moved: the ticket's preview is recomputed
        self.orders_model.set_records(snapshot.orders)
        self.fills_model.set_records(snapshot.fills)
        self.positions_model.set_records(snapshot.positions)
        for view in (self.orders, self.fills, self.positions):
            fit_columns_once(view, self._context.settings.contains(f"columns/blotterPanel/{view.objectName()}"))
        self._relay_bars()
        open_orders = sum(1 for o in snapshot.orders if not o.is_final)
        open_positions = sum(1 for p in snapshot.positions if p.quantity != 0)
        fills = len(snapshot.fills)
        self.status.setText(f"{open_orders} open orders · {fills} fills · {open_positions} open positions")
        self._service.set_halted(snapshot.halted)  # the banner follows through haltChanged

    # -- actions ------------------------------------------------------------------------------------------
    def _open_orders(self, orders: list[Order]) -> dict[str, list[str]]:
        """Open order ids grouped by the session key that owns them."""
        grouped: dict[str, list[str]] = {}
        for order in orders:
            if not order.is_final:
                grouped.setdefault(self._service.key_for_broker(order.broker), []).append(order.order_id)
        return grouped

    def cancel_selected(self) -> None:
        grouped = self._open_orders(selected_records(self.orders))
        if not grouped:
            self._context.notify.emit("warning", "Select one or more open orders to cancel.")
            return
        self._cancel(grouped, "Cancel orders")

    def cancel_all(self) -> None:
        grouped = self._open_orders(self.orders_model.records())
        for key in self._service.open_keys():  # a session may hold orders placed a moment ago
            grouped.setdefault(key, [])
        if not grouped:
            self._context.notify.emit("info", "No open orders to cancel.")
            return
        self._cancel(grouped, "Cancel all orders", everything=True)

    def _cancel(self, grouped: dict[str, list[str]], label: str, everything: bool = False) -> None:
        cid = current_correlation_id() or new_correlation_id("cancel")
        for key, ids in grouped.items():

            def work(
                session: TradingSession, progress: ProgressCallback, cancel: CancelToken, ids: list[str] = ids
            ) -> str:
                if everything:
                    done = session.manager.cancel_all()
                    return f"{len(done)} {session.broker.name} orders cancelled"
                errors = []
                for number, order_id in enumerate(ids, 1):
                    try:
                        session.manager.cancel(order_id)
                    except TradingError as exc:
                        errors.append(str(exc))
                    progress(ProgressUpdate(number, len(ids), order_id))
                cancelled = len(ids) - len(errors)
                return f"{cancelled} {session.broker.name} order(s) cancelled" + (
                    f"; {len(errors)} failed: {errors[0]}" if errors else ""
                )

            self._service.submit_job(
                key, f"{label} ({key})", work, on_success=self._action_done, correlation_id=cid
            ).ended.connect(lambda: self.poll(force=True))

    def open_kill_switch(self) -> KillSwitchDialog:
        open_orders = sum(1 for o in self.orders_model.records() if not o.is_final)
        self.kill_dialog = KillSwitchDialog(open_orders, self)
        self.kill_dialog.accepted.connect(
            lambda: self._context.perform(
                "blotter/kill-switch", lambda: self.run_kill_switch(self.kill_dialog_flatten())
            )
        )
        self.kill_dialog.open()
        return self.kill_dialog

    def kill_dialog_flatten(self) -> bool:
        return self.kill_dialog is not None and self.kill_dialog.flatten.isChecked()

    def run_kill_switch(self, flatten: bool) -> None:
        keys = set(self._open_orders(self.orders_model.records())) | set(self._service.open_keys()) | {"paper"}
        service = self._service

        def job(progress: ProgressCallback, cancel: CancelToken) -> _KillOutcome:
            outcome = _KillOutcome()
            for key in sorted(keys):
                try:
                    outcome.results[key] = service.use(key, lambda s: kill_switch(s.manager, flatten=flatten))
                except Exception as exc:  # one unreachable broker must not stop the others' kill switch
                    outcome.failures.append(f"{key}: {exc}")
            return outcome

        handle = self._context.jobs.submit(
            "Kill switch",
            job,
            on_success=self._killed,
            correlation_id=current_correlation_id() or new_correlation_id("kill"),
        )
        handle.ended.connect(lambda: self.poll(force=True))
        handle.ended.connect(self._service.refresh_halt)

    def _killed(self, outcome: _KillOutcome) -> None:
        cancelled = sum(len(r.cancelled) for r in outcome.results.values())
        flattened = sum(len(r.flatten_orders) for r in outcome.results.values())
        errors = [e for r in outcome.results.values() for e in r.errors] + outcome.failures
        message = f"Kill switch: trading halted, {cancelled} order(s) cancelled"
        if flattened:
            message += f", {flattened} flatten order(s) sent"
        if errors:
            message += f"; {len(errors)} problem(s): {errors[0]}"
        self._context.notify.emit("error" if errors else "warning", message)
        for broker in {self._service.choice(k).broker for k in outcome.results}:
            self._service.ordersChanged.emit(broker)

    def selected_trade_id(self) -> str | None:
        """The order id (Orders tab) or fill id (Fills tab) selected; None elsewhere or with nothing selected."""
        if self.tabs.currentWidget() is self.fills:
            fills = selected_records(self.fills)
            return fills[0].fill_id if fills else None
        if self.tabs.currentWidget() is self.orders:
            orders = selected_records(self.orders)
            return orders[0].order_id if orders else None
        return None

    def explain_selected(self) -> None:
        trade_id = self.selected_trade_id()
        if trade_id is None:
            self._context.notify.emit("warning", "Select an order or a fill to explain.")
            return
        from workstation.gui.panels.explain import open_explanation

        open_explanation(self._context, trade_id, self)

    def resume(self) -> None:
        self._service.resume().ended.connect(lambda: self.poll(force=True))
