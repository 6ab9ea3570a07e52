"""What the model panel shows, as plain records and table columns (no widgets, no database on the GUI thread).

Every figure comes from the registry's ``metrics`` document: ``held_out`` (pooled walk-forward folds
the model did not train on) next to ``baseline`` (majority class for direction, persistence for
volatility) on the same rows. The verdict and the 95 % interval of (model − baseline) come from the
block bootstrap (:mod:`workstation.ml.uncertainty`): a model "beats the baseline" only when the interval
of its primary metric (log loss / MAE) excludes zero in its favour.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, select

from workstation.db.models import StockInfo
from workstation.gui.tables import DOWN, MUTED, UP, Column, fmt_number, fmt_time
from workstation.ml.constants import HIGHER_IS_BETTER
from workstation.ml.predict import PredictionRecord, latest_predictions
from workstation.ml.registry import TYPE_FROM_REGISTRY, ModelInfo, feature_importance, list_models
from workstation.ml.uncertainty import BEATS, PRIMARY_METRIC, VERDICT_WORDS, WORSE

# The figures a trader looks at first, per target, with their short labels.
KEY_METRICS = {
    "price_direction": (("accuracy", "acc"), ("roc_auc", "AUC"), ("log_loss", "log loss")),
    "volatility": (("mae", "MAE"), ("rmse", "RMSE"), ("r2", "R²")),
}
METRIC_LABELS = {
    "accuracy": "Accuracy", "precision": "Precision", "recall": "Recall", "f1": "F1", "roc_auc": "ROC AUC",
    "log_loss": "Log loss", "brier": "Brier score", "mae": "MAE", "rmse": "RMSE", "r2": "R²",
}  # fmt: skip
TOP_FEATURES = 30
PREDICTION_LIMIT = 50


def _fmt(value: Any) -> str:
    return "—" if value is None else f"{float(value):.4g}" if abs(float(value)) < 1e-3 else f"{float(value):.3f}"


def interval_text(entry: dict[str, Any]) -> str:
    """model − baseline and its 95 % interval, e.g. "+0.0021 [−0.0004, +0.0046]"."""
    if not entry or entry.get("low") is None:
        return "—"
    return f"{entry['difference']:+.4g} [{entry['low']:+.4g}, {entry['high']:+.4g}]".replace("-", "−")


@dataclass(frozen=True, slots=True)
class ModelRow:
    info: ModelInfo
    held_out: dict[str, Any] = field(default_factory=dict)
    baseline: dict[str, Any] = field(default_factory=dict)
    intervals: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def of(cls, info: ModelInfo) -> ModelRow:
        metrics = info.metrics
        return cls(
            info,
            dict(metrics.get("held_out") or {}),
            dict(metrics.get("baseline") or {}),
            dict(metrics.get("intervals") or {}),
        )

    @property
    def model_id(self) -> str:
        return self.info.model_id

    @property
    def key_metrics(self) -> tuple[tuple[str, str], ...]:
        return KEY_METRICS.get(self.info.target, ())

    def summary(self, values: dict[str, Any]) -> str:
        return " · ".join(f"{label} {_fmt(values.get(name))}" for name, label in self.key_metrics if name in values)

    @property
    def verdict(self) -> str:
        return str(self.info.metrics.get("verdict") or "")

    @property
    def primary(self) -> str:
        return PRIMARY_METRIC.get(self.info.target, "")

    @property
    def verdict_text(self) -> str:
        """The verdict in words with the primary metric's interval, e.g. "no demonstrated skill · log loss
        +0.0021 [−0.0004, +0.0046]"."""
        if not self.verdict:
            return "— (no verdict recorded)"
        words = VERDICT_WORDS.get(self.verdict, self.verdict)
        entry = self.intervals.get(self.primary) or {}
        return f"{words} · {METRIC_LABELS.get(self.primary, self.primary)} {interval_text(entry)}"

    @property
    def verdict_color(self) -> str | None:
        return UP if self.verdict == BEATS else DOWN if self.verdict == WORSE else MUTED

    def tooltip(self) -> str:
        kind = self.info.metrics.get("baseline_kind", "baseline")
        lines = [f"Held-out walk-forward folds vs the {kind} baseline on the same rows:"]
        for name in self.held_out:
            if name in METRIC_LABELS:
                lines.append(
                    f"  {METRIC_LABELS[name]}: {_fmt(self.held_out.get(name))} vs {_fmt(self.baseline.get(name))}"
                )
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class MetricRow:
    metric: str
    model: float | None
    baseline: float | None
    interval: str  # model − baseline [95 % interval]
    better: str | None  # which side the interval shows better: "model", "baseline" or None
    higher_is_better: bool


def metric_rows(row: ModelRow) -> list[MetricRow]:
    return [
        MetricRow(
            METRIC_LABELS[name],
            None if row.held_out.get(name) is None else float(row.held_out[name]),
            None if row.baseline.get(name) is None else float(row.baseline[name]),
            interval_text(row.intervals.get(name) or {}),
            (row.intervals.get(name) or {}).get("better"),
            HIGHER_IS_BETTER[name],
        )
        for name in HIGHER_IS_BETTER
        if name in row.held_out
    ]


