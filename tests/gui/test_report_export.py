"""File → Export report…: the activity report as HTML and PDF from the window (pytest-qt, offscreen)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QDate
from PySide6.QtWidgets import QApplication
from sqlalchemy.orm import Session

from workstation.db.engine import create_db_engine
from workstation.db.models import ErrorLog, PerformanceLog
from workstation.reports.service import REPORT_FORMATS, REPORT_KINDS

pytestmark = pytest.mark.gui

T0 = datetime(2024, 5, 1, 14, 0, tzinfo=UTC)


@pytest.fixture
def activity_url(sqlite_url: str) -> str:
    engine = create_db_engine(sqlite_url)
    with Session(engine) as session:
        session.add_all(
            [
                ErrorLog(
                    timestamp=T0 + timedelta(minutes=i),
                    error_type="ConnectionError",
                    error_message="down",
                    component="alpaca",
                )
                for i in range(3)
            ]
            + [
                PerformanceLog(
                    timestamp=T0,
                    operation_name="get_features",
                    component="ml_pipeline",
                    duration_ms=Decimal(ms),
                    status="success",
                )
                for ms in range(1, 101)
            ]
        )
        session.commit()
    engine.dispose()
    return sqlite_url


def _dialog(qtbot: Any, window: Any) -> Any:
    qtbot.waitUntil(lambda: not window.context.jobs.running_jobs(), timeout=15_000)
    action = window.shortcuts.get("app.report").action
    assert action in window.menuBar().actions()[0].menu().actions()
    action.trigger()
    dialog = next(w for w in QApplication.topLevelWidgets() if w.objectName() == "reportDialog" and w.isVisible())
    # Every kind and format the reports package offers.
    assert [dialog.kind.itemText(i) for i in range(dialog.kind.count())] == list(REPORT_KINDS)
    assert [dialog.format.itemText(i) for i in range(dialog.format.count())] == list(REPORT_FORMATS)
    return dialog


def _export(qtbot: Any, window: Any, fmt: str, out: Path) -> list[Path]:
    dialog = _dialog(qtbot, window)
    dialog.kind.setCurrentText("activity")
    dialog.format.setCurrentText(fmt)
    dialog.start.setDate(QDate(2024, 4, 1))
    dialog.end.setDate(QDate(2024, 5, 31))
    dialog.output.setText(str(out))
    handle = dialog.export()
    assert handle is not None
    qtbot.waitUntil(lambda: handle.state != "running" and not dialog.isVisible(), timeout=30_000)
    assert handle.state == "succeeded", handle.error
    return list(dialog.written)


def test_export_activity_report_as_html_and_pdf(
    window_factory: Any, activity_url: str, tmp_path: Path, qtbot: Any
) -> None:
    window = window_factory(activity_url)
    html_path = tmp_path / "activity.html"
    assert _export(qtbot, window, "html", html_path) == [html_path]
    html = html_path.read_text(encoding="utf-8")
    for expected in ("Activity report", "Errors by component", "Slowest operations", "alpaca", "get_features"):
        assert expected in html
    assert "50.5" in html  # p50 of 1…100 ms
    assert any(t.level == "info" and str(html_path) in t.message for t in window.notifications.active())

    pdf_path = tmp_path / "activity.pdf"
    assert _export(qtbot, window, "pdf", pdf_path) == [pdf_path]
    from pypdf import PdfReader

    text = " ".join(" ".join(page.extract_text().split()) for page in PdfReader(str(pdf_path)).pages)
    assert "Activity report" in text
    assert "alpaca" in text and "get_features" in text


def test_export_dialog_checks_its_inputs(window_factory: Any, sqlite_url: str, qtbot: Any) -> None:
    window = window_factory(sqlite_url)
    dialog = _dialog(qtbot, window)
    dialog.kind.setCurrentText("models")
    assert not dialog._form.isRowVisible(dialog.backtest_id) and dialog._form.isRowVisible(dialog.model_id)
    dialog.model_id.setCurrentText("")
    assert dialog.export() is None
    assert "Choose the model" in dialog.message.text()
    dialog.kind.setCurrentText("backtest")
    assert dialog.export() is None
    assert "No stored backtest" in dialog.message.text()
    assert dialog.output.text().endswith(".html") and "backtest-report" in dialog.output.text()
    dialog.reject()


def test_no_backtest_message_names_a_command_that_stores_one(
    window_factory: Any, filled_url: str, qtbot: Any, tmp_path: Path, workstation_cli: Any
) -> None:
    """The suggestion is run as written (the placeholder filled in); then the dialog offers the run it stored
    and exports its report, buy-and-hold included."""
    import re
    import shlex

    window = window_factory(filled_url)
    dialog = _dialog(qtbot, window)
    qtbot.waitUntil(lambda: not dialog.calls.pending(), timeout=10_000)
    dialog.kind.setCurrentText("backtest")
    assert dialog.export() is None
    (suggested,) = re.findall(r"'(workstation [^']+)'", dialog.message.text())
    arguments = [word.replace("SYMBOL", "AAPL") for word in shlex.split(suggested)[1:]]
    dialog.reject()
    done = workstation_cli("--database-url", filled_url, *arguments)
    assert done.returncode == 0, done.stderr
    dialog = _dialog(qtbot, window)
    qtbot.waitUntil(lambda: not dialog.calls.pending() and dialog.backtest_id.count() == 1, timeout=10_000)
    dialog.kind.setCurrentText("backtest")
    dialog.format.setCurrentText("html")
    dialog.output.setText(str(tmp_path / "bt.html"))
    handle = dialog.export()
    assert handle is not None
    qtbot.waitUntil(lambda: handle.state != "running" and not dialog.isVisible(), timeout=30_000)
    assert handle.state == "succeeded", handle.error
    html = (tmp_path / "bt.html").read_text(encoding="utf-8")
    assert "sma_cross on AAPL" in html and "<th>Buy and hold</th>" in html


def test_models_report_defaults_to_the_model_selected_in_the_panel(
    window_factory: Any, sqlite_url: str, qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = window_factory(sqlite_url)
    panel = window.docks["modelPanel"].widget()
    monkeypatch.setattr(panel, "selected_model_id", lambda: "rf_direction_1d_v7")
    dialog = _dialog(qtbot, window)
    qtbot.waitUntil(lambda: not dialog.calls.pending(), timeout=10_000)
    dialog.kind.setCurrentText("models")
    assert dialog.model_id.currentText() == "rf_direction_1d_v7"
    assert dialog.request()["model_id"] == "rf_direction_1d_v7"
    dialog.reject()
