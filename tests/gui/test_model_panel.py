"""modelPanel on a real registry: train from the dialog in a worker, metrics vs baseline, status, predictions.

The database holds three symbols of synthetic daily bars with features built by the real features
engine; models are small forests (few trees) so that training takes seconds.
"""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from workstation.db.engine import create_db_engine
from workstation.ml.registry import get_model, list_models

pytestmark = pytest.mark.gui


@pytest.fixture
def features_url(filled_url: str) -> str:
    """The GUI test database (three symbols of synthetic daily bars) with features from the real engine."""
    from workstation.features.engine import build_features

    engine = create_db_engine(filled_url)
    build_features(engine, symbols=["AAPL", "MSFT", "XOM"])
    engine.dispose()
    return filled_url


def _panel(qtbot: Any, window: Any) -> Any:
    panel = window.docks["modelPanel"].widget()
    qtbot.waitUntil(lambda: window.context.symbol == "AAPL", timeout=15_000)
    return panel


def _open_dialog(qtbot: Any, panel: Any) -> Any:
    panel.train_button.click()
    qtbot.waitUntil(lambda: panel.train_dialog is not None and panel.train_dialog.isVisible(), timeout=10_000)
    return panel.train_dialog


def _small_forest(dialog: Any, symbols: list[str]) -> None:
    dialog.model_type.setCurrentIndex(dialog.model_type.findData("random_forest"))
    dialog.target.setCurrentIndex(dialog.target.findData("price_direction"))
    dialog.set_symbols(symbols)
    dialog.n_estimators.setValue(8)
    dialog.max_depth.setValue(4)
    dialog.folds.setValue(3)
    dialog.name.setText("gui test forest")


def _cell(view: Any, row: int, header: str) -> str:
    model = view.model()
    column = next(c for c in range(model.columnCount()) if model.headerData(c, Qt.Orientation.Horizontal) == header)
    return str(model.index(row, column).data())


