"""The models report: the verdict, held-out metrics next to the baseline with the 95 % interval of their
difference (overall) and per fold, the confusion matrix, the calibration (reliability) table and feature
importances of one registered model."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from workstation.errors import RefusedError
from workstation.ml.constants import HIGHER_IS_BETTER
from workstation.ml.registry import ModelInfo, get_model, list_models
from workstation.ml.uncertainty import PRIMARY_METRIC, VERDICT_WORDS
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
    intervals = metrics.get("intervals") or {}
    rows = []
    for key, (label, _fmt) in METRIC_LABELS.items():
        if key not in held_out:
            continue
        entry = intervals.get(key) or {}
        better = entry.get("better")
        rows.append(
            {
                "metric": label,
                "model": held_out.get(key),
                "baseline": baseline.get(key),
                "difference": entry.get("difference"),
                "low": entry.get("low"),
                "high": entry.get("high"),
                "better": "higher" if HIGHER_IS_BETTER.get(key) else "lower",
                "shows": "model better" if better == "model" else "baseline better" if better == "baseline"
                else ("no difference shown" if entry else "not recorded"),
            }
        )  # fmt: skip
    return rows


def _verdict_text(metrics: dict[str, Any], target: str) -> str:
    verdict = metrics.get("verdict")
    if not verdict:
        return "No verdict was recorded for this model (trained before verdicts were kept)."
    primary = PRIMARY_METRIC.get(target, "")
    entry = (metrics.get("intervals") or {}).get(primary) or {}
    boot = metrics.get("bootstrap") or {}
    interval = (
        f"{entry['difference']:+.4g} (95 % interval {entry['low']:+.4g} to {entry['high']:+.4g})"
        if entry.get("low") is not None
        else "not available"
    )
    return (
        f"Verdict: {VERDICT_WORDS.get(verdict, verdict)} ({verdict}). {METRIC_LABELS[primary][0]} model − baseline: "
        f"{interval}; a model beats its baseline only when this interval excludes zero in its favour. Intervals "
        f"from a block bootstrap over bar times ({boot.get('resamples', '?')} resamples of "
        f"{boot.get('blocks', '?')} blocks of {boot.get('block_length', '?')} bars, within folds)."
    )


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


def importance_decimals(values: list[float]) -> int:
    """Decimals that show three significant digits of the largest importance: permutation importances are
    loss increases, often 1e-4 or smaller, which four fixed decimals printed as 0.0000."""
    largest = max((abs(v) for v in values if v), default=0.0)
    if largest == 0.0:
        return 4
    return min(max(2 - math.floor(math.log10(largest)), 4), 12)


def _importance(metrics: dict[str, Any]) -> Table:
    every = metrics.get("feature_importance") or []
    # The share of the total loss increase is what reads at a glance; features that hurt (negative) count 0.
    total = sum(max(float(r.get("importance") or 0.0), 0.0) for r in every)
    rows = [
        {**r, "share": max(float(r.get("importance") or 0.0), 0.0) / total if total > 0 else None}
        for r in sorted(every, key=lambda r: -(r.get("importance") or 0.0))[:30]
    ]
    decimals = importance_decimals([float(r.get("importance") or 0.0) for r in rows])
    return Table(
        "importance",
        "Feature importances (permutation, on the last held-out fold; top 30)",
        [Column("feature", "Feature"), Column("importance", "Importance (loss increase)", "number", decimals),
         Column("std", "Std", "number", decimals), Column("share", "Share of the total", "percent", 1)],
        rows,
        note=f"{len(every)} features in all; the share is of the sum of the positive importances.",
    )  # fmt: skip


def build_models_report(engine: Engine, model_id: str | None = None, *, timezone: str = "UTC") -> ReportDocument:
    info = resolve_model(engine, model_id)
    metrics, parameters = info.metrics or {}, info.parameters or {}
    target = info.target
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
        ("Verdict", VERDICT_WORDS.get(str(metrics.get("verdict")), "not recorded"), "text"),
        ("Inputs", "with price levels" if parameters.get("include_price_levels") else "price-scaled columns left out",
         "text"),
    ]  # fmt: skip
    blocks_metrics: list[Block] = [
        Paragraph("Every figure is from held-out walk-forward folds, next to the baseline scored on the same rows."),
        Paragraph(_verdict_text(metrics, target)),
        Table(
            "held_out",
            "Held-out metrics against the baseline",
            [
                Column("metric", "Metric"),
                Column("model", "Model", "number", 4),
                Column("baseline", "Baseline", "number", 4),
                Column("difference", "Model − baseline", "number", 4),
                Column("low", "95 % from", "number", 4),
                Column("high", "95 % to", "number", 4),
                Column("better", "Better is"),
                Column("shows", "Interval shows"),
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
