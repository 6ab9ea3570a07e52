"""Dark and light themes: Fusion style plus a QSS file from ui/themes/, read at run time."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication

from workstation.errors import ConfigurationError
from workstation.paths import ui_dir

THEMES = ("dark", "light")
DEFAULT_THEME = "dark"


def load_stylesheet(name: str) -> str:
    """The theme's QSS, its ``url(icons/…)`` made absolute (Qt resolves relative URLs against the
    working directory, not the file)."""
    if name not in THEMES:
        raise ConfigurationError(f"unknown theme {name!r}: choose one of {', '.join(THEMES)}")
    themes = ui_dir() / "themes"
    text = (themes / f"{name}.qss").read_text(encoding="utf-8")
    return text.replace("url(icons/", f"url({(themes / 'icons').as_posix()}/")


def apply_theme(app: QApplication, name: str) -> None:
    app.setStyle("Fusion")
    app.setStyleSheet(load_stylesheet(name))
    app.setProperty("workstationTheme", name)


def current_theme(app: QApplication) -> str:
    value = app.property("workstationTheme")
    return str(value) if value in THEMES else DEFAULT_THEME
