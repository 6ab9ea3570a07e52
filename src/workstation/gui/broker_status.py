"""Status-bar piece: the selected broker, its connection state and the account's equity, buying power
and day P&L — refreshed in the background every few seconds and after every order action."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from workstation.gui.tables import DOWN, UP, named
from workstation.gui.trading_service import TradingService
from workstation.trading.daypnl import day_pnl
from workstation.trading.domain import Account
from workstation.trading.session import TradingSession

REFRESH_MS = 10_000


@dataclass(frozen=True, slots=True)
class AccountFigures:
    key: str
    account: Account
    day_pnl: Decimal


def account_figures(key: str, session: TradingSession) -> AccountFigures:
    account = session.broker.account()
    pnl = day_pnl(session.engine, session.broker.name, last_price=session.broker.last_price)
    return AccountFigures(key, account, pnl)


class BrokerStatusWidget(QWidget):
    def __init__(self, service: TradingService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("brokerStatus")
        self._service = service
        self._busy = False
        self.broker = named(QLabel(), "brokerState")
        self.account = named(QLabel(), "accountFigures")
        self.pnl = named(QLabel(), "dayPnl")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 0, 6, 0)
        layout.addWidget(self.broker)
        layout.addWidget(self.account)
        layout.addWidget(self.pnl)
        self._timer = QTimer(self, interval=REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()
        service.currentChanged.connect(lambda _key: self.refresh(force=True))
        service.stateChanged.connect(self._state_changed)
        service.ordersChanged.connect(lambda _broker: self.refresh(force=True))
        service.haltChanged.connect(lambda _reason: self._show_state())
        self._show_state()
        QTimer.singleShot(0, self.refresh)

    def _show_state(self) -> None:
        key = self._service.current
        state = self._service.states.get(key, "not connected")
        label = self._service.choice(key).label
        if self._service.halted is not None and state in ("ready", "connected"):
            state = "halted"  # never "ready" while the kill switch refuses new orders
        self.broker.setText(f"{label} · {state.split(':')[0]}")
        self.broker.setToolTip(f"{label}: {state}")
        ok = state in ("ready", "connected")
        self.broker.setStyleSheet("" if ok or state.endswith("…") else f"color: {DOWN};")

    def _state_changed(self, key: str, _state: str) -> None:
        if key == self._service.current:
            self._show_state()

    def refresh(self, force: bool = False) -> None:
        if self._busy and not force:
            return
        self._busy = True
        key = self._service.current
        self._service.quietly(key, lambda session: account_figures(key, session), self._loaded)

    def _loaded(self, figures: Any, error: str | None) -> None:
        self._busy = False
        if error is not None:
            key = self._service.current
            self._service.states[key] = f"disconnected: {error}"
            self._show_state()
            self.account.setText("")
            self.pnl.setText("")
            return
        assert isinstance(figures, AccountFigures)
        if figures.key != self._service.current:
            return  # the user switched brokers meanwhile; a fresh refresh is on its way
        if self._service.states.get(figures.key, "").startswith("disconnected"):
            self._service.states[figures.key] = "connected"
        self._show_state()
        account = figures.account
        self._service.remember_account(figures.key, account)
        self.account.setText(f"Equity {account.equity:,.2f} · BP {account.buying_power:,.2f}")
        self.account.setToolTip(f"Cash {account.cash:,.2f} {account.currency} · account status {account.status}")
        self.pnl.setText(f"Day P&L {figures.day_pnl:+,.2f}")
        self.pnl.setToolTip("Today's P&L from the fills recorded here, against the previous close")
        self.pnl.setStyleSheet(f"color: {UP if figures.day_pnl >= 0 else DOWN};")
