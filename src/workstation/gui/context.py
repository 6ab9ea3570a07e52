"""What every panel gets: the database engine, the job manager, the selected symbol and the settings.

One object per window, created at start-up and handed to each panel factory (no module-level state).
Panels talk to each other only through its signals: the watchlist sets the symbol, the chart (and
later the model and ticket panels) follow it. Panels run what the user does through ``perform`` so
that it is recorded in user_action_logs and the jobs it starts share its correlation id.

Shared by every panel as well:

* ``selected_symbols`` / ``selectedSymbolsChanged``: the watchlist's multi-selection (training and
  strategies read it; the current symbol is one of them, or the only one).
* ``publish_price(symbol, price)`` / ``priceUpdated``: the one path of a new last price (the chart's
  live bar calls it, a stream will); price alerts, the ticket's preview and its limit price follow it.
* ``quit_guards``: what should make the user confirm quitting (open orders, a running strategy).
* ``display_time``: the zone times are shown in (exchange time unless the user picks another).
* ``focus_chart(focus)`` / ``chartFocusRequested``: show a symbol's stretch with marks on the chart (a
  backtest trade's entry and exit).
* ``live``: the window's live market data (gui.live_feed.LiveFeedService): ``ticksReady``,
  ``chartEvents``, ``barsStored`` and ``statusChanged``; the window starts it once the database is usable.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, TypeVar

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtWidgets import QWidget
from sqlalchemy import Engine
from sqlalchemy.engine import URL

from workstation.config import mask_url, normalize_database_url
from workstation.dashboard.drawings import DrawingStore
from workstation.db.engine import create_db_engine
from workstation.gui.display_time import DisplayTime
from workstation.gui.live_feed import LiveFeedService
from workstation.gui.price_alerts import PriceAlertWatcher
from workstation.gui.quit_guards import QuitGuards
from workstation.gui.shortcuts import ShortcutRegistry
from workstation.gui.trading_service import TradingService
from workstation.gui.user_actions import UserActionRecorder
from workstation.gui.workers import JobManager
from workstation.monitoring.install import MonitoringHandle, install_monitoring

logger = logging.getLogger(__name__)
R = TypeVar("R")
MONITORING_COMPONENT = "gui"
SYMBOL_KEY = "session/symbol"  # the symbol shown when the window closed: shown again at the next start


class WorkstationContext(QObject):
    symbolChanged = Signal(str)
    engineChanged = Signal()
    refreshRequested = Signal()
    notify = Signal(str, str)  # level ("info", "warning", "error"), message
    databaseChanged = Signal()
    statusWidgetAdded = Signal(object)  # a QWidget for the status bar (e.g. broker and equity, from a panel)
    selectedSymbolsChanged = Signal(list)  # the watchlist's selected symbols (list[str])
    priceUpdated = Signal(str, object)  # symbol, last price (Decimal)
    chartFocusRequested = Signal(object)  # a ChartFocus: show that symbol's range with its marks

    def __init__(self, database_url: URL, settings: QSettings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.jobs = JobManager(self)
        self.shortcuts = ShortcutRegistry(settings)
        self._database_url = database_url
        self._engine: Engine = create_db_engine(database_url)
        self._symbol = ""
        self.symbols: list[str] = []  # kept current by the watchlist; the command palette offers them
        self.symbol_names: dict[str, str] = {}  # symbol → company name, for the palette's name search
        self._selected: list[str] = []
        self.quit_guards = QuitGuards()
        self.display_time = DisplayTime(settings, self)
        self.drawings = DrawingStore()  # chart drawings and price alerts, per symbol (a JSON file)
        self.price_alerts = PriceAlertWatcher(self, self.drawings)
        self.actions = UserActionRecorder()  # one session id per window run
        self.monitoring: MonitoringHandle | None = None
        self.status_widgets: list[QWidget] = []
        # One trading session per broker, shared by the ticket, the blotter and the status bar.
        self.trading = TradingService(self)
        self.live = LiveFeedService(self)

    @property
    def session_id(self) -> str:
        return self.actions.session_id

    def perform(self, path: str, fn: Callable[[], R], *, metadata: Mapping[str, Any] | None = None) -> R:
        """Run a panel-level user action (``watchlist/select``…): recorded, under its own correlation id."""
        return self.actions.perform(path, fn, metadata=metadata)

    def add_status_widget(self, widget: QWidget) -> None:
        """The hook for panels that own a status-bar section (broker, equity, day P&L): the window shows it."""
        self.status_widgets.append(widget)
        self.statusWidgetAdded.emit(widget)

    def start_monitoring(self) -> MonitoringHandle:
        """Route this process's logs, timings, errors and user actions into the current database's log tables.

        Called once the database is known to have the schema (a brand-new or foreign database would
        only collect spilled rows). Idempotent for the same engine; a new engine replaces the old handle.
        The crash reporter stays the exception hook (it records to error_logs itself and shows the dialog).
        """
        self.monitoring = install_monitoring(self._engine, component=MONITORING_COMPONENT, excepthooks=False)
        return self.monitoring

    def stop_monitoring(self, timeout: float = 10.0) -> None:
        """Write what is queued and uninstall (on quit, and before switching databases)."""
        handle, self.monitoring = self.monitoring, None
        if handle is not None and not handle.closed:
            handle.flush(timeout)
            handle.shutdown(timeout)

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def database_url(self) -> URL:
        return self._database_url

    @property
    def database_label(self) -> str:
        return mask_url(self._database_url)

    def set_database_url(self, raw: str) -> None:
        """Switch databases without a restart; a bad URL raises ConfigurationError and changes nothing."""
        url = normalize_database_url(raw)
        self.stop_monitoring()  # the old database keeps everything logged up to the switch
        self.live.stop()  # the lease and the stored bars belong to the old database
        old = self._engine
        self._engine = create_db_engine(url)
        self._database_url = url
        old.dispose()
        self.engineChanged.emit()

    @property
    def symbol(self) -> str:
        return self._symbol

    def set_symbol(self, symbol: str) -> None:
        symbol = symbol.strip().upper()
        if symbol and symbol != self._symbol:
            self._symbol = symbol
            self.settings.setValue(SYMBOL_KEY, symbol)
            self.symbolChanged.emit(symbol)

    def remembered_symbol(self) -> str:
        """The symbol of the previous session ('' the first time)."""
        return str(self.settings.value(SYMBOL_KEY, "") or "")

    @property
    def selected_symbols(self) -> list[str]:
        """The symbols selected in the watchlist, in its order (the current symbol alone when just one)."""
        return list(self._selected) if self._selected else ([self._symbol] if self._symbol else [])

    def set_selected_symbols(self, symbols: Sequence[str]) -> None:
        cleaned = [s.strip().upper() for s in symbols if s.strip()]
        if cleaned != self._selected:
            self._selected = cleaned
            self.selectedSymbolsChanged.emit(list(cleaned))

    def focus_chart(self, focus: object) -> None:
        """Put the chart on ``focus`` (a gui.chart.focus.ChartFocus): its symbol becomes the current one."""
        self.chartFocusRequested.emit(focus)

    def publish_price(self, symbol: str, price: Decimal | float) -> None:
        """A new last price for ``symbol`` (the chart's live bar, a stream): listeners re-check what depends on it."""
        value = price if isinstance(price, Decimal) else Decimal(repr(float(price)))
        self.priceUpdated.emit(symbol.strip().upper(), value)

    def close(self) -> None:
        self.live.stop()
        self.jobs.shutdown()
        self.stop_monitoring()
        self.trading.close()
        self._engine.dispose()
