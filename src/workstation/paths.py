"""Where the program finds its run-time files and keeps the user's data.

sql/, ui/ and resources/ live at the top of the repository. A wheel ships them inside the
package (``workstation/_data``, see pyproject.toml); a source checkout or an editable install
reads them from the repository itself. Everything else asks this module, never ``__file__``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

APP_NAME = "workstation"
APP_AUTHOR = "workstation"

_PACKAGE_DIR = Path(__file__).resolve().parent


def _resource_root() -> Path:
    # A PyInstaller bundle unpacks the data next to the executable (sys._MEIPASS).
    frozen_root = getattr(sys, "_MEIPASS", None)
    candidates = []
    if frozen_root:
        candidates.append(Path(frozen_root) / "workstation" / "_data")
    candidates.append(_PACKAGE_DIR / "_data")
    candidates.append(_PACKAGE_DIR.parent.parent)  # src/workstation -> repository root
    for root in candidates:
        if (root / "sql").is_dir():
            return root
    raise FileNotFoundError("workstation's run-time files (sql/, ui/, resources/) are missing from this installation")


def sql_dir() -> Path:
    return _resource_root() / "sql"


def ui_dir() -> Path:
    return _resource_root() / "ui"


def resources_dir() -> Path:
    return _resource_root() / "resources"


def user_data_dir() -> Path:
    """The per-user data directory; ``WORKSTATION_DATA_DIR`` overrides it (tests, portable installs)."""
    override = os.environ.get("WORKSTATION_DATA_DIR")
    path = Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME, APP_AUTHOR))
    path.mkdir(parents=True, exist_ok=True)
    return path
