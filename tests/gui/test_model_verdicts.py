"""The window's model table and dialogs around verdicts (pytest-qt on the real window, offscreen):
verdict and interval instead of a tick, activation of a model without demonstrated skill only after a warning,
the Train dialog's ticked symbols always in view, Build features with progress."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from sqlalchemy import insert

from workstation.db.engine import create_db_engine
from workstation.db.models import Model, StockInfo
from workstation.ml.registry import get_model

pytestmark = pytest.mark.gui

INTERVALS = {
    "log_loss": {"difference": 0.0021, "low": -0.0004, "high": 0.0046, "better": None},
    "accuracy": {"difference": -0.004, "low": -0.03, "high": 0.02, "better": None},
    "roc_auc": {"difference": 0.0065, "low": -0.02, "high": 0.03, "better": None},
}
SKILLED = {
    "log_loss": {"difference": -0.0123, "low": -0.0201, "high": -0.0047, "better": "model"},
}


def _metrics(verdict: str, intervals: dict[str, Any]) -> dict[str, Any]:
    return {
        "held_out": {"accuracy": 0.5037, "roc_auc": 0.4977, "log_loss": 0.6972},
        "baseline": {"accuracy": 0.5042, "roc_auc": 0.4912, "log_loss": 0.6951},
        "baseline_kind": "majority class",
        "intervals": intervals,
        "verdict": verdict,
    }


@pytest.fixture
def registry_url(filled_url: str) -> str:
    """Two registered models, as training leaves them: one without demonstrated skill (deprecated), one that
    beats its baseline (active)."""
    engine = create_db_engine(filled_url)
    with engine.begin() as conn:
        for model_id, verdict, intervals, status in (
            ("rf_direction_1d_v1", "no_demonstrated_skill", INTERVALS, "deprecated"),
            ("rf_direction_1d_v2", "beats_baseline", SKILLED, "active"),
        ):
            conn.execute(
                insert(Model).values(
                    model_id=model_id, name="forest", version=model_id[-1], model_type="RandomForest",
                    parameters={"target": "price_direction", "interval": "1d", "horizon": 1, "symbols": ["AAPL"]},
                    metrics=_metrics(verdict, intervals), status=status,
                )
            )  # fmt: skip
    engine.dispose()
    return filled_url


def _panel(qtbot: Any, window: Any) -> Any:
    panel = window.docks["modelPanel"].widget()
    qtbot.waitUntil(lambda: panel.models_model.rowCount() == 2, timeout=15_000)
    return panel


def _cells(view: Any, header: str) -> dict[str, str]:
    model = view.model()
    column = next(c for c in range(model.columnCount()) if model.headerData(c, Qt.Orientation.Horizontal) == header)
    return {str(model.index(r, 0).data()): str(model.index(r, column).data()) for r in range(model.rowCount())}


def test_model_table_shows_verdict_and_interval_instead_of_a_tick(
    window_factory: Any, registry_url: str, qtbot: Any, tmp_path: Any
) -> None:
    panel = _panel(qtbot, window_factory(registry_url))
    panel.grab().save(str(tmp_path / "models.png"))
    verdicts = _cells(panel.models, "Verdict")
    assert (
        verdicts["rf_direction_1d_v1"]
        == "no demonstrated skill over the baseline · Log loss +0.0021 [−0.0004, +0.0046]"
    )
    assert verdicts["rf_direction_1d_v2"] == "beats the baseline · Log loss −0.0123 [−0.0201, −0.0047]"
    everything = [
        str(panel.models.model().index(r, c).data())
        for r in range(panel.models.model().rowCount())
        for c in range(panel.models.model().columnCount())
    ]
    assert not any("✓" in text or "better" in text for text in everything)
    # The Metrics tab: each metric's interval and what it shows, for the selected model.
    panel.select_model("rf_direction_1d_v1")
    qtbot.waitUntil(lambda: panel.metrics_model.rowCount() == 3, timeout=5_000)
    shown = _cells(panel.metrics, "Interval shows")
    assert set(shown.values()) == {"no difference shown"}
    assert _cells(panel.metrics, "Model − baseline [95% interval]")["ROC AUC"] == "+0.0065 [−0.02, +0.03]"


def test_activating_a_model_without_demonstrated_skill_asks_first(
    window_factory: Any, registry_url: str, qtbot: Any
) -> None:
    window = window_factory(registry_url)
    panel = _panel(qtbot, window)
    engine = window.context.engine
    # Training left it deprecated; Activate asks, and declining changes nothing.
    assert get_model(engine, "rf_direction_1d_v1").status == "deprecated"
    panel.select_model("rf_direction_1d_v1")
    qtbot.waitUntil(lambda: panel.activate_button.isEnabled(), timeout=5_000)
    panel.activate_button.click()
    prompt = panel.activation_prompt
    assert prompt is not None and prompt.isVisible()
    assert prompt.objectName() == "modelActivationWarning"
    assert "no demonstrated skill" in prompt.text() and "95% interval -0.0004 to +0.0046" in prompt.text()
    prompt.button(QMessageBox.StandardButton.Cancel).click()
    qtbot.wait(300)
    assert not window.context.jobs.running_jobs()
    assert get_model(engine, "rf_direction_1d_v1").status == "deprecated"
    # Accepting the warning activates it.
    panel.activate_button.click()
    prompt = panel.activation_prompt
    next(b for b in prompt.buttons() if b.text() == "Activate anyway").click()
    qtbot.waitUntil(lambda: get_model(engine, "rf_direction_1d_v1").status == "active", timeout=10_000)
    # A model that beats its baseline is activated without a question.
    panel.select_model("rf_direction_1d_v2")
    qtbot.waitUntil(lambda: panel.deprecate_button.isEnabled(), timeout=5_000)
    panel.deprecate_button.click()
    qtbot.waitUntil(lambda: get_model(engine, "rf_direction_1d_v2").status == "deprecated", timeout=10_000)
    qtbot.waitUntil(lambda: panel.activate_button.isEnabled(), timeout=10_000)
    panel.activation_prompt = None
    panel.activate_button.click()
    assert panel.activation_prompt is None
    qtbot.waitUntil(lambda: get_model(engine, "rf_direction_1d_v2").status == "active", timeout=10_000)


@pytest.fixture
def many_symbols_url(filled_url: str) -> str:
    """Forty more symbols in stock_info, so the list scrolls and XOM (the chart's symbol) sorts last."""
    engine = create_db_engine(filled_url)
    with engine.begin() as conn:
        conn.execute(insert(StockInfo), [{"symbol": f"B{i:02d}", "company_name": f"B {i}"} for i in range(40)])
    engine.dispose()
    return filled_url


def _train_dialog(qtbot: Any, window: Any, symbol: str) -> Any:
    panel = window.docks["modelPanel"].widget()
    qtbot.waitUntil(lambda: window.context.symbol == "AAPL", timeout=15_000)  # the window is up on its database
    window.context.set_symbol(symbol)
    qtbot.waitUntil(lambda: window.context.symbol == symbol, timeout=10_000)
    panel.train_button.click()
    qtbot.waitUntil(lambda: panel.train_dialog is not None and panel.train_dialog.isVisible(), timeout=10_000)
    qtbot.waitExposed(panel.train_dialog)
    return panel.train_dialog


def _in_view(dialog: Any, symbol: str) -> bool:
    item = dialog.symbols.findItems(symbol, Qt.MatchFlag.MatchExactly)[0]
    return not item.isHidden() and dialog.symbols.viewport().rect().contains(dialog.symbols.visualItemRect(item))


def test_train_dialog_never_trains_a_tick_the_user_cannot_see(
    window_factory: Any, many_symbols_url: str, qtbot: Any, tmp_path: Any
) -> None:
    window = window_factory(many_symbols_url)
    dialog = _train_dialog(qtbot, window, "XOM")
    assert dialog.symbols.count() == 43
    # The chart's symbol is ticked, and the list shows it (it sorts last, far below the first rows).
    assert dialog.chosen_symbols() == ["XOM"]
    assert _in_view(dialog, "XOM")
    assert not dialog.cancel_button.isVisible()  # nothing runs yet
    dialog.grab().save(str(tmp_path / "train-open.png"))
    # Filtering hides it: the ticked list above says so, Train names it.
    dialog.filter.setText("B0")
    assert not _in_view(dialog, "XOM")
    for symbol in ("B01", "B02", "B03"):
        dialog.symbols.findItems(symbol, Qt.MatchFlag.MatchExactly)[0].setCheckState(Qt.CheckState.Checked)
    assert dialog.chosen_symbols() == ["B01", "B02", "B03", "XOM"]
    assert dialog.ticked.text() == "Ticked (4): B01, B02, B03, XOM — not shown by the filter: XOM"
    dialog.grab().save(str(tmp_path / "train-filtered.png"))
    # Nothing ticked: no training starts.
    dialog.set_symbols([])
    assert not dialog.train_button.isEnabled() and dialog.train() is None
    assert "Tick at least one symbol" in dialog.hint.text()
    assert not any(j.label.startswith("Train") for j in window.context.jobs.running_jobs())
    dialog.reject()


def test_build_features_button_reports_progress_in_the_window(window_factory: Any, filled_url: str, qtbot: Any) -> None:
    window = window_factory(filled_url)
    panel = window.docks["modelPanel"].widget()
    qtbot.waitUntil(lambda: window.context.symbol == "AAPL", timeout=15_000)
    started: list[Any] = []
    progress: list[tuple[int, int, str]] = []

    def follow(handle: Any) -> None:
        started.append(handle)
        handle.progressed.connect(lambda d, t, m: progress.append((d, t, m)))

    window.context.jobs.jobStarted.connect(follow)
    panel.features_button.click()
    qtbot.waitUntil(lambda: bool(started), timeout=5_000)
    (handle,) = started
    assert handle.label == "Build 1d features" and not panel.features_button.isEnabled()
    assert "Build 1d features" in window.jobs_widget.rows()  # in the status bar, with its progress bar and cancel
    qtbot.waitUntil(lambda: handle.state != "running", timeout=120_000)
    assert handle.state == "succeeded", handle.error
    assert progress and progress[-1][0] == progress[-1][1] > 0
    qtbot.waitUntil(lambda: panel.features_button.isEnabled(), timeout=10_000)
    assert any("Features built" in n.message for n in window.notifications.active())
