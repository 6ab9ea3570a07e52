"""Help → Keyboard shortcuts: every action with its keys, editable in place, saved on OK."""

from __future__ import annotations

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QKeySequenceEdit,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workstation.gui.shortcuts import ShortcutRegistry


class ShortcutsDialog(QDialog):
    def __init__(self, registry: ShortcutRegistry, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("shortcutsDialog")
        self.setWindowTitle("Keyboard shortcuts")
        self.resize(640, 560)
        self._registry = registry
        self._edits: dict[str, QKeySequenceEdit] = {}
        layout = QVBoxLayout(self)
        self._filter = QLineEdit(placeholderText="Filter actions…")
        self._filter.textChanged.connect(self._apply_filter)
        layout.addWidget(self._filter)
        entries = registry.entries()
        self.table = QTableWidget(len(entries), 3, self)
        self.table.setObjectName("shortcutsTable")
        self.table.setHorizontalHeaderLabels(["Category", "Action", "Shortcut"])
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for row, entry in enumerate(entries):
            self.table.setItem(row, 0, QTableWidgetItem(entry.category))
            self.table.setItem(row, 1, QTableWidgetItem(entry.text))
            edit = QKeySequenceEdit(entry.action.shortcut())
            edit.setClearButtonEnabled(True)
            edit.setMaximumSequenceLength(1)
            edit.keySequenceChanged.connect(self._check_conflicts)
            self.table.setCellWidget(row, 2, edit)
            self._edits[entry.action_id] = edit
        layout.addWidget(self.table)
        self._conflicts = QLabel()
        self._conflicts.setObjectName("shortcutConflicts")
        self._conflicts.setWordWrap(True)
        layout.addWidget(self._conflicts)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        reset = QPushButton("Restore defaults")
        reset.clicked.connect(self._restore_defaults)
        buttons.addButton(reset, QDialogButtonBox.ButtonRole.ResetRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _apply_filter(self, text: str) -> None:
        needle = text.lower()
        for row in range(self.table.rowCount()):
            haystack = " ".join((item.text() if (item := self.table.item(row, c)) else "").lower() for c in (0, 1))
            self.table.setRowHidden(row, bool(needle) and needle not in haystack)

    def _restore_defaults(self) -> None:
        for action_id, edit in self._edits.items():
            defaults = self._registry.get(action_id).defaults
            edit.setKeySequence(QKeySequence(defaults[0]) if defaults else QKeySequence())

    def _check_conflicts(self) -> None:
        users: dict[str, list[str]] = {}
        for action_id, edit in self._edits.items():
            seq = edit.keySequence().toString(QKeySequence.SequenceFormat.NativeText)
            if seq:
                users.setdefault(seq, []).append(self._registry.get(action_id).text)
        clashes = [f"{seq}: {', '.join(names)}" for seq, names in users.items() if len(names) > 1]
        self._conflicts.setText("Conflicting keys — " + "; ".join(clashes) if clashes else "")

    def accept(self) -> None:
        for action_id, edit in self._edits.items():
            entry = self._registry.get(action_id)
            seq = edit.keySequence().toString(QKeySequence.SequenceFormat.PortableText)
            current = entry.sequences()
            # Keep secondary default keys (e.g. a second zoom key) unless the first one was changed.
            if (current[0] if current else "") != seq:
                self._registry.set_shortcut(action_id, [seq] if seq else [])
        super().accept()