@dataclass(frozen=True, slots=True)
class ImportanceRow:
    rank: int
    feature: str
    importance: float
    std: float | None


def _type_name(info: ModelInfo) -> str:
    return TYPE_FROM_REGISTRY.get(info.model_type, info.model_type)


def _trained_window(info: ModelInfo) -> str:
    window = info.parameters.get("training_window") or {}
    start, end = str(window.get("start") or "")[:10], str(window.get("end") or "")[:10]
    return f"{start} → {end}" if start or end else "—"


def _status_color(row: ModelRow) -> str | None:
    return UP if row.info.status == "active" else MUTED


# The verdict first (what a trader scans for), then what the model is.
MODEL_COLUMNS: list[Column[ModelRow]] = [
    Column("Model", lambda r: r.model_id, tooltip=lambda r: r.info.name),
    Column("Status", lambda r: r.info.status, color=_status_color),
    Column("Verdict", lambda r: r.verdict_text, color=lambda r: r.verdict_color, tooltip=lambda r: r.tooltip()),
    # Text that starts with the primary metric (accuracy / MAE), so sorting by it sorts by that metric.
    Column("Held-out", lambda r: r.summary(r.held_out), tooltip=lambda r: r.tooltip()),
    Column("Baseline", lambda r: r.summary(r.baseline), tooltip=lambda r: r.info.metrics.get("baseline_kind")),
    Column("Type", lambda r: _type_name(r.info)),
    Column("Target", lambda r: r.info.target),
    Column("Horizon", lambda r: r.info.parameters.get("horizon"), numeric=True),
    Column("Interval", lambda r: r.info.interval),
    Column("Version", lambda r: r.info.version, numeric=True),
    Column("Symbols", lambda r: ", ".join(r.info.symbols)),
    Column("Trained on", lambda r: _trained_window(r.info)),
    Column("Created", lambda r: r.info.created_at, fmt_time),
]


METRIC_COLUMNS: list[Column[MetricRow]] = [
    Column("Metric", lambda m: m.metric),
    Column("Model (held-out)", lambda m: m.model, fmt_number(4), numeric=True),
    Column("Baseline", lambda m: m.baseline, fmt_number(4), numeric=True),
    Column("Model − baseline [95% interval]", lambda m: m.interval),
    Column(
        "Interval shows",
        lambda m: {"model": "model better", "baseline": "baseline better"}.get(m.better or "", "no difference shown"),
        color=lambda m: UP if m.better == "model" else DOWN if m.better == "baseline" else MUTED,
    ),
    Column("Direction", lambda m: "higher is better" if m.higher_is_better else "lower is better"),
]

IMPORTANCE_COLUMNS: list[Column[ImportanceRow]] = [
    Column("#", lambda i: i.rank, numeric=True),
    Column("Feature", lambda i: i.feature),
    Column("Importance", lambda i: i.importance, lambda v: f"{v:.3g}", numeric=True),
    Column("± std", lambda i: i.std, lambda v: "—" if v is None else f"{v:.2g}", numeric=True),
]


def _direction(p: PredictionRecord) -> str:
    if p.prediction_type == "price_direction":
        return "▲ up" if p.prediction_value > 0 else "▼ down"
    return f"σ {p.prediction_value:.4g}"


PREDICTION_COLUMNS: list[Column[PredictionRecord]] = [
    Column("Bar time", lambda p: p.timestamp, fmt_time),
    Column("Model", lambda p: p.model_id),
    Column("Target", lambda p: p.prediction_type),
    Column(
        "Prediction",
        _direction,
        color=lambda p: (UP if p.prediction_value > 0 else DOWN) if p.prediction_type == "price_direction" else None,
    ),
    Column("Confidence", lambda p: p.confidence, lambda v: "—" if v is None else f"{v:.1%}", numeric=True),
]


# -- loading (called in the background) -------------------------------------------------------------------
def load_model_rows(engine: Engine) -> list[ModelRow]:
    return [ModelRow.of(info) for info in list_models(engine)]


def load_importances(engine: Engine, model_id: str) -> list[ImportanceRow]:
    rows = feature_importance(engine, model_id)[:TOP_FEATURES]
    return [
        ImportanceRow(
            rank,
            str(r.get("feature")),
            float(r.get("importance") or 0.0),
            None if r.get("std") is None else float(r["std"]),
        )
        for rank, r in enumerate(rows, 1)
    ]


def load_predictions(engine: Engine, symbol: str) -> list[PredictionRecord]:
    return latest_predictions(engine, symbol, limit=PREDICTION_LIMIT)


def load_symbols(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [str(s) for s in conn.scalars(select(StockInfo.symbol).order_by(StockInfo.symbol))]
