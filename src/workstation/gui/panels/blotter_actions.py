"""The blotter's order and position actions: modify an open order (the broker replaces it), close
the selected positions, close all — each confirmed in a dialog, then run as a job on the broker's session."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QTableView, QWidget

from workstation.gui.dialogs.trading_dialogs import ClosePositionsDialog, ReplaceDialog
from workstation.gui.panels.blotter_data import PositionRow
from workstation.gui.tables import RecordTableModel, selected_records
from workstation.jobs import CancelToken, ProgressCallback, ProgressUpdate
from workstation.monitoring.correlation import current_correlation_id, new_correlation_id
from workstation.trading.domain import TradingError
from workstation.trading.session import TradingSession

if TYPE_CHECKING:
    from workstation.gui.context import WorkstationContext
    from workstation.gui.trading_service import TradingService


class BlotterActions:
    """Mixed into the blotter panel (a QWidget with these tables and services)."""

    _context: WorkstationContext
    _service: TradingService
    orders: QTableView
    positions: QTableView
    positions_model: RecordTableModel[PositionRow]
    replace_dialog: ReplaceDialog | None
    close_dialog: ClosePositionsDialog | None

    def _action_done(self, message: str) -> None:
        self._context.notify.emit("info", message)

    def _parent_widget(self) -> QWidget | None:
        return self if isinstance(self, QWidget) else None

    # -- modify, close ------------------------------------------------------------------------------------
    def modify_selected(self) -> ReplaceDialog | None:
        """Open the modify dialog for the one selected open order; the broker replaces it on OK."""
        chosen = [o for o in selected_records(self.orders) if not o.is_final]
        if len(chosen) != 1:
            self._context.notify.emit("warning", "Select one open order to modify.")
            return None
        self.replace_dialog = ReplaceDialog(chosen[0], self._parent_widget())
        self.replace_dialog.accepted.connect(
            lambda: self._context.perform("blotter/modify", lambda: self.run_replace(self.replace_dialog))
        )
        self.replace_dialog.open()
        return self.replace_dialog

    def run_replace(self, dialog: ReplaceDialog | None) -> None:
        if dialog is None:
            return
        order, changes = dialog.order, dialog.changes()
        if not changes:
            self._context.notify.emit("info", "Nothing changed: the order stays as it is.")
            return
        label = f"Modify {order.symbol} {order.side} ({dialog.summary()})"

        def work(session: TradingSession, progress: ProgressCallback, cancel: CancelToken) -> str:
            new = session.manager.replace(order.order_id, **changes)
            if new.status == "rejected":
                raise TradingError(f"{session.broker.name} refused the change: {new.status_reason}")
            return f"{order.symbol} order modified ({dialog.summary()}): now {new.order_id}"

        self._service.submit_job(
            self._service.key_for_broker(order.broker),
            label,
            work,
            on_success=self._action_done,
            correlation_id=current_correlation_id() or new_correlation_id("modify"),
        ).ended.connect(lambda: self._service.ordersChanged.emit(order.broker))

    def _open_positions(self, rows: list[PositionRow]) -> list[tuple[str, str, Decimal]]:
        return [(p.broker, p.symbol, p.quantity) for p in rows if p.quantity != 0]

    def close_selected(self) -> ClosePositionsDialog | None:
        chosen = self._open_positions(selected_records(self.positions))
        if not chosen:
            self._context.notify.emit("warning", "Select one or more open positions to close.")
            return None
        return self._confirm_close(chosen, everything=False)

    def close_all(self) -> ClosePositionsDialog | None:
        chosen = self._open_positions(self.positions_model.records())
        if not chosen:
            self._context.notify.emit("info", "No open positions to close.")
            return None
        return self._confirm_close(chosen, everything=True)

    def _confirm_close(self, chosen: list[tuple[str, str, Decimal]], *, everything: bool) -> ClosePositionsDialog:
        self.close_dialog = ClosePositionsDialog(chosen, self._parent_widget())
        self.close_dialog.accepted.connect(
            lambda: self._context.perform("blotter/close", lambda: self.run_close(chosen, everything=everything))
        )
        self.close_dialog.open()
        return self.close_dialog

    def run_close(self, chosen: list[tuple[str, str, Decimal]], *, everything: bool = False) -> None:
        grouped: dict[str, list[str]] = {}
        for broker, symbol, _quantity in chosen:
            grouped.setdefault(self._service.key_for_broker(broker), []).append(symbol)
        cid = current_correlation_id() or new_correlation_id("close")
        for key, symbols in grouped.items():

            def work(
                session: TradingSession, progress: ProgressCallback, cancel: CancelToken, symbols: list[str] = symbols
            ) -> str:
                if everything:
                    orders, errors = session.manager.close_all_positions()
                else:
                    orders, errors = [], []
                    for number, symbol in enumerate(symbols, 1):
                        try:
                            orders.append(session.manager.close_position(symbol))
                        except TradingError as exc:
                            errors.append(f"{symbol}: {exc}")
                        progress(ProgressUpdate(number, len(symbols), symbol))
                errors += [f"{o.symbol}: {o.status_reason}" for o in orders if o.status == "rejected"]
                done = sum(1 for o in orders if o.status != "rejected")
                message = f"{done} {session.broker.name} position(s) closing or closed"
                if errors:
                    raise TradingError(f"{message}; {len(errors)} not closed: {errors[0]}")
                return message

            broker = self._service.choice(key).broker
            self._service.submit_job(
                key, f"Close positions ({key})", work, on_success=self._action_done, correlation_id=cid
            ).ended.connect(lambda broker=broker: self._service.ordersChanged.emit(broker))
