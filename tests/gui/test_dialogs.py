"""Settings (connection test in a worker, theme), the crash dialog, and `workstation gui` start-up wiring."""

from __future__ import annotations

import logging
import sys
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton

from workstation.gui.crash import CrashReporter

pytestmark = pytest.mark.gui


def test_settings_test_connection_runs_in_a_worker(window_factory: Any, filled_url: str, qtbot: Any) -> None:
    window = window_factory(filled_url)
    dialog = window.open_settings()
    dialog.test_connection()
    qtbot.waitUntil(lambda: dialog.test_result.text().startswith("✔ Connected to sqlite"), timeout=10_000)
    dialog.database_url.setText("mysql://nope")
    dialog.test_connection()
    qtbot.waitUntil(lambda: dialog.test_result.text().startswith("✘"), timeout=10_000)
    assert "unsupported database backend 'mysql'" in dialog.test_result.text()
    assert "keyring" in dialog.keyring_label.text().lower()
    dialog.reject()


def test_settings_switch_theme_and_database(window_factory: Any, filled_url: str, qtbot: Any, tmp_path: Any) -> None:
    window = window_factory(filled_url)
    dialog = window.open_settings()
    dialog.theme.setCurrentText("light")
    other = f"sqlite:///{tmp_path / 'other.db'}"
    dialog.database_url.setText(other)
    with qtbot.waitSignal(window.context.engineChanged, timeout=5000):
        dialog.accept()
    assert window.theme() == "light"
    assert QApplication.instance().property("workstationTheme") == "light"
    assert str(window.context.engine.url).endswith("other.db")
    qtbot.waitUntil(lambda: "other.db · 0 symbols" in window.database_label.text(), timeout=20_000)
    watchlist = window.docks["watchlistPanel"].widget()
    qtbot.waitUntil(lambda: watchlist.model.rowCount() == 0, timeout=10_000)
    window.set_theme("dark")


def test_crash_dialog_logs_and_offers_to_copy(qtbot: Any, caplog: pytest.LogCaptureFixture) -> None:
    reporter = CrashReporter()
    try:
        raise ZeroDivisionError("division by zero in a slot")
    except ZeroDivisionError:
        with caplog.at_level(logging.ERROR):
            reporter.handle(*sys.exc_info())  # type: ignore[arg-type]
    assert any(r.exc_info for r in caplog.records)
    qtbot.waitUntil(lambda: reporter.shown == 1, timeout=5000)
    box = next(w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible())
    assert "ZeroDivisionError" in box.informativeText()
    assert "Traceback" in box.detailedText()
    assert "correlation id" in box.detailedText()
    copy = next(b for b in box.findChildren(QPushButton) if b.text() == "Copy details")
    copy.click()
    assert "division by zero in a slot" in QApplication.clipboard().text()
    box.close()


def test_gui_command_is_the_default_command() -> None:
    import click

    from workstation.cli import main

    ctx = click.Context(main)
    command = main.get_command(ctx, "gui")
    assert command is not None
    assert command.name == "gui"
