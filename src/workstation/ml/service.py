"""Train-and-register, the one call the CLI and the GUI's model panel make to train a model.

A model is registered ``active`` only when its verdict is ``beats_baseline`` (the 95 % interval of the
primary metric's difference to the baseline excludes zero in its favour). Any other model is registered
``deprecated`` — kept with all its figures, not used for predictions — and activating it is a separate,
deliberate step (:func:`activation_warning` says what the user is accepting).
"""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from workstation.jobs import CancelToken, ProgressCallback, no_progress
from workstation.ml.executors import Publish
from workstation.ml.metrics import beats_baseline
from workstation.ml.registry import ModelInfo, register_model
from workstation.ml.training import TrainingResult, TrainingSpec, train
from workstation.ml.uncertainty import BEATS, PRIMARY_METRIC, VERDICT_WORDS


@dataclass(frozen=True)
class TrainingOutcome:
    model: ModelInfo
    result: TrainingResult

    def summary(self) -> dict[str, Any]:
        """{"model_id", "status", "verdict", "metrics", "baseline_metrics", "intervals", "folds", …}: all
        figures are held-out."""
        return {
            "model_id": self.model.model_id,
            "model_type": self.result.model_type,
            "status": self.model.status,
            "verdict": self.result.verdict,
            "primary_metric": PRIMARY_METRIC[self.model.target],
            "metrics": self.result.metrics,
            "baseline_metrics": self.result.baseline_metrics,
            "intervals": self.result.comparison.get("intervals", {}),
            "beats_baseline": beats_baseline(self.result.metrics, self.result.baseline_metrics),
            "folds": self.result.folds,
            "reliability": self.result.reliability,
            "search": self.result.parameters.get("search"),
        }


def initial_status(verdict: str) -> str:
    return "active" if verdict == BEATS else "deprecated"


def activation_warning(info: ModelInfo) -> str | None:
    """Why activating this model deserves a second thought, or None when it showed skill."""
    verdict = str(info.metrics.get("verdict") or "")
    if verdict == BEATS:
        return None
    metric = PRIMARY_METRIC.get(info.target, "")
    interval = (info.metrics.get("intervals") or {}).get(metric) or {}
    detail = ""
    if interval.get("low") is not None:
        detail = (
            f" ({metric} model − baseline {interval['difference']:+.4g}, "
            f"95% interval {interval['low']:+.4g} to {interval['high']:+.4g})"
        )
    words = VERDICT_WORDS.get(verdict, "no verdict recorded")
    return f"model {info.model_id}: {words} on held-out bars{detail}; its predictions may be noise"


def train_and_register(
    engine: Engine,
    spec: TrainingSpec,
    *,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
    status: str | None = None,
    executor: Executor | None = None,
    publish: Publish | None = None,
) -> TrainingOutcome:
    """Walk-forward evaluate, fit the final model, save its artifact and add it to the registry, active
    only when it beats its baseline (``status`` forces one).

    Nothing is written when the job is cancelled (JobCancelledError) or fails."""
    result = train(engine, spec, progress=progress, cancel=cancel, executor=executor, publish=publish)
    metrics = {
        "evaluated_on": "pooled held-out walk-forward folds",
        # After a search, the interval and verdict come from the last fold only (the choice never saw it).
        "verdict_on": result.parameters["search"]["note"] if "search" in result.parameters else "all folds",
        "held_out": result.metrics,
        "baseline": result.baseline_metrics,
        "baseline_kind": "majority class" if spec.target == "price_direction" else "persistence",
        "verdict": result.verdict,
        "primary_metric": PRIMARY_METRIC[spec.target],
        "intervals": result.comparison.get("intervals", {}),
        "bootstrap": {k: v for k, v in result.comparison.items() if k != "intervals"},
        "beats_baseline": beats_baseline(result.metrics, result.baseline_metrics),
        "folds": result.folds,
        "reliability": result.reliability,
        "feature_importance": result.feature_importance,
        "confusion_matrix": result.confusion,
    }
    info = register_model(
        engine, result.model, parameters=result.parameters, metrics=metrics, name=spec.name,
        status=status or initial_status(result.verdict),
    )  # fmt: skip
    return TrainingOutcome(info, result)
