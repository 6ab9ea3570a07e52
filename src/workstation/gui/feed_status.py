"""Status-bar piece: the live feed — ``● Demo replay (synthetic) · 512 msg/s · market 10:42 ET``,
``● Live IEX: connected · 23 msg/s · lag 0.4 s``, reconnecting, stale, or whose connection it consumes."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from workstation.gui.live_feed import LiveFeedService, LiveStatus
from workstation.gui.statusbar import STATUS_ROW_HEIGHT
from workstation.market.calendar import EXCHANGE_TZ

_OK, _WARN, _BAD, _OFF = "#26a69a", "#f6c344", "#ef5350", "#9598a1"
_COLOURS = {"connected": _OK, "consumer": _OK, "reconnecting": _WARN, "connecting": _WARN, "starting": _OFF,
            "stale": _WARN, "failed": _BAD, "stopped": _OFF, "off": _OFF}  # fmt: skip


def describe(status: LiveStatus) -> tuple[str, str, str]:
    """(text, colour, tooltip) for ``status``."""
    if status.mode in ("off", "starting"):
        text = "Live: starting…" if status.mode == "starting" else "Live: off"
        return text, _OFF, status.reason
    state = status.state
    head = "Demo replay (synthetic)" if status.mode == "demo" else f"Live {status.feed.upper()}"
    via = "" if status.owner or not status.owner_description else f" via {status.owner_description.split(',')[0]}"
    parts = [f"{head}{via}" + ("" if state == "connected" else f": {state}")]
    if state in ("connected", "stale"):
        parts.append(f"{status.messages_per_second:,.0f} msg/s")
    if state == "stale" and status.quiet_seconds is not None:
        parts.append(f"no data for {status.quiet_seconds:.0f} s")
    elif status.mode == "demo" and status.market_time is not None:
        local = status.market_time.astimezone(ZoneInfo(EXCHANGE_TZ))
        parts.append(f"market {local:%Y-%m-%d %H:%M} ET")
    elif status.lag_seconds is not None and state == "connected":
        parts.append(f"lag {status.lag_seconds:.1f} s")
    tip = [status.reason]
    if status.owner:
        tip.append(f"This window holds the data connection ({status.connections} connections so far).")
    elif status.owner_description:
        tip.append(f"Bars come from {status.owner_description} through the database.")
    if status.mode == "demo":
        tip.append("Synthetic data replayed on this computer; nothing here is a real market.")
    tip.append(f"{status.symbols} symbols subscribed.")
    if status.last_error:
        tip.append(f"Last error: {status.last_error}")
    return " · ".join(parts), _COLOURS.get(state, _WARN), "\n".join(tip)


class FeedStatusWidget(QWidget):
    def __init__(self, service: LiveFeedService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("feedStatus")
        self.setFixedHeight(STATUS_ROW_HEIGHT)
        self.dot = QLabel("●")
        self.label = QLabel()
        self.label.setObjectName("feedStatusLabel")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 0, 4, 0)
        layout.setSpacing(4)
        layout.addWidget(self.dot)
        layout.addWidget(self.label)
        self._colour = ""
        service.statusChanged.connect(self.show_status)
        self.show_status(service.status)

    def show_status(self, status: LiveStatus) -> None:
        text, colour, tip = describe(status)
        if text != self.label.text():
            self.label.setText(text)
        if colour != self._colour:  # a style sheet change re-polishes the widget: only when it changes
            self._colour = colour
            self.dot.setStyleSheet(f"color: {colour};")
        self.setToolTip(tip)

    def text(self) -> str:
        return self.label.text()
