"""The models report: held-out metrics next to the baseline (overall and per fold), the confusion
matrix, the calibration (reliability) table and feature importances of one registered model."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from workstation.errors import RefusedError
from workstation.ml.constants import HIGHER_IS_BETTER
from workstation.ml.registry import ModelInfo, get_model, list_models
from workstation.reports.document import (
    Block,
    Column,
    ColumnFormat,
    KeyValues,
    Paragraph,
    ReportDocument,
    Section,
    Table,
)

METRIC_LABELS: dict[str, tuple[str, ColumnFormat]] = {
    "accuracy": ("Accuracy", "percent"),
    "precision": ("Precision", "percent"),
    "recall": ("Recall", "percent"),
    "f1": ("F1", "number"),
    "roc_auc": ("ROC AUC", "number"),
    "log_loss": ("Log loss", "number"),
    "brier": ("Brier score", "number"),
    "mae": ("MAE", "number"),
    "rmse": ("RMSE", "number"),
    "r2": ("R²", "number"),
}
FOLD_METRICS = {"price_direction": ("accuracy", "roc_auc", "log_loss", "brier"), "volatility": ("mae", "rmse", "r2")}


def resolve_model(engine: Engine, model_id: str | None) -> ModelInfo:
    if model_id:
        return get_model(engine, model_id)
    models = list_models(engine, status="active") or list_models(engine)
    if not models:
        raise RefusedError("no registered model: train one with 'workstation models train …'")
    return max(models, key=lambda m: m.created_at)


def _metric_rows(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    held_out, baseline = metrics.get("held_out") or {}, metrics.get("baseline") or {}
    beats = metrics.get("beats_baseline") or {}
    rows = []
    for key, (label, _fmt) in METRIC_LABELS.items():
        if key not in held_out:
            continue
        verdict = beats.get(key)
        rows.append(
            {
                "metric": label,
                "model": held_out.get(key),
                "baseline": baseline.get(key),
                "better": "higher" if HIGHER_IS_BETTER.get(key) else "lower",
                "beats": "yes" if verdict else ("no" if verdict is False else ""),
            }
        )
    return rows


def _fold_table(metrics: dict[str, Any], target: str) -> Table:
    keys = FOLD_METRICS.get(target, ())
    columns = [
        Column("fold", "Fold", "int"),
        Column("train", "Trained on"),
        Column("test", "Tested on"),
        Column("test_rows", "Test rows", "int"),
    ]
    for key in keys:
        label, fmt = METRIC_LABELS[key]
        columns += [Column(f"m_{key}", label, fmt, 3), Column(f"b_{key}", f"{label} (baseline)", fmt, 3)]
    rows = []
    for fold in metrics.get("folds") or []:
        row: dict[str, Any] = {
            "fold": fold.get("fold"),
            "train": f"{str(fold.get('train_start', ''))[:10]} – {str(fold.get('train_end', ''))[:10]}",
            "test": f"{str(fold.get('test_start', ''))[:10]} – {str(fold.get('test_end', ''))[:10]}",
            "test_rows": fold.get("test_rows"),
        }
        for key in keys:
            row[f"m_{key}"] = (fold.get("metrics") or {}).get(key)
            row[f"b_{key}"] = (fold.get("baseline_metrics") or {}).get(key)
        rows.append(row)
    return Table("folds", "Per fold (walk-forward, purged)", columns, rows)


def _confusion(metrics: dict[str, Any]) -> Table | Paragraph:
    counts = metrics.get("confusion_matrix")
    if not counts:
        return Paragraph("The confusion matrix was not recorded for this model (trained before it was kept).")
    total = sum(counts.values()) or 1
    rows = [
        {"actual": "up", "predicted_up": counts["true_up"], "predicted_down": counts["false_down"]},
        {"actual": "down", "predicted_up": counts["false_up"], "predicted_down": counts["true_down"]},
    ]
    return Table(
        "confusion",
        "Confusion matrix (pooled held-out rows, up when probability ≥ 0.5)",
        [Column("actual", "Actual"), Column("predicted_up", "Predicted up", "int"),
         Column("predicted_down", "Predicted down", "int")],
        rows,
        note=f"{total:,} held-out rows.",
    )  # fmt: skip


def _reliability(metrics: dict[str, Any], target: str) -> Table:
    rows = list(metrics.get("reliability") or [])
    if target == "price_direction":
        columns = [Column("bin_lower", "From", "percent", 0), Column("bin_upper", "To", "percent", 0),
                   Column("count", "Rows", "int"), Column("mean_predicted", "Mean predicted", "percent", 1),
                   Column("observed_frequency", "Observed up", "percent", 1)]  # fmt: skip
        title = "Calibration: predicted probability against how often the price really went up"
    else:
        keys = list(rows[0]) if rows else []
        columns = [Column(k, k.replace("_", " ").capitalize(), "number", 4) for k in keys]
        title = "Confidence of volatility forecasts by forecast size"
    return Table("reliability", title, columns, rows)


def _importance(metrics: dict[str, Any]) -> Table:
    rows = sorted(metrics.get("feature_importance") or [], key=lambda r: -(r.get("importance") or 0.0))[:30]
    return Table(
        "importance",
        "Feature importances (permutation, on the last held-out fold; top 30)",
        [Column("feature", "Feature"), Column("importance", "Importance", "number", 4),
         Column("std", "Std", "number", 4)],
        rows,
    )  # fmt: skip


def build_models_report(engine: Engine, model_id: str | None = None, *, timezone: str = "UTC") -> ReportDocument:
    info = resolve_model(engine, model_id)
    metrics, parameters = info.metrics or {}, info.parameters or {}
    window = parameters.get("training_window") or {}
    calibration = parameters.get("calibration") or {}
    summary: list[tuple[str, Any, ColumnFormat]] = [
        ("Model", info.model_id, "text"),
        ("Type", info.model_type, "text"),
        ("Target", f"{info.target} over {parameters.get('horizon', 1)} bar(s)", "text"),
        ("Interval", parameters.get("interval"), "text"),
        ("Status", info.status, "text"),
        ("Symbols", ", ".join(parameters.get("symbols") or []), "text"),
        ("Training data", f"{str(window.get('start', ''))[:10]} – {str(window.get('end', ''))[:10]}", "text"),
        ("Rows", parameters.get("rows"), "int"),
        ("Features", len(parameters.get("features") or []), "int"),
        ("Validation", (parameters.get("validation") or {}).get("scheme"), "text"),
        ("Calibration", calibration.get("method", "none"), "text"),
        ("Baseline", metrics.get("baseline_kind"), "text"),
    ]
    target = info.target
    blocks_metrics: list[Block] = [
        Paragraph("Every figure is from held-out walk-forward folds, next to the baseline scored on the same rows."),
        Table(
            "held_out",
            "Held-out metrics against the baseline",
            [
                Column("metric", "Metric"),
                Column("model", "Model", "number", 4),
                Column("baseline", "Baseline", "number", 4),
                Column("better", "Better is"),
                Column("beats", "Beats baseline"),
            ],
            _metric_rows(metrics),
        ),
        _fold_table(metrics, target),
    ]
    sections = [
        Section("Model", [KeyValues("Summary", summary)]),
        Section("Metrics", blocks_metrics),
    ]
    if target == "price_direction":
        sections.append(Section("Confusion matrix", [_confusion(metrics)]))
    sections += [
        Section("Calibration", [_reliability(metrics, target)]),
        Section("Feature importances", [_importance(metrics)]),
    ]
    return ReportDocument(
        kind="models",
        title=f"Model report: {info.model_id}",
        subtitle=f"{info.name} · version {info.version} · registered {info.created_at:%Y-%m-%d %H:%M} UTC",
        generated_at=datetime.now(UTC),
        timezone=timezone,
        sections=sections,
    )
