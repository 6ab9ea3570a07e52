"""Keyboard shortcuts: every command is a QAction registered here with an id, a category and defaults.

The user's own key sequences are saved in the window settings under ``shortcuts/<id>`` and applied on
start-up; Help → Keyboard shortcuts lists and edits them, and the command palette runs any of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import QSettings
from PySide6.QtGui import QAction, QKeySequence

_GROUP = "shortcuts"


@dataclass(slots=True)
class RegisteredAction:
    action_id: str
    action: QAction
    category: str
    defaults: tuple[str, ...]

    @property
    def text(self) -> str:
        return self.action.text().replace("&", "")

    def sequences(self) -> list[str]:
        return [s.toString(QKeySequence.SequenceFormat.PortableText) for s in self.action.shortcuts()]


class ShortcutRegistry:
    def __init__(self, settings: QSettings) -> None:
        self._settings = settings
        self._actions: dict[str, RegisteredAction] = {}

    def register(
        self, action_id: str, action: QAction, defaults: str | Sequence[str] = (), category: str = "General"
    ) -> QAction:
        """Add an action; its shortcut is the user's saved choice, else ``defaults``."""
        if action_id in self._actions:
            raise ValueError(f"shortcut id {action_id!r} is already registered")
        default_tuple = (defaults,) if isinstance(defaults, str) else tuple(defaults)
        entry = RegisteredAction(action_id, action, category, default_tuple)
        self._actions[action_id] = entry
        saved = self._settings.value(f"{_GROUP}/{action_id}")
        self._apply(entry, self._decode(saved) if saved is not None else list(default_tuple))
        return action

    def get(self, action_id: str) -> RegisteredAction:
        return self._actions[action_id]

    def entries(self) -> list[RegisteredAction]:
        return sorted(self._actions.values(), key=lambda e: (e.category, e.text))

    def set_shortcut(self, action_id: str, sequences: Sequence[str]) -> None:
        """Change and save one action's keys (an empty list removes its shortcut)."""
        entry = self._actions[action_id]
        self._apply(entry, list(sequences))
        if list(sequences) == list(entry.defaults):
            self._settings.remove(f"{_GROUP}/{action_id}")
        else:
            self._settings.setValue(f"{_GROUP}/{action_id}", "\n".join(sequences) if sequences else "")
        self._settings.sync()

    def reset(self, action_id: str | None = None) -> None:
        for entry in [self._actions[action_id]] if action_id else self._actions.values():
            self.set_shortcut(entry.action_id, entry.defaults)

    def conflicts(self) -> dict[str, list[str]]:
        """Key sequence -> action ids that share it (only the first would fire)."""
        users: dict[str, list[str]] = {}
        for entry in self._actions.values():
            for seq in entry.sequences():
                users.setdefault(seq, []).append(entry.action_id)
        return {seq: ids for seq, ids in users.items() if len(ids) > 1}

    @staticmethod
    def _decode(saved: object) -> list[str]:
        if isinstance(saved, list):
            return [str(s) for s in saved if str(s)]
        text = str(saved)
        return [s for s in text.split("\n") if s]

    @staticmethod
    def _apply(entry: RegisteredAction, sequences: Sequence[str]) -> None:
        keys = [QKeySequence(s, QKeySequence.SequenceFormat.PortableText) for s in sequences]
        entry.action.setShortcuts([k for k in keys if not k.isEmpty()])
        if keys:
            entry.action.setToolTip(f"{entry.text} ({keys[0].toString(QKeySequence.SequenceFormat.NativeText)})")
