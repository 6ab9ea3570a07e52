"""The window's own settings (layout, shortcuts, theme, database URL) in an INI file in the user data dir.

An INI file, not the platform registry, so tests (WORKSTATION_DATA_DIR) and portable installs stay
self-contained and a user can read or delete it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

from workstation.paths import user_data_dir

SETTINGS_FILE = "gui.ini"


def settings_path() -> Path:
    return user_data_dir() / SETTINGS_FILE


def open_settings() -> QSettings:
    return QSettings(str(settings_path()), QSettings.Format.IniFormat)
