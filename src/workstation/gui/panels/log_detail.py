"""Pieces of the log monitor around its table: the detail text of one row and the alerts strip."""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from workstation.gui.panels.log_model import SEVERITY_COLOURS, SOURCE_LABELS, local_time
from workstation.monitoring.alerts import Alert
from workstation.monitoring.query import ActivityEntry


def describe_entry(entry: ActivityEntry) -> str:
    """The detail pane's text: header, full description, metadata as pretty JSON, multi-line values as blocks."""
    lines = [
        f"{local_time(entry.timestamp)}   ({entry.timestamp.isoformat()} UTC)",
        f"{entry.severity} · {SOURCE_LABELS.get(entry.source, entry.source)} · {entry.component}",
        f"correlation id: {entry.correlation_id or '—'}",
        "",
        entry.description,
    ]
    metadata: dict[str, Any] = dict(entry.metadata or {})
    # Stack traces and other multi-line text read badly as JSON strings full of "\n": shown as blocks.
    blocks = {k: v for k, v in metadata.items() if isinstance(v, str) and "\n" in v}
    plain = {k: v for k, v in metadata.items() if k not in blocks and v is not None}
    if plain:
        lines += ["", "metadata:", json.dumps(plain, indent=2, sort_keys=True, default=str, ensure_ascii=False)]
    for key, value in sorted(blocks.items()):
        lines += ["", f"{key}:", value.rstrip()]
    return "\n".join(lines)


class AlertsStrip(QFrame):
    """Active alerts above the tail; hidden when there are none. Activating one asks for its trace."""

    traceRequested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("alertsStrip")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.title = QLabel()
        self.title.setObjectName("alertsTitle")
        self.list = QListWidget()
        self.list.setObjectName("alertsList")
        self.list.itemActivated.connect(self._activated)
        header = QHBoxLayout()
        header.addWidget(self.title, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.setSpacing(3)
        layout.addLayout(header)
        layout.addWidget(self.list)
        self._alerts: list[Alert] = []
        self.hide()

    def set_alerts(self, alerts: list[Alert]) -> None:
        self._alerts = list(alerts)
        self.list.clear()
        for group in _grouped(alerts):
            alert = group[0]
            if len(group) == 1:
                text = f"{alert.severity:<8} {alert.title} — {alert.detail}"
            else:  # fifty symbols with stale data read better as one line than as fifty
                subjects = ", ".join((a.component if a.rule != "market_data_stale" else a.title.split()[0])
                                     or a.key for a in group[:6])  # fmt: skip
                more = " …" if len(group) > 6 else ""
                rule = alert.rule.replace("_", " ")
                text = f"{alert.severity:<8} {rule}: {len(group)} ({subjects}{more}) — e.g. {alert.title}"
            item = QListWidgetItem(text)
            item.setForeground(SEVERITY_COLOURS.get(alert.severity, QColor("#e0a400")))
            item.setToolTip("\n".join(f"{a.title} — {a.detail}" for a in group[:30]) + (
                "\nDouble-click to trace its correlation id." if alert.correlation_ids else ""))  # fmt: skip
            item.setData(Qt.ItemDataRole.UserRole, alert.correlation_ids[0] if alert.correlation_ids else "")
            self.list.addItem(item)
        self.list.setFixedHeight(min(self.list.count(), 4) * (self.list.fontMetrics().height() + 4) + 6)
        by_rule: dict[str, int] = {}
        for alert in alerts:
            by_rule[alert.rule] = by_rule.get(alert.rule, 0) + 1
        parts = ", ".join(f"{count} {rule.replace('_', ' ')}" for rule, count in sorted(by_rule.items()))
        plural = "s" if len(alerts) != 1 else ""
        self.title.setText(f"⚠  {len(alerts)} active alert{plural}: {parts}")
        self.setVisible(bool(alerts))

    def alerts(self) -> list[Alert]:
        return list(self._alerts)

    def _activated(self, item: QListWidgetItem) -> None:
        correlation_id = str(item.data(Qt.ItemDataRole.UserRole) or "")
        if correlation_id:
            self.traceRequested.emit(correlation_id)


def alert_ids(alerts: list[Alert]) -> frozenset[str]:
    return frozenset(cid for alert in alerts for cid in alert.correlation_ids)


def _grouped(alerts: list[Alert]) -> list[list[Alert]]:
    """Alerts of one rule and severity together, in the order of their first member (most severe first)."""
    groups: dict[tuple[str, str], list[Alert]] = {}
    for alert in alerts:
        groups.setdefault((alert.rule, alert.severity), []).append(alert)
    return list(groups.values())
