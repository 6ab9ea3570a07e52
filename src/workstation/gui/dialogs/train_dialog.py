"""The Train dialog: a TrainingSpec from a form, trained in a worker with progress and cancel.

The dialog stays open while its job runs (progress bar, "Cancel training"); it closes when the
model is registered and emits ``trained`` with its ModelInfo. A cancelled job writes nothing
(train_and_register's contract), so the dialog simply returns to the form.

The ticked symbols are always listed above the list (a tick scrolled out of view is still shown), and
Train stays disabled while none is ticked. **Build features** computes the ticked symbols' features at
the chosen interval (the features service, in a worker with progress and cancel) for when training
says they are missing.
"""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime, time
from typing import Any

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from workstation.errors import WorkstationError
from workstation.gui.context import WorkstationContext
from workstation.gui.tables import DOWN, named
from workstation.gui.workers import JobHandle
from workstation.jobs import CancelToken, ProgressCallback
from workstation.ml.constants import MODEL_CHOICES, TARGETS
from workstation.ml.lstm import INSTALL_HINT

TYPE_LABELS = {
    "auto": "Automatic (boosting on large data, else forest)",
    "random_forest": "Random forest",
    "gradient_boosting": "Gradient boosting",
    "logistic": "Logistic regression",
    "lstm": "LSTM (PyTorch)",
}
INTERVALS = ("1d", "1h", "30m", "15m", "5m", "1m")
_NO_DATE = QDate(1900, 1, 1)


def torch_missing() -> str | None:
    """What to install for the LSTM, or None when PyTorch is there (found without importing it: fast)."""
    return INSTALL_HINT if importlib.util.find_spec("torch") is None else None


def _date_edit(name: str) -> QDateEdit:
    edit = named(QDateEdit(), name)
    edit.setCalendarPopup(True)
    edit.setDisplayFormat("yyyy-MM-dd")
    edit.setMinimumDate(_NO_DATE)
    edit.setSpecialValueText("— all bars —")  # the minimum date means "no bound"
    edit.setDate(_NO_DATE)
    return edit


