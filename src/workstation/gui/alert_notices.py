"""Which monitoring alerts pop up: each alert once, again only when it changes — and not again at every start.

An alert is identified by its ``key`` (rule and subject) and changes when its severity does. What was
shown is remembered in the window's settings with the time it was shown, so an alert still active at
the next start is listed in the log monitor but not popped up again; a remembered alert is forgotten
once it resolves (a recurrence pops up) or after a day (a condition that lasted, or came back while
the window was closed, is raised again the next day).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from PySide6.QtCore import QSettings

from workstation.monitoring.alerts import Alert

SETTINGS_KEY = "notifications/shown_alerts"
REMEMBER_FOR = timedelta(days=1)


class AlertNotices:
    def __init__(self, settings: QSettings) -> None:
        self._settings = settings
        self._active: dict[str, Alert] = {}
        self._shown = self._load()

    def update(self, alerts: list[Alert], now: datetime | None = None) -> tuple[list[Alert], list[Alert]]:
        """(alerts to pop up now, alerts resolved since the last update of this session)."""
        now = now or datetime.now(UTC)
        current = {a.key: a for a in alerts}
        resolved = [a for k, a in self._active.items() if k not in current]
        self._active = current
        changed = False
        for alert in resolved:
            changed |= self._shown.pop(alert.key, None) is not None
        raise_now = []
        for alert in alerts:
            seen = self._shown.get(alert.key)
            if seen is None or seen[0] != alert.severity or now - seen[1] > REMEMBER_FOR:
                raise_now.append(alert)
                self._shown[alert.key] = (alert.severity, now)
                changed = True
        if changed:
            self._save()
        return raise_now, resolved

    def forget_session(self) -> None:
        """Another database: its alerts are new to this session (what was shown stays remembered)."""
        self._active = {}

    def _load(self) -> dict[str, tuple[str, datetime]]:
        try:
            raw = json.loads(str(self._settings.value(SETTINGS_KEY, "{}")))
        except json.JSONDecodeError:
            return {}
        shown: dict[str, tuple[str, datetime]] = {}
        for key, value in raw.items() if isinstance(raw, dict) else []:
            try:
                shown[str(key)] = (str(value[0]), datetime.fromisoformat(str(value[1])))
            except (TypeError, ValueError, IndexError):
                continue
        return shown

    def _save(self) -> None:
        document = {key: [severity, when.isoformat()] for key, (severity, when) in self._shown.items()}
        self._settings.setValue(SETTINGS_KEY, json.dumps(document))
