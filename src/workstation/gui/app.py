"""Start-up of the workstation window: QApplication, theme, crash reporter, context, main window."""

from __future__ import annotations

import logging
import os
import sys

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication
from sqlalchemy.engine import URL

from workstation import __version__
from workstation.config import DATABASE_URL_ENV, normalize_database_url
from workstation.errors import ConfigurationError
from workstation.gui.context import WorkstationContext
from workstation.gui.crash import CrashReporter
from workstation.gui.dialogs.settings_dialog import DATABASE_KEY
from workstation.gui.gc_tuning import IdleCollector
from workstation.gui.main_window import MainWindow
from workstation.gui.qsettings import open_settings
from workstation.gui.registry import PanelRegistry
from workstation.gui.theme import apply_theme

logger = logging.getLogger(__name__)


def ensure_application() -> QApplication:
    app = QApplication.instance()
    if isinstance(app, QApplication):
        return app
    # Workers run Python code too; the GUI thread must get the GIL back quickly or every paint waits up
    # to the default 5 ms switch interval per hand-over. 1 ms keeps the event loop responsive.
    sys.setswitchinterval(0.001)
    app = QApplication(sys.argv[:1])
    app.setApplicationName("workstation")
    app.setOrganizationName("workstation")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("workstation")
    return app


def choose_database_url(option_url: str | None, configured: URL, settings: QSettings) -> URL:
    """--database-url and WORKSTATION_DATABASE_URL win; else the URL saved in Settings; else the default."""
    if option_url or os.environ.get(DATABASE_URL_ENV):
        return configured
    saved = settings.value(DATABASE_KEY)
    if saved:
        try:
            return normalize_database_url(str(saved))
        except ConfigurationError as exc:
            logger.warning("ignoring the saved database URL: %s", exc)
    return configured


def build_window(
    database_url: URL, *, option_url: str | None = None, registry: PanelRegistry | None = None
) -> tuple[MainWindow, CrashReporter]:
    app = ensure_application()
    # Alembic announces its migration context at INFO on every schema check: noise in the log monitor.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    settings = open_settings()
    url = choose_database_url(option_url, database_url, settings)
    context = WorkstationContext(url, settings)
    reporter = CrashReporter()
    theme = str(settings.value("appearance/theme", "dark"))
    apply_theme(app, theme if theme in ("dark", "light") else "dark")
    window = MainWindow(context, registry)
    window.set_theme(window.theme())
    reporter.set_window(window)
    IdleCollector(context.jobs, window).install()  # after the window exists: its objects are frozen
    return window, reporter


def run_gui(database_url: URL, *, option_url: str | None = None, quit_after: float | None = None) -> int:
    app = ensure_application()
    window, reporter = build_window(database_url, option_url=option_url)
    reporter.install()
    window.show()
    if quit_after is not None:
        QTimer.singleShot(int(quit_after * 1000), window.close)
    try:
        return int(app.exec())
    finally:
        reporter.uninstall()
        window.context.close()
        window.deleteLater()