class TrainDialog(QDialog):
    trained = Signal(object)  # ModelInfo

    def __init__(self, context: WorkstationContext, symbols: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("trainDialog")
        self.setWindowTitle("Train a model")
        self._context = context
        self.job: JobHandle | None = None
        self.outcome: Any = None
        self.model_type = named(QComboBox(), "trainModelType")
        for key in MODEL_CHOICES:
            self.model_type.addItem(TYPE_LABELS.get(key, key), key)
        self.target = named(QComboBox(), "trainTarget")
        for key in TARGETS:
            self.target.addItem(key.replace("_", " "), key)
        self.horizon = named(QSpinBox(), "trainHorizon")
        self.horizon.setRange(1, 250)
        self.horizon.setSuffix(" bars")
        self.interval = named(QComboBox(), "trainInterval")
        self.interval.addItems(INTERVALS)
        self.filter = named(QLineEdit(), "trainSymbolFilter")
        self.filter.setPlaceholderText("Filter symbols…")
        self.filter.textChanged.connect(self._filter_symbols)
        self.filter.textChanged.connect(lambda _t: self._update_hint())
        self.symbols = named(QListWidget(), "trainSymbols")
        self.symbols.setMaximumHeight(140)
        self.ticked = named(QLabel(""), "trainTicked")
        self.ticked.setWordWrap(True)
        chosen = {context.symbol} if context.symbol else set()
        for symbol in symbols:
            item = QListWidgetItem(symbol)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if symbol in chosen else Qt.CheckState.Unchecked)
            self.symbols.addItem(item)
        self.symbols.itemChanged.connect(lambda _item: self._update_hint())
        self.price_levels = named(
            QCheckBox("Include price levels (moving averages, bands, MACD, ATR …)"), "trainPriceLevels"
        )
        self.features_job: JobHandle | None = None
        self.features_button = named(QPushButton("Build features"), "trainBuildFeatures")
        self.features_button.setToolTip("Compute the ticked symbols' features at the chosen interval")
        self.features_button.clicked.connect(lambda: context.perform("models/build-features", self.build_features))
        self.start = _date_edit("trainStart")
        self.end = _date_edit("trainEnd")
        self.n_estimators = named(QSpinBox(), "trainEstimators")
        self.n_estimators.setRange(1, 5000)
        self.n_estimators.setValue(200)
        self.max_depth = named(QSpinBox(), "trainMaxDepth")
        self.max_depth.setRange(0, 100)
        self.max_depth.setValue(12)
        self.max_depth.setSpecialValueText("unlimited")
        self.learning_rate = named(QDoubleSpinBox(), "trainLearningRate")
        self.learning_rate.setDecimals(4)
        self.learning_rate.setRange(0.0001, 1.0)
        self.learning_rate.setSingleStep(0.01)
        self.learning_rate.setValue(0.05)
        self.regularisation = named(QDoubleSpinBox(), "trainC")
        self.regularisation.setRange(0.0001, 1000.0)
        self.regularisation.setValue(1.0)
        self.epochs = named(QSpinBox(), "trainEpochs")
        self.epochs.setRange(1, 1000)
        self.epochs.setValue(15)
        self.folds = named(QSpinBox(), "trainFolds")
        self.folds.setRange(2, 20)
        self.folds.setValue(5)
        self.name = named(QLineEdit(), "trainName")
        self.name.setPlaceholderText("optional description")
        self.hint = named(QLabel(""), "trainHint")
        self.hint.setWordWrap(True)
        self.progress = named(QProgressBar(), "trainProgress")
        self.progress.hide()
        self.progress_text = named(QLabel(""), "trainProgressText")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.train_button = named(QPushButton("Train"), "trainStart")
        self.train_button.setDefault(True)
        self.buttons.addButton(self.train_button, QDialogButtonBox.ButtonRole.ActionRole)
        # Beside the progress bar, shown only while a job runs (a button box shows every button it holds).
        self.cancel_button = named(QPushButton("Cancel training"), "trainCancel")
        self.cancel_button.hide()
        self.buttons.addButton(self.features_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.buttons.rejected.connect(self.reject)
        self.train_button.clicked.connect(lambda: context.perform("models/train", self.train))
        self.cancel_button.clicked.connect(self.cancel)
        self._build_layout()
        self.model_type.currentIndexChanged.connect(lambda _i: self._type_changed())
        self.target.currentIndexChanged.connect(lambda _i: self._type_changed())
        self._type_changed()

    def _build_layout(self) -> None:
        form = QFormLayout()
        form.addRow("Model type", self.model_type)
        form.addRow("Target", self.target)
        form.addRow("Horizon", self.horizon)
        form.addRow("Interval", self.interval)
        form.addRow("Symbols", self.filter)
        form.addRow("", self.ticked)
        form.addRow("", self.symbols)
        dates = QHBoxLayout()
        dates.addWidget(self.start)
        dates.addWidget(QLabel("to"))
        dates.addWidget(self.end)
        form.addRow("Bars from", dates)
        self._hyper_rows = {
            "n_estimators": ("Trees / iterations", self.n_estimators),
            "max_depth": ("Max depth", self.max_depth),
            "learning_rate": ("Learning rate", self.learning_rate),
            "C": ("Inverse regularisation C", self.regularisation),
            "epochs": ("Epochs", self.epochs),
        }
        for label, widget in self._hyper_rows.values():
            form.addRow(label, widget)
        form.addRow("Walk-forward folds", self.folds)
        form.addRow("Inputs", self.price_levels)
        form.addRow("Name", self.name)
        self._form = form
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.hint)
        running = QHBoxLayout()
        running.addWidget(self.progress, 1)
        running.addWidget(self.cancel_button)
        layout.addLayout(running)
        layout.addWidget(self.progress_text)
        layout.addWidget(self.buttons)

    # -- form ---------------------------------------------------------------------------------------------
    def _visible_hyperparameters(self) -> tuple[str, ...]:
        return {
            "auto": (),
            "random_forest": ("n_estimators", "max_depth"),
            "gradient_boosting": ("n_estimators", "learning_rate"),
            "logistic": ("C",),
            "lstm": ("epochs", "learning_rate"),
        }.get(str(self.model_type.currentData()), ())

    def _type_changed(self) -> None:
        shown = self._visible_hyperparameters()
        for key, (_label, widget) in self._hyper_rows.items():
            self._form.setRowVisible(widget, key in shown)
        if self.model_type.currentData() == "lstm" and self.learning_rate.value() == 0.05:
            self.learning_rate.setValue(0.001)
        elif self.model_type.currentData() == "gradient_boosting" and self.learning_rate.value() == 0.001:
            self.learning_rate.setValue(0.05)
        self._update_hint()

    def _update_hint(self) -> None:
        chosen = self.chosen_symbols()
        shown = ", ".join(chosen[:8]) + (f" +{len(chosen) - 8}" if len(chosen) > 8 else "")
        hidden = self.hidden_ticked()
        unseen = f" — not shown by the filter: {', '.join(hidden[:8])}" + (" …" if len(hidden) > 8 else "")
        self.ticked.setText(
            (f"Ticked ({len(chosen)}): {shown}" + (unseen if hidden else "")) if chosen else "Ticked: none"
        )
        problem = self.problem()
        self.hint.setText(problem or "")
        self.hint.setStyleSheet(f"color: {DOWN};" if problem else "")
        self.train_button.setEnabled(problem is None and self.job is None)

    def problem(self) -> str | None:
        """Why the form cannot be trained as it is (shown under the form), or None."""
        model_type, target = self.model_type.currentData(), self.target.currentData()
        if model_type == "lstm":
            missing = torch_missing()
            if missing:
                return f"The LSTM is an optional extra: {missing}"
        if model_type == "logistic" and target != "price_direction":
            return "Logistic regression is a classifier: choose price direction, or a forest for volatility."
        if not self.chosen_symbols():
            return "Tick at least one symbol to train on."
        return None

    def _filter_symbols(self, text: str) -> None:
        needle = text.strip().upper()
        for row in range(self.symbols.count()):
            item = self.symbols.item(row)
            item.setHidden(bool(needle) and needle not in item.text())

    def hidden_ticked(self) -> list[str]:
        """Ticked symbols the filter hides: training would use them, so the form names them."""
        items = (self.symbols.item(row) for row in range(self.symbols.count()))
        return [item.text() for item in items if item.checkState() == Qt.CheckState.Checked and item.isHidden()]

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        # The chart's symbol is ticked for convenience: bring it into the middle of the list once the list has
        # its real height (scrolling before the dialog is shown leaves it at or below the edge).
        ticked = [self.symbols.item(r) for r in range(self.symbols.count())]
        first = next((item for item in ticked if item.checkState() == Qt.CheckState.Checked), None)
        if first is not None:
            self.symbols.scrollToItem(first, QListWidget.ScrollHint.PositionAtCenter)

    def chosen_symbols(self) -> list[str]:
        items = (self.symbols.item(row) for row in range(self.symbols.count()))
        return [item.text() for item in items if item.checkState() == Qt.CheckState.Checked]

    def set_symbols(self, symbols: list[str]) -> None:
        wanted = set(symbols)
        for row in range(self.symbols.count()):
            item = self.symbols.item(row)
            item.setCheckState(Qt.CheckState.Checked if item.text() in wanted else Qt.CheckState.Unchecked)
        self._update_hint()

    @staticmethod
    def _date(edit: QDateEdit, end: bool) -> datetime | None:
        day = edit.date()
        if day == _NO_DATE:
            return None
        moment = time.max if end else time.min  # the end date is inclusive
        return datetime.combine(day.toPython(), moment, tzinfo=UTC)  # type: ignore[arg-type]

    def hyperparameters(self) -> dict[str, Any]:
        model_type = self.model_type.currentData()
        if model_type == "random_forest":
            return {"n_estimators": self.n_estimators.value(), "max_depth": self.max_depth.value() or None}
        if model_type == "gradient_boosting":
            return {"max_iter": self.n_estimators.value(), "learning_rate": self.learning_rate.value()}
        if model_type == "logistic":
            return {"C": self.regularisation.value()}
        if model_type == "lstm":
            return {"epochs": self.epochs.value(), "learning_rate": self.learning_rate.value()}
        return {}

    def spec(self) -> Any:
        """The TrainingSpec of the form; a WorkstationError says what is wrong with it."""
        from workstation.ml.training import TrainingSpec  # pandas and scikit-learn load when training

        problem = self.problem()
        if problem:
            raise WorkstationError(problem)
        symbols = self.chosen_symbols()
        if not symbols:
            raise WorkstationError("Tick at least one symbol to train on.")
        start, end = self._date(self.start, False), self._date(self.end, True)
        if start and end and start > end:
            raise WorkstationError("The start date is after the end date.")
        spec = TrainingSpec(
            model_type=str(self.model_type.currentData()),
            target=str(self.target.currentData()),
            symbols=tuple(symbols),
            interval=self.interval.currentText(),
            horizon=self.horizon.value(),
            start=start,
            end=end,
            n_folds=self.folds.value(),
            hyperparameters=self.hyperparameters(),
            name=self.name.text().strip() or None,
            include_price_levels=self.price_levels.isChecked(),
        )
        spec.validate()
        return spec

    # -- the job ------------------------------------------------------------------------------------------
    def train(self) -> JobHandle | None:
        if self.job is not None:
            return self.job
        try:
            spec = self.spec()
        except WorkstationError as exc:
            self.hint.setText(str(exc))
            self.hint.setStyleSheet(f"color: {DOWN};")
            return None
        engine = self._context.engine

        def job(progress: ProgressCallback, cancel: CancelToken) -> Any:
            from workstation.cluster.jobs import train_and_register_on

            # On the cluster named by WORKSTATION_DASK_SCHEDULER, if any (cancel cancels its tasks).
            return train_and_register_on(engine, spec, progress=progress, cancel=cancel)

        label = f"Train {spec.model_type} {spec.target} on {', '.join(spec.symbols[:3])}"
        if len(spec.symbols) > 3:
            label += f" +{len(spec.symbols) - 3}"
        self.job = self._context.jobs.submit(label, job, on_success=self._succeeded)
        self.job.progressed.connect(self._progressed)
        self.job.cancelled.connect(lambda: self._ended("Training cancelled: nothing was registered."))
        self.job.failed.connect(lambda message: self._ended(f"Training failed: {message}", error=True))
        self._running("Starting…")
        return self.job

    def build_features(self) -> JobHandle | None:
        """Compute the ticked symbols' features at the chosen interval (incremental), with progress and cancel."""
        symbols, interval = self.chosen_symbols(), self.interval.currentText()
        if not symbols:
            self.hint.setText("Tick the symbols whose features to build.")
            self.hint.setStyleSheet(f"color: {DOWN};")
            return None
        if self.features_job is not None or self.job is not None:
            return self.features_job
        engine = self._context.engine

        def job(progress: ProgressCallback, cancel: CancelToken) -> Any:
            from workstation.cluster.jobs import build_features_on

            # On the cluster named by WORKSTATION_DASK_SCHEDULER, if any (cancel cancels its tasks).
            return build_features_on(engine, symbols=symbols, interval=interval, progress=progress, cancel=cancel)

        def done(summary: Any) -> None:
            skipped = f"; skipped: {', '.join(summary.skipped)}" if summary.skipped else ""
            self._ended(f"Features built: {summary.rows_written:,} {interval} rows written{skipped}.")

        self.features_job = self._context.jobs.submit(f"Build {interval} features", job, on_success=done)
        self.features_job.progressed.connect(self._progressed)
        self.features_job.cancelled.connect(lambda: self._ended("Building features cancelled."))
        self.features_job.failed.connect(
            lambda message: self._ended(f"Building features failed: {message}", error=True)
        )
        self.features_job.ended.connect(self._features_ended)
        self._running("Building features…")
        return self.features_job

    def _features_ended(self) -> None:
        self.features_job = None
        self._update_hint_button()

    def _running(self, text: str) -> None:
        self.progress.setRange(0, 0)
        self.progress.show()
        self.progress_text.setText(text)
        self.hint.setText("")
        self.cancel_button.show()
        self.train_button.setEnabled(False)
        self.features_button.setEnabled(False)

    def cancel(self) -> None:
        if self.features_job is not None:
            self.progress_text.setText("Cancelling…")
            self.features_job.cancel()
        if self.job is not None:
            self.progress_text.setText("Cancelling…")
            self.job.cancel()

    def _progressed(self, done: int, total: int, message: str) -> None:
        if total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(done)
        self.progress_text.setText(message)

    def _ended(self, message: str, error: bool = False) -> None:
        if self.features_job is None or self.features_job.state != "running":
            self.job = None
        self.progress.hide()
        self.cancel_button.hide()
        self.progress_text.setText("")
        self.hint.setText(message)
        self.hint.setStyleSheet(f"color: {DOWN};" if error else "")
        self._update_hint_button()

    def _update_hint_button(self) -> None:
        busy = self.job is not None or self.features_job is not None
        self.train_button.setEnabled(self.problem() is None and not busy)
        self.features_button.setEnabled(not busy)

    def _succeeded(self, outcome: Any) -> None:
        self.job = None
        self.outcome = outcome
        self.progress.hide()
        self.cancel_button.hide()
        self.trained.emit(outcome.model)
        self.accept()

    def reject(self) -> None:
        for running in (self.job, self.features_job):  # closing the dialog cancels what it runs
            if running is not None:
                running.cancel()
        super().reject()
