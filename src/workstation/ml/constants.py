"""Names shared by the ML core and the CLI, importable without pulling in pandas or scikit-learn."""

from __future__ import annotations

MODEL_TYPES = ("random_forest", "gradient_boosting", "logistic", "lstm")
TARGETS = ("price_direction", "volatility")
CLASSIFICATION_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss", "brier")
REGRESSION_METRICS = ("mae", "rmse", "r2")
# For the comparison column: True when a larger value is better.
HIGHER_IS_BETTER = {
    "accuracy": True, "precision": True, "recall": True, "f1": True, "roc_auc": True,
    "log_loss": False, "brier": False, "mae": False, "rmse": False, "r2": True,
}  # fmt: skip
# What --model-type accepts: "auto" picks gradient boosting on large data, a random forest on small.
MODEL_CHOICES = ("auto", *MODEL_TYPES)
