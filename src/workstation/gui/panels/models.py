"""modelPanel: the model registry with held-out metrics next to the baseline and each model's verdict;
train, build features, activate (after a warning when the model showed no skill), deprecate, predict;
the selected symbol's latest predictions and the selected model's feature importances.

Reads (registry, predictions, importances, symbols) run as quiet background calls; training and
prediction are jobs (status bar, progress, cancel). Written predictions ask the window to refresh,
so the chart redraws its prediction markers.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from workstation.gui.background import BackgroundCalls
from workstation.gui.context import WorkstationContext
from workstation.gui.dialogs.train_dialog import TrainDialog
from workstation.gui.panels.model_data import (
    IMPORTANCE_COLUMNS,
    METRIC_COLUMNS,
    MODEL_COLUMNS,
    PREDICTION_COLUMNS,
    ImportanceRow,
    MetricRow,
    ModelRow,
    load_importances,
    load_model_rows,
    load_predictions,
    load_symbols,
    metric_rows,
)
from workstation.gui.tables import (
    RecordTableModel,
    fit_columns_once,
    install_export_action,
    make_table_view,
    named,
    selected_records,
)
from workstation.gui.workers import JobHandle
from workstation.jobs import CancelToken, ProgressCallback
from workstation.ml.predict import PredictionRecord


class ModelPanel(QWidget):
    def __init__(self, context: WorkstationContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._context = context
        self.calls = BackgroundCalls(2, self)
        self.train_dialog: TrainDialog | None = None
        self.predict_job: JobHandle | None = None
        self._generation = 0  # bumps on every database switch: late answers from the old one are dropped
        self.models_model: RecordTableModel[ModelRow] = RecordTableModel(MODEL_COLUMNS, lambda r: r.model_id, self)
        self.metrics_model: RecordTableModel[MetricRow] = RecordTableModel(METRIC_COLUMNS, lambda m: m.metric, self)
        self.importance_model: RecordTableModel[ImportanceRow] = RecordTableModel(
            IMPORTANCE_COLUMNS, lambda i: i.feature, self
        )
        self.predictions_model: RecordTableModel[PredictionRecord] = RecordTableModel(
            PREDICTION_COLUMNS, lambda p: p.prediction_id, self
        )
        asc, desc = Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder
        self.models = make_table_view("modelTable", self.models_model, 12, desc, self)
        self.models.setSelectionMode(self.models.SelectionMode.SingleSelection)
        self.metrics = make_table_view("modelMetrics", self.metrics_model, -1, asc, self)
        self.importances = make_table_view("modelImportances", self.importance_model, 0, asc, self)
        self.predictions = make_table_view("modelPredictions", self.predictions_model, 0, desc, self)
        notify = context.notify.emit
        for view, title in (
            (self.models, "models"),
            (self.metrics, "model metrics"),
            (self.importances, "feature importances"),
            (self.predictions, "predictions"),
        ):
            install_export_action(view, notify, title)
        self.train_button = named(QPushButton("Train…"), "modelTrain")
        self.train_button.clicked.connect(lambda: context.perform("models/open-train", self.open_train_dialog))
        self.activate_button = named(QPushButton("Activate"), "modelActivate")
        self.activate_button.clicked.connect(
            lambda: context.perform("models/activate", lambda: self.set_status("active"))
        )
        self.deprecate_button = named(QPushButton("Deprecate"), "modelDeprecate")
        self.deprecate_button.clicked.connect(
            lambda: context.perform("models/deprecate", lambda: self.set_status("deprecated"))
        )
        self.activation_prompt: QMessageBox | None = None
        self.features_job: JobHandle | None = None
        self.features_button = named(QPushButton("Build features"), "modelBuildFeatures")
        self.features_button.setToolTip(
            "Compute the features of every symbol (incremental) at the selected model's interval, or 1d"
        )
        self.features_button.clicked.connect(lambda: context.perform("models/build-features", self.build_features))
        self.predict_button = named(QPushButton("Predict latest"), "modelPredict")
        self.predict_button.setToolTip("Predict at the selected symbol's latest bar with the selected model")
        self.predict_button.clicked.connect(lambda: context.perform("models/predict-latest", self.predict_latest))
        self.status = named(QLabel(""), "modelStatus")
        self.status.setWordWrap(True)
        self.tabs = named(QTabWidget(), "modelTabs")
        self.tabs.addTab(self.predictions, "Predictions")
        self.tabs.addTab(self.metrics, "Metrics vs baseline")
        self.tabs.addTab(self.importances, "Feature importance")
        top = QHBoxLayout()
        for button in (
            self.train_button, self.activate_button, self.deprecate_button, self.predict_button, self.features_button
        ):  # fmt: skip
            top.addWidget(button)
        top.addStretch(1)
        splitter = named(QSplitter(Qt.Orientation.Vertical), "modelSplitter")
        splitter.addWidget(self.models)
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(0, 2)  # a handful of models; the predictions and importances get the room
        splitter.setStretchFactor(1, 3)
        splitter.setSizes([200, 300])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.status)
        self.setFocusProxy(self.models)
        self.models.selectionModel().selectionChanged.connect(lambda *_: self._selection_changed())
        context.symbolChanged.connect(lambda _s: self.reload_predictions())
        context.refreshRequested.connect(self.reload)
        context.databaseChanged.connect(self._database_changed)
        self._update_buttons()

    # -- reading ------------------------------------------------------------------------------------------
    def _database_changed(self) -> None:
        self._generation += 1
        for model in (self.models_model, self.metrics_model, self.importance_model, self.predictions_model):
            model.set_records([])
        self.reload()

    def _run(self, fn: Any, done: Any) -> None:
        """A quiet read; the answer is dropped when the database changed meanwhile."""
        generation = self._generation
        self.calls.run(fn, lambda result, error: done(result, error) if generation == self._generation else None)

    def reload(self) -> None:
        self.reload_models()
        self.reload_predictions()

    def reload_models(self) -> None:
        engine = self._context.engine
        self._run(lambda: load_model_rows(engine), self._models_loaded)

    def _models_loaded(self, rows: Any, error: str | None) -> None:
        if error is not None:
            self.status.setText(f"Models not loaded: {error}")
            return
        self.models_model.set_records(rows)
        fit_columns_once(self.models, self._context.settings.contains("columns/modelPanel/modelTable"))
        active = sum(1 for r in rows if r.info.status == "active")
        self.status.setText(
            f"{len(rows)} models, {active} active" if rows else "No models yet: press Train… to train one."
        )
        self._selection_changed()

    def reload_predictions(self) -> None:
        symbol = self._context.symbol
        self.tabs.setTabText(0, f"Predictions · {symbol}" if symbol else "Predictions")
        if not symbol:
            return
        engine = self._context.engine

        def loaded(records: Any, error: str | None) -> None:
            if symbol != self._context.symbol:
                return  # another symbol was selected meanwhile
            if error is not None:
                self.status.setText(f"Predictions not loaded: {error}")
                return
            self.predictions_model.set_records([])  # another symbol: no merging across symbols
            self.predictions_model.set_records(records)
            fit_columns_once(self.predictions, self._context.settings.contains("columns/modelPanel/modelPredictions"))

        self._run(lambda: load_predictions(engine, symbol), loaded)

    def selected_model(self) -> ModelRow | None:
        rows = selected_records(self.models)
        return rows[0] if rows else None

    def selected_model_id(self) -> str | None:
        row = self.selected_model()
        return row.model_id if row is not None else None

    def select_model(self, model_id: str) -> bool:
        proxy = self.models.model()
        for row in range(proxy.rowCount()):
            if proxy.index(row, 0).data() == model_id:
                self.models.selectRow(row)
                return True
        return False

    def _selection_changed(self) -> None:
        self._update_buttons()
        row = self.selected_model()
        if row is None:
            self.metrics_model.set_records([])
            self.importance_model.set_records([])
            return
        self.metrics_model.set_records(metric_rows(row))
        self.importances.setToolTip(f"Permutation importance of {row.model_id} on its last held-out fold (top 30)")
        engine, model_id = self._context.engine, row.model_id

        def loaded(rows: Any, error: str | None) -> None:
            if model_id != self.selected_model_id():
                return
            if error is not None:
                self.status.setText(f"Feature importances not loaded: {error}")
                return
            self.importance_model.set_records([])
            self.importance_model.set_records(rows)
            self.importances.sortByColumn(0, Qt.SortOrder.AscendingOrder)
            fit_columns_once(self.importances, False)

        self._run(lambda: load_importances(engine, model_id), loaded)

    def _update_buttons(self) -> None:
        row = self.selected_model()
        self.activate_button.setEnabled(row is not None and row.info.status != "active")
        self.deprecate_button.setEnabled(row is not None and row.info.status == "active")
        self.predict_button.setEnabled(row is not None and row.info.status == "active" and self.predict_job is None)

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        # Before the window announced a ready database (databaseChanged), there may be no schema yet.
        if self._generation > 0 and not self.models_model.records():
            self.reload()

    # -- actions ------------------------------------------------------------------------------------------
    def open_train_dialog(self) -> None:
        """Opens the Train dialog once the symbols are read (from stock_info, off the GUI thread)."""
        engine = self._context.engine

        def loaded(symbols: Any, error: str | None) -> None:
            if error is not None:
                self._context.notify.emit("error", f"Symbols not loaded: {error}")
                return
            self.train_dialog = TrainDialog(self._context, list(symbols), self)
            self.train_dialog.trained.connect(self._trained)
            self.train_dialog.open()

        self._run(lambda: load_symbols(engine), loaded)

    def _trained(self, info: Any) -> None:
        self._context.notify.emit("info", f"Model {info.model_id} trained and registered ({info.status})")
        engine = self._context.engine

        def loaded(rows: Any, error: str | None) -> None:
            self._models_loaded(rows, error)
            self.select_model(info.model_id)

        self._run(lambda: load_model_rows(engine), loaded)

    def set_status(self, status: str) -> JobHandle | None:
        row = self.selected_model()
        if row is None:
            self._context.notify.emit("warning", "Select a model first.")
            return None
        from workstation.ml.service import activation_warning

        warning = activation_warning(row.info) if status == "active" else None
        if warning:
            # Not activated automatically for a reason: the user decides, having read why.
            prompt = QMessageBox(QMessageBox.Icon.Warning, "Activate a model without demonstrated skill?",
                                 f"{warning[0].upper()}{warning[1:]}.", parent=self)  # fmt: skip
            prompt.setObjectName("modelActivationWarning")
            accept = prompt.addButton("Activate anyway", QMessageBox.ButtonRole.AcceptRole)
            prompt.addButton(QMessageBox.StandardButton.Cancel)
            prompt.buttonClicked.connect(lambda button: self._change_status(row, status) if button is accept else None)
            self.activation_prompt = prompt
            prompt.open()
            return None
        return self._change_status(row, status)

    def _change_status(self, row: ModelRow, status: str) -> JobHandle:
        engine, model_id = self._context.engine, row.model_id

        def job(progress: ProgressCallback, cancel: CancelToken) -> Any:
            from workstation.ml.registry import set_status

            return set_status(engine, model_id, status)

        def done(info: Any) -> None:
            self._context.notify.emit("info", f"Model {info.model_id} is now {info.status}")

        handle = self._context.jobs.submit(f"Set {model_id} {status}", job, on_success=done)
        handle.ended.connect(self.reload_models)
        return handle

    def build_features(self) -> JobHandle | None:
        """Build (incrementally) every symbol's features at the selected model's interval, or 1d."""
        if self.features_job is not None:
            return self.features_job
        row = self.selected_model()
        interval = row.info.interval if row is not None and row.info.interval else "1d"
        engine = self._context.engine

        def job(progress: ProgressCallback, cancel: CancelToken) -> Any:
            from workstation.cluster.jobs import build_features_on

            # On the cluster named by WORKSTATION_DASK_SCHEDULER, if any (cancel cancels its tasks).
            return build_features_on(engine, interval=interval, progress=progress, cancel=cancel)

        def done(summary: Any) -> None:
            self._context.notify.emit("info", f"Features built: {summary.rows_written:,} {interval} rows written")

        self.features_job = self._context.jobs.submit(f"Build {interval} features", job, on_success=done)
        self.features_job.ended.connect(self._features_ended)
        self.features_button.setEnabled(False)
        return self.features_job

    def _features_ended(self) -> None:
        self.features_job = None
        self.features_button.setEnabled(True)

    def predict_latest(self) -> JobHandle | None:
        row, symbol = self.selected_model(), self._context.symbol
        if row is None or not symbol:
            self._context.notify.emit("warning", "Select a model and a symbol first.")
            return None
        engine, model_id = self._context.engine, row.model_id

        def job(progress: ProgressCallback, cancel: CancelToken) -> Any:
            from workstation.ml.predict import predict_latest

            return predict_latest(engine, model_id, symbols=[symbol])

        def done(records: Any) -> None:
            if not records:
                self._context.notify.emit(
                    "warning", f"No {row.info.interval} feature rows for {symbol}: build its features first."
                )
                return
            record = records[0]
            confidence = "" if record.confidence is None else f" (confidence {record.confidence:.0%})"
            value = (
                ("up" if record.prediction_value > 0 else "down")
                if record.prediction_type == "price_direction"
                else f"{record.prediction_value:.4g}"
            )
            self._context.notify.emit("info", f"{model_id}: {symbol} {value}{confidence}")
            self._context.refreshRequested.emit()  # the chart redraws its prediction markers, this panel its table

        self.predict_job = self._context.jobs.submit(f"Predict {symbol} with {model_id}", job, on_success=done)
        self.predict_job.ended.connect(self._predict_ended)
        self._update_buttons()
        return self.predict_job

    def _predict_ended(self) -> None:
        self.predict_job = None
        self._update_buttons()