def test_train_from_the_dialog_then_status_and_predict_latest(
    window_factory: Any, features_url: str, qtbot: Any
) -> None:
    window = window_factory(features_url)
    panel = _panel(qtbot, window)
    assert window.findChild(type(window.docks["modelPanel"]), "modelPanel") is not None
    dialog = _open_dialog(qtbot, panel)
    # The selected symbol is ticked by default and listed above the list; every stock_info symbol is offered.
    assert dialog.chosen_symbols() == ["AAPL"]
    assert dialog.ticked.text() == "Ticked (1): AAPL"
    assert dialog.symbols.count() == 3
    # Nothing ticked: Train is refused with a message, no job starts.
    dialog.set_symbols([])
    assert not dialog.train_button.isEnabled()
    assert dialog.train() is None
    assert "Tick at least one symbol" in dialog.hint.text()
    _small_forest(dialog, ["AAPL", "MSFT"])
    assert dialog.ticked.text() == "Ticked (2): AAPL, MSFT"
    progress: list[tuple[int, int, str]] = []
    handle = dialog.train()
    assert handle is not None
    handle.progressed.connect(lambda d, t, m: progress.append((d, t, m)))
    assert dialog.cancel_button.isVisibleTo(dialog) and not dialog.train_button.isEnabled()
    qtbot.waitUntil(lambda: handle.state != "running", timeout=120_000)
    assert handle.state == "succeeded", handle.error
    assert progress, "training reported no progress"
    model_id = handle.result.model.model_id
    assert not dialog.isVisible()

    # The table shows it with held-out metrics next to the baseline and a verdict.
    qtbot.waitUntil(lambda: panel.selected_model_id() == model_id, timeout=10_000)
    info = get_model(window.context.engine, model_id)
    held_out, baseline = info.metrics["held_out"], info.metrics["baseline"]
    row = next(i for i in range(panel.models.model().rowCount()) if _cell(panel.models, i, "Model") == model_id)
    assert _cell(panel.models, row, "Status") == info.status
    assert info.status == ("active" if info.metrics["verdict"] == "beats_baseline" else "deprecated")
    assert _cell(panel.models, row, "Type") == "random_forest"
    assert _cell(panel.models, row, "Target") == "price_direction"
    assert f"acc {held_out['accuracy']:.3f}" in _cell(panel.models, row, "Held-out")
    assert f"acc {baseline['accuracy']:.3f}" in _cell(panel.models, row, "Baseline")
    # The verdict in words with the interval of the primary metric, not a tick.
    from workstation.ml.uncertainty import VERDICT_WORDS

    verdict_cell = _cell(panel.models, row, "Verdict")
    assert verdict_cell.startswith(VERDICT_WORDS[info.metrics["verdict"]])
    assert "Log loss" in verdict_cell and "[" in verdict_cell and "✓" not in verdict_cell
    # Metrics tab: every held-out metric with its baseline; importance tab: the stored importances.
    metrics = {m.metric: m for m in panel.metrics_model.records()}
    assert metrics["Accuracy"].model == pytest.approx(held_out["accuracy"])
    assert metrics["Accuracy"].baseline == pytest.approx(baseline["accuracy"])
    qtbot.waitUntil(lambda: panel.importance_model.rowCount() > 0, timeout=10_000)
    stored = info.feature_importance[:30]
    assert [r.feature for r in sorted(panel.importance_model.records(), key=lambda r: r.rank)] == [
        r["feature"] for r in stored
    ]

    # Activate (a model without demonstrated skill asks first), deprecate, then activate again.
    def activate() -> None:
        panel.activate_button.click()
        if info.metrics["verdict"] != "beats_baseline":
            prompt = panel.activation_prompt
            assert prompt is not None and prompt.isVisible()
            assert "no demonstrated skill" in prompt.text() or "worse than the baseline" in prompt.text()
            accept = next(b for b in prompt.buttons() if b.text() == "Activate anyway")
            accept.click()
        qtbot.waitUntil(lambda: get_model(window.context.engine, model_id).status == "active", timeout=10_000)

    if info.status != "active":
        activate()
    qtbot.waitUntil(lambda: panel.deprecate_button.isEnabled(), timeout=10_000)
    assert not panel.activate_button.isEnabled()
    panel.deprecate_button.click()
    qtbot.waitUntil(lambda: get_model(window.context.engine, model_id).status == "deprecated", timeout=10_000)
    qtbot.waitUntil(lambda: _cell(panel.models, 0, "Status") == "deprecated", timeout=10_000)
    assert not panel.predict_button.isEnabled()  # a deprecated model does not predict
    activate()
    qtbot.waitUntil(lambda: panel.predict_button.isEnabled(), timeout=10_000)

    # Predict latest for the selected symbol: the prediction shows, and the chart reloads its markers.
    chart = window.docks["chartPanel"].widget()
    reloads: list[bool] = []
    window.context.refreshRequested.connect(lambda: reloads.append(True))
    panel.predict_button.click()
    qtbot.waitUntil(lambda: panel.predictions_model.rowCount() == 1, timeout=30_000)
    prediction = panel.predictions_model.record(0)
    assert (prediction.model_id, prediction.symbol) == (model_id, "AAPL")
    assert _cell(panel.predictions, 0, "Prediction") in ("▲ up", "▼ down")
    assert _cell(panel.predictions, 0, "Confidence").endswith("%")
    assert reloads
    qtbot.waitUntil(lambda: chart.view.marker_count() == 1, timeout=15_000)  # no fills: the one prediction
    assert "Predictions · AAPL" in panel.tabs.tabText(0)

    # The table follows the selected symbol.
    window.context.set_symbol("XOM")
    qtbot.waitUntil(lambda: panel.predictions_model.rowCount() == 0, timeout=10_000)
    assert "XOM" in panel.tabs.tabText(0)


