"""User actions → user_action_logs, each under its own correlation id.

``perform(path, fn)`` runs one action the user took (a menu command, a shortcut, a click in a panel)
inside ``correlation_scope(prefix="gui")``: every job it submits inherits the id (JobManager takes
the current id), so ``workstation logs trace <id>`` — or "Trace" in the log monitor — shows the
click, the jobs, their log lines and any error together. The row carries the session id (one per
window run), ``request_path`` (the UI path, e.g. ``View/Reset layout`` or ``watchlist/select``),
``response_status`` 0 (done) or 1 (raised) and ``duration_ms`` of the GUI-side handling.

An action that happens while another one runs (a programmatic selection caused by a click) is part
of that action: it runs in the same scope and is not recorded twice.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QWidget

from workstation.monitoring.correlation import correlation_scope
from workstation.monitoring.recorders import record_user_action

R = TypeVar("R")
ACTION_TYPE = "ui_action"
_RECORDED = "workstationUserAction"


def _clean(text: str) -> str:
    return text.replace("&", "").replace("…", "").strip()


def action_path(action: QAction) -> str:
    """Where the action lives in the UI: ``File/Settings``, ``View/Panels/Chart``; its text otherwise."""
    parts = [_clean(action.text()) or action.objectName() or "action"]
    seen: set[int] = set()
    current: QAction | None = action
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        menu = next((o for o in current.associatedObjects() if isinstance(o, QMenu)), None)
        if menu is None:
            break
        parts.append(_clean(menu.title()))
        current = menu.menuAction()
    return "/".join(p for p in reversed(parts) if p)


class UserActionRecorder:
    def __init__(self, session_id: str | None = None, user_id: str | None = None) -> None:
        self.session_id = session_id or uuid.uuid4().hex
        self.user_id = user_id
        self._depth = 0
        self.recorded = 0

    def perform(self, path: str, fn: Callable[[], R], *, metadata: Mapping[str, Any] | None = None) -> R:
        """Run ``fn`` as the user action ``path`` and record it (exceptions are recorded and re-raised)."""
        if self._depth:
            return fn()  # part of the action already running
        started_at = datetime.now(UTC)
        start = time.perf_counter()
        status = 1
        self._depth += 1
        with correlation_scope(prefix="gui", inherit=False) as cid:
            try:
                result = fn()
                status = 0
                return result
            except BaseException as exc:
                # The crash reporter runs after this scope has closed: it files the error under this id.
                with contextlib.suppress(AttributeError):
                    exc.workstation_correlation_id = cid  # type: ignore[attr-defined]
                raise
            finally:
                self._depth -= 1
                self.recorded += 1
                record_user_action(
                    ACTION_TYPE,
                    user_id=self.user_id,
                    session_id=self.session_id,
                    request_path=path,
                    response_status=status,
                    duration_ms=(time.perf_counter() - start) * 1000.0,
                    metadata=metadata,
                    correlation_id=cid,
                    timestamp=started_at,
                )

    def connect(self, action: QAction, slot: Callable[[], object]) -> QAction:
        """``action.triggered`` runs ``slot`` as a recorded user action."""
        action.setProperty(_RECORDED, True)
        action.triggered.connect(lambda _checked=False: self.perform(action_path(action), slot))
        return action

    def watch(self, root: QWidget) -> int:
        """Record every not-yet-recorded QAction under ``root`` (dock toggles, toolbar buttons …) when triggered.

        Their own slots run as before; this only adds the user_action_logs row. Returns how many were added.
        """
        added = 0
        for action in root.findChildren(QAction):
            if action.property(_RECORDED):
                continue
            action.setProperty(_RECORDED, True)
            action.triggered.connect(lambda _checked=False, a=action: self.perform(action_path(a), _nothing))
            added += 1
        return added


def _nothing() -> None:
    """The recorded body of an action whose own slot already did the work."""
