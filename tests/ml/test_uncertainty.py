"""The block bootstrap: point figures equal scikit-learn's, AUC pooled within folds, intervals and verdicts."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, brier_score_loss, f1_score, log_loss, mean_absolute_error, roc_auc_score

from workstation.ml.uncertainty import BEATS, NO_SKILL, WORSE, compare, pooled_auc, time_blocks, verdict


def _held_out(n_times: int = 900, symbols: int = 3, skill: float = 0.0, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    times = np.repeat(np.arange(n_times).astype("datetime64[D]").astype("datetime64[ns]"), symbols)
    folds = 1 + np.arange(len(times)) * 3 // len(times)
    y = (rng.random(len(times)) < 0.5).astype(int)
    p = np.clip(0.5 + skill * (y - 0.5) + rng.normal(0, 0.05, len(times)), 0.01, 0.99)
    base = np.select([folds == 1, folds == 2], [0.51, 0.48], 0.53)  # the training folds' base rates
    return {"times": times, "folds": folds, "y": y, "p": p, "base": base}


def test_points_equal_sklearn_and_the_constant_baseline_has_auc_one_half() -> None:
    d = _held_out(skill=0.1)
    result = compare(True, d["y"], d["p"], d["base"], d["times"], d["folds"], 1)["intervals"]
    assert result["log_loss"]["difference"] == pytest.approx(log_loss(d["y"], d["p"]) - log_loss(d["y"], d["base"]))
    assert result["brier"]["difference"] == pytest.approx(
        brier_score_loss(d["y"], d["p"]) - brier_score_loss(d["y"], d["base"])
    )
    assert result["accuracy"]["difference"] == pytest.approx(
        accuracy_score(d["y"], d["p"] >= 0.5) - accuracy_score(d["y"], d["base"] >= 0.5)
    )
    assert result["f1"]["difference"] == pytest.approx(
        f1_score(d["y"], d["p"] >= 0.5) - f1_score(d["y"], d["base"] >= 0.5)
    )
    # A baseline constant within each fold ranks nothing: 0.5 pooled, although pooling the scores would not say so.
    assert pooled_auc(d["y"], d["base"], d["folds"]) == 0.5
    assert roc_auc_score(d["y"], d["base"]) != 0.5
    # Pooled AUC = pairs within folds: the pair-weighted mean of the per-fold AUCs.
    per_fold = [(d["folds"] == k) for k in (1, 2, 3)]
    weights = [d["y"][m].sum() * (1 - d["y"][m]).sum() for m in per_fold]
    expected = np.average([roc_auc_score(d["y"][m], d["p"][m]) for m in per_fold], weights=weights)
    assert pooled_auc(d["y"], d["p"], d["folds"]) == pytest.approx(expected)
    assert result["roc_auc"]["difference"] == pytest.approx(expected - 0.5)
    for entry in result.values():
        assert entry["low"] <= entry["difference"] <= entry["high"]


def test_verdicts_follow_the_primary_interval() -> None:
    skilled = _held_out(skill=0.2)
    result = compare(True, skilled["y"], skilled["p"], skilled["base"], skilled["times"], skilled["folds"], 1)
    assert verdict(result["intervals"], "price_direction") == BEATS
    noise = _held_out(skill=0.0, seed=3)
    result = compare(True, noise["y"], noise["p"], np.full(len(noise["y"]), 0.5), noise["times"], noise["folds"], 1)
    assert verdict(result["intervals"], "price_direction") in (NO_SKILL, WORSE)
    inverted = 1 - skilled["p"]
    result = compare(True, skilled["y"], inverted, skilled["base"], skilled["times"], skilled["folds"], 1)
    assert verdict(result["intervals"], "price_direction") == WORSE


def test_regression_intervals_and_blocks_never_cross_folds() -> None:
    d = _held_out()
    rng = np.random.default_rng(5)
    y = np.abs(rng.normal(0.01, 0.003, len(d["y"])))
    forecast, persistence = y + rng.normal(0, 0.001, len(y)), y + rng.normal(0, 0.004, len(y))
    result = compare(False, y, forecast, persistence, d["times"], d["folds"], 5)
    mae = result["intervals"]["mae"]
    assert mae["difference"] == pytest.approx(mean_absolute_error(y, forecast) - mean_absolute_error(y, persistence))
    assert mae["better"] == "model" and verdict(result["intervals"], "volatility") == BEATS
    blocks = time_blocks(d["times"], d["folds"], 5)
    assert blocks.length >= 10  # at least two label windows of 5 bars
    for block in range(blocks.count):
        assert len(set(d["folds"][blocks.of_row == block])) == 1