def test_cancelling_training_registers_no_model(window_factory: Any, features_url: str, qtbot: Any) -> None:
    window = window_factory(features_url)
    panel = _panel(qtbot, window)
    dialog = _open_dialog(qtbot, panel)
    _small_forest(dialog, ["AAPL", "MSFT", "XOM"])
    dialog.n_estimators.setValue(3000)  # long enough to be cancelled mid-way
    dialog.max_depth.setValue(0)
    handle = dialog.train()
    assert handle is not None
    qtbot.waitUntil(lambda: handle.progress[0] > 0 or handle.state != "running", timeout=60_000)
    dialog.cancel_button.click()
    qtbot.waitUntil(lambda: handle.state != "running", timeout=60_000)
    assert handle.state == "cancelled"
    assert list_models(window.context.engine) == []
    assert dialog.isVisible() and "cancelled" in dialog.hint.text()
    assert dialog.train_button.isEnabled()
    dialog.reject()


def test_lstm_without_torch_says_what_to_install(
    window_factory: Any, features_url: str, qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workstation.gui.dialogs import train_dialog

    monkeypatch.setattr(train_dialog, "torch_missing", lambda: train_dialog.INSTALL_HINT)
    window = window_factory(features_url)
    panel = _panel(qtbot, window)
    dialog = _open_dialog(qtbot, panel)
    dialog.model_type.setCurrentIndex(dialog.model_type.findData("lstm"))
    assert "pip install 'workstation[lstm]'" in dialog.hint.text()
    assert not dialog.train_button.isEnabled()
    assert dialog.train() is None
    assert not window.context.jobs.running_jobs() or all(
        not j.label.startswith("Train") for j in window.context.jobs.running_jobs()
    )
    # Back to a forest: trainable again, the hint is gone.
    dialog.model_type.setCurrentIndex(dialog.model_type.findData("random_forest"))
    assert dialog.train_button.isEnabled() and dialog.hint.text() == ""
    dialog.reject()
    QApplication.processEvents()


def test_build_features_from_the_panel(window_factory: Any, filled_url: str, qtbot: Any) -> None:
    """The window's Build features action: a job with progress and cancel, through the features service."""
    window = window_factory(filled_url)
    panel = _panel(qtbot, window)
    progress: list[tuple[int, int, str]] = []
    handle = panel.build_features()
    assert handle is not None and not panel.features_button.isEnabled()
    handle.progressed.connect(lambda d, t, m: progress.append((d, t, m)))
    qtbot.waitUntil(lambda: handle.state != "running", timeout=120_000)
    assert handle.state == "succeeded", handle.error
    assert handle.result.rows_written > 0
    qtbot.waitUntil(lambda: panel.features_button.isEnabled(), timeout=10_000)


def test_volatility_rows_show_intervals_against_persistence() -> None:
    """Lower-is-better metrics: the interval says which side is better, the verdict reads the MAE's."""
    from datetime import UTC, datetime

    from workstation.gui.panels.model_data import ModelRow, metric_rows
    from workstation.ml.registry import ModelInfo

    held_out = {"mae": 0.004, "rmse": 0.006, "r2": 0.12}
    baseline = {"mae": 0.005, "rmse": 0.0055, "r2": 0.05}
    intervals = {
        "mae": {"difference": -0.001, "low": -0.0015, "high": -0.0004, "better": "model"},
        "rmse": {"difference": 0.0005, "low": -0.0002, "high": 0.0011, "better": None},
        "r2": {"difference": 0.07, "low": 0.01, "high": 0.12, "better": "model"},
    }
    moment = datetime(2024, 1, 2, tzinfo=UTC)
    info = ModelInfo(
        "rf_volatility_1d_v1", "vol", "1", "RandomForest", "active",
        {"target": "volatility", "interval": "1d", "horizon": 5, "symbols": ["AAPL"]},
        {"held_out": held_out, "baseline": baseline, "baseline_kind": "persistence", "intervals": intervals,
         "verdict": "beats_baseline"},
        None, None, moment, moment,
    )  # fmt: skip
    row = ModelRow.of(info)
    assert row.summary(row.held_out) == "MAE 0.004 · RMSE 0.006 · R² 0.120"
    assert row.verdict_text == "beats the baseline · MAE −0.001 [−0.0015, −0.0004]"
    shown = {m.metric: (m.interval, m.better) for m in metric_rows(row)}
    assert shown["RMSE"] == ("+0.0005 [−0.0002, +0.0011]", None)
    assert shown["MAE"][1] == "model"
    assert "persistence" in row.tooltip()
