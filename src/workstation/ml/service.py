"""Train-and-register, the one call the CLI and the GUI's model panel make to train a model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from workstation.jobs import CancelToken, ProgressCallback, no_progress
from workstation.ml.metrics import beats_baseline
from workstation.ml.registry import ModelInfo, register_model
from workstation.ml.training import TrainingResult, TrainingSpec, train


@dataclass(frozen=True)
class TrainingOutcome:
    model: ModelInfo
    result: TrainingResult

    def summary(self) -> dict[str, Any]:
        """{"model_id", "metrics", "baseline_metrics", "folds", …}: all figures are held-out."""
        return {
            "model_id": self.model.model_id,
            "metrics": self.result.metrics,
            "baseline_metrics": self.result.baseline_metrics,
            "beats_baseline": beats_baseline(self.result.metrics, self.result.baseline_metrics),
            "folds": self.result.folds,
            "reliability": self.result.reliability,
        }


def train_and_register(
    engine: Engine,
    spec: TrainingSpec,
    *,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
    status: str = "active",
) -> TrainingOutcome:
    """Walk-forward evaluate, fit the final model, save its artifact and add it to the registry.

    Nothing is written when the job is cancelled (JobCancelledError) or fails."""
    result = train(engine, spec, progress=progress, cancel=cancel)
    metrics = {
        "evaluated_on": "pooled held-out walk-forward folds",
        "held_out": result.metrics,
        "baseline": result.baseline_metrics,
        "baseline_kind": "majority class" if spec.target == "price_direction" else "persistence",
        "beats_baseline": beats_baseline(result.metrics, result.baseline_metrics),
        "folds": result.folds,
        "reliability": result.reliability,
        "feature_importance": result.feature_importance,
        "confusion_matrix": result.confusion,
    }
    info = register_model(
        engine, result.model, parameters=result.parameters, metrics=metrics, name=spec.name, status=status
    )
    return TrainingOutcome(info, result)
