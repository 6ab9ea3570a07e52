"""What every panel gets: the database engine, the job manager, the selected symbol and the settings.

One object per window, created at start-up and handed to each panel factory (no module-level state).
Panels talk to each other only through its signals: the watchlist sets the symbol, the chart (and
later the model and ticket panels) follow it.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QSettings, Signal
from sqlalchemy import Engine
from sqlalchemy.engine import URL

from workstation.config import mask_url, normalize_database_url
from workstation.db.engine import create_db_engine
from workstation.gui.shortcuts import ShortcutRegistry
from workstation.gui.trading_service import TradingService
from workstation.gui.workers import JobManager


class WorkstationContext(QObject):
    symbolChanged = Signal(str)
    engineChanged = Signal()
    refreshRequested = Signal()
    notify = Signal(str, str)  # level ("info", "warning", "error"), message
    databaseChanged = Signal()

    def __init__(self, database_url: URL, settings: QSettings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.jobs = JobManager(self)
        self.shortcuts = ShortcutRegistry(settings)
        self._database_url = database_url
        self._engine: Engine = create_db_engine(database_url)
        self._symbol = ""
        self.symbols: list[str] = []  # kept current by the watchlist; the command palette offers them
        # One trading session per broker, shared by the ticket, the blotter and the status bar.
        self.trading = TradingService(self)

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
            self.symbolChanged.emit(symbol)

    def close(self) -> None:
        self.jobs.shutdown()
        self.trading.close()
        self._engine.dispose()
