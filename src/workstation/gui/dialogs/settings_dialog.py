"""Ctrl+, : database URL (with a connection test in a worker), Alpaca keys, paper/live, theme."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from workstation import credentials
from workstation.config import mask_url, normalize_database_url
from workstation.db.engine import check_connection, create_db_engine
from workstation.errors import WorkstationError
from workstation.gui.context import WorkstationContext
from workstation.gui.theme import THEMES
from workstation.jobs import CancelToken, ProgressCallback

DATABASE_KEY = "database/url"
THEME_KEY = "appearance/theme"


def test_database(url_text: str) -> str:
    """Open the database once; returns a one-line success message or raises a WorkstationError."""
    url = normalize_database_url(url_text)
    engine = create_db_engine(url)
    try:
        check_connection(engine)
    finally:
        engine.dispose()
    return f"Connected to {mask_url(url)}"


class SettingsDialog(QDialog):
    def __init__(self, context: WorkstationContext, theme: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("settingsDialog")
        self.setWindowTitle("Settings")
        self.resize(620, 380)
        self._context = context
        tabs = QTabWidget()
        tabs.addTab(self._database_tab(), "Database")
        tabs.addTab(self._broker_tab(), "Broker")
        tabs.addTab(self._appearance_tab(theme), "Appearance")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(tabs)
        layout.addWidget(buttons)

    # -- database ------------------------------------------------------------------------------------
    def _database_tab(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        self.database_url = QLineEdit(self._context.database_url.render_as_string(hide_password=False))
        self.database_url.setObjectName("databaseUrl")
        self.database_url.setPlaceholderText("sqlite:///PATH or postgresql://USER@HOST:5432/DBNAME")
        self.test_button = QPushButton("Test connection")
        self.test_button.setObjectName("testConnection")
        self.test_button.clicked.connect(self.test_connection)
        self.test_result = QLabel()
        self.test_result.setObjectName("testResult")
        self.test_result.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.database_url, 1)
        row.addWidget(self.test_button)
        form.addRow("Database URL", row)
        form.addRow("", self.test_result)
        note = QLabel(
            "The window remembers this URL. The command line uses --database-url or WORKSTATION_DATABASE_URL."
        )
        note.setWordWrap(True)
        form.addRow("", note)
        return page

    def test_connection(self) -> None:
        text = self.database_url.text()
        self.test_button.setEnabled(False)
        self.test_result.setText("Connecting…")

        def job(progress: ProgressCallback, cancel: CancelToken) -> str:
            return test_database(text)

        def done(message: str) -> None:
            self.test_button.setEnabled(True)
            self.test_result.setText(f"✔ {message}")

        def failed(message: str) -> None:
            self.test_button.setEnabled(True)
            self.test_result.setText(f"✘ {message}")

        handle = self._context.jobs.submit("Test database connection", job, on_success=done)
        handle.failed.connect(failed)

    # -- broker --------------------------------------------------------------------------------------
    def _broker_tab(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        status = credentials.keyring_status()
        self.keyring_label = QLabel(status.explanation)
        self.keyring_label.setObjectName("keyringStatus")
        self.keyring_label.setWordWrap(True)
        self.key_id = QLineEdit()
        self.key_id.setObjectName("alpacaKeyId")
        self.secret = QLineEdit()
        self.secret.setObjectName("alpacaSecret")
        self.secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.paper = QRadioButton("Paper trading")
        self.live = QRadioButton("Live trading (real money)")
        group = QButtonGroup(page)
        group.addButton(self.paper)
        group.addButton(self.live)
        self.allow_file = QCheckBox(f"Store in a private file instead ({credentials.fallback_path()}, mode 0600)")
        self.allow_file.setObjectName("allowFileFallback")
        self.allow_file.setVisible(not status.available)
        self.source_label = QLabel()
        try:
            found = credentials.load_alpaca_credentials()
        except WorkstationError as exc:
            found = None
            self.source_label.setText(str(exc))
        if found is not None:
            creds, location = found
            self.key_id.setText(creds.key_id)
            self.secret.setPlaceholderText("•••••••• (stored; type to replace)")
            self.paper.setChecked(creds.paper)
            self.live.setChecked(not creds.paper)
            self.source_label.setText(f"Current keys come from the {location}.")
        else:
            self.paper.setChecked(True)
            self.source_label.setText(self.source_label.text() or "No Alpaca keys are configured.")
        self._had_keys = found is not None
        form.addRow(self.keyring_label)
        form.addRow("API key id", self.key_id)
        form.addRow("Secret key", self.secret)
        mode = QHBoxLayout()
        mode.addWidget(self.paper)
        mode.addWidget(self.live)
        form.addRow("Account", mode)
        form.addRow(self.allow_file)
        form.addRow(self.source_label)
        return page

    def _save_credentials(self) -> bool:
        key_id, secret = self.key_id.text().strip(), self.secret.text().strip()
        if not key_id and not secret:
            return True
        if not secret and self._had_keys:
            found = credentials.load_alpaca_credentials()
            secret = found[0].secret_key if found else ""
        try:
            credentials.save_alpaca_credentials(
                credentials.AlpacaCredentials(key_id, secret, self.paper.isChecked()),
                allow_file=self.allow_file.isChecked(),
            )
        except WorkstationError as exc:
            QMessageBox.warning(self, "Alpaca keys not saved", str(exc))
            return False
        return True

    # -- appearance ----------------------------------------------------------------------------------
    def _appearance_tab(self, theme: str) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        self.theme = QComboBox()
        self.theme.setObjectName("themeChoice")
        self.theme.addItems(list(THEMES))
        self.theme.setCurrentText(theme)
        form.addRow("Theme", self.theme)
        return page

    def chosen_theme(self) -> str:
        return self.theme.currentText()

    def accept(self) -> None:
        url_text = self.database_url.text().strip()
        current = self._context.database_url.render_as_string(hide_password=False)
        if url_text != current:
            try:
                self._context.set_database_url(url_text)
            except WorkstationError as exc:
                QMessageBox.warning(self, "Database URL", str(exc))
                return
            self._context.settings.setValue(DATABASE_KEY, url_text)
        if not self._save_credentials():
            return
        self._context.settings.setValue(THEME_KEY, self.chosen_theme())
        super().accept()
