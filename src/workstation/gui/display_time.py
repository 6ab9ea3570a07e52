"""The display edge of time: storage is UTC, the window shows exchange time unless the user picks another zone.

A daily bar is a trading session, so it is always shown as its date in exchange time (a bar stored at
midnight New York, 04:00 or 05:00 UTC, is that day, not "04:00"); intraday times are shown in the
chosen zone with the zone's abbreviation, so a reader never has to guess. One ``DisplayTime`` per
window (on the context); panels redraw when it changes.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from zoneinfo import ZoneInfo

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtGui import QActionGroup
from PySide6.QtWidgets import QMenu

EXCHANGE_ZONE = ZoneInfo("America/New_York")
SETTINGS_KEY = "display/time_zone"
LOCAL = "local"
# Setting value → menu label; the exchange's zone first (the default).
ZONE_CHOICES: dict[str, str] = {
    "America/New_York": "Exchange time (New York)",
    "UTC": "UTC",
    LOCAL: "This computer's time zone",
}


def resolve_zone(name: str) -> tzinfo:
    if name == LOCAL:
        local = datetime.now().astimezone().tzinfo
        return local if local is not None else UTC
    return UTC if name == "UTC" else ZoneInfo(name)


def session_date(timestamp: datetime) -> date:
    """The trading day a daily bar belongs to: its date in exchange time."""
    aware = timestamp if timestamp.tzinfo is not None else timestamp.replace(tzinfo=UTC)
    return aware.astimezone(EXCHANGE_ZONE).date()


def format_bar_time(timestamp: datetime, *, daily: bool, zone: tzinfo, with_zone: bool = True) -> str:
    """'2026-10-30' for a daily bar; '2026-10-30 09:30 EDT' for an intraday one (in ``zone``)."""
    if daily:
        return session_date(timestamp).isoformat()
    aware = timestamp if timestamp.tzinfo is not None else timestamp.replace(tzinfo=UTC)
    local = aware.astimezone(zone)
    text = local.strftime("%Y-%m-%d %H:%M")
    return f"{text} {local.tzname()}" if with_zone else text


def is_daily(interval: str) -> bool:
    """1d, 1wk, 1mo… are sessions (shown as dates); minutes and hours are times of day."""
    unit = interval.lstrip("0123456789").lower()
    return unit in ("d", "day", "wk", "w", "week", "mo", "month")


class DisplayTime(QObject):
    """The window's display zone, saved in the settings; ``changed`` tells the panels to redraw."""

    changed = Signal()

    def __init__(self, settings: QSettings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._settings = settings
        saved = str(settings.value(SETTINGS_KEY, "America/New_York"))
        self._name = saved if saved in ZONE_CHOICES else "America/New_York"

    @property
    def name(self) -> str:
        return self._name

    @property
    def zone(self) -> tzinfo:
        return resolve_zone(self._name)

    def label(self) -> str:
        """The zone as the chart shows it, e.g. 'New York (EDT)' or 'UTC'."""
        now = datetime.now(UTC).astimezone(self.zone)
        if self._name == "America/New_York":
            return f"New York ({now.tzname()})"
        return "UTC" if self._name == "UTC" else f"local ({now.tzname()})"

    def set_name(self, name: str) -> None:
        if name not in ZONE_CHOICES:
            raise ValueError(f"unknown display time zone {name!r}")
        if name != self._name:
            self._name = name
            self._settings.setValue(SETTINGS_KEY, name)
            self.changed.emit()

    def format(self, timestamp: datetime, *, daily: bool, with_zone: bool = True) -> str:
        return format_bar_time(timestamp, daily=daily, zone=self.zone, with_zone=with_zone)


def fill_zone_menu(menu: QMenu, display: DisplayTime) -> None:
    """The zone choices as radio items (View → Time zone, the chart's zone button)."""
    menu.clear()
    group = QActionGroup(menu)
    for name, label in ZONE_CHOICES.items():
        action = menu.addAction(label)
        action.setCheckable(True)
        action.setChecked(name == display.name)
        action.setData(name)
        group.addAction(action)
        action.triggered.connect(lambda _checked=False, n=name: display.set_name(n))
