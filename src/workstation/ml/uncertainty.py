"""How sure we are that a model beats its baseline: a block bootstrap over time on the held-out rows.

The held-out rows of all walk-forward folds are cut into blocks of consecutive bar times (all symbols
of a bar stay together, and a block never crosses a fold boundary), because neighbouring bars are not
independent: labels over ``horizon`` bars overlap and volatility clusters. Each of ``RESAMPLES``
resamples draws as many blocks as there are, with replacement, and recomputes every metric for the
model and for the baseline on the same drawn rows. The 95 % interval of (model − baseline) is the
2.5th–97.5th percentile of those differences.

Every metric is computed from per-block sums, so a resample costs a matrix product, not a pass over
the rows. ROC AUC is pooled *within folds*: a pair of rows counts only when both were scored by the
same fold's model (a baseline that is constant within each fold then scores exactly 0.5, as it must);
its per-block pair counts form a blocks × blocks matrix.

The verdict reads the interval of the primary metric (log loss for direction, MAE for volatility):
``beats_baseline`` only when it excludes zero in the model's favour, ``worse_than_baseline`` when it
excludes zero the other way, else ``no_demonstrated_skill``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from workstation.ml.constants import HIGHER_IS_BETTER

RESAMPLES = 1000
CONFIDENCE = 0.95
SEED = 20240607
MAX_BLOCKS = 250  # more blocks add little precision; the AUC pair matrix grows with their square
PRIMARY_METRIC = {"price_direction": "log_loss", "volatility": "mae"}
BEATS, NO_SKILL, WORSE = "beats_baseline", "no_demonstrated_skill", "worse_than_baseline"
VERDICT_WORDS = {
    BEATS: "beats the baseline",
    NO_SKILL: "no demonstrated skill over the baseline",
    WORSE: "worse than the baseline",
}
_EPS = 1e-15


@dataclass(frozen=True)
class TimeBlocks:
    """Which block each held-out row belongs to; blocks are numbered in time order."""

    of_row: np.ndarray
    fold_of_block: np.ndarray
    length: int  # bar times per block

    @property
    def count(self) -> int:
        return len(self.fold_of_block)


def block_length(n_times: int, horizon: int) -> int:
    """n^(1/3) bar times (the usual rate for a block bootstrap), at least two label windows long, and
    long enough that there are at most MAX_BLOCKS blocks."""
    return int(max(2 * horizon, math.ceil(n_times ** (1 / 3)), math.ceil(n_times / MAX_BLOCKS), 1))


def time_blocks(timestamps: np.ndarray, folds: np.ndarray, horizon: int) -> TimeBlocks:
    """Blocks of ``block_length`` consecutive distinct bar times within each fold."""
    ts = np.asarray(timestamps, dtype="datetime64[ns]")
    unique, time_index = np.unique(ts, return_inverse=True)
    length = block_length(len(unique), horizon)
    fold_of_time = np.zeros(len(unique), dtype=np.int64)
    fold_of_time[time_index] = folds
    # Restart the block count at every fold boundary so that no block spans two folds.
    starts = np.r_[True, fold_of_time[1:] != fold_of_time[:-1]]
    first_of_run = np.maximum.accumulate(np.where(starts, np.arange(len(unique)), 0))
    within = (np.arange(len(unique)) - first_of_run) // length
    new_block = starts | np.r_[True, within[1:] != within[:-1]]
    block_of_time = np.cumsum(new_block) - 1
    fold_of_block = fold_of_time[new_block]
    return TimeBlocks(block_of_time[time_index], fold_of_block, length)


def _block_sums(blocks: TimeBlocks, values: np.ndarray) -> np.ndarray:
    return np.bincount(blocks.of_row, weights=values, minlength=blocks.count)


def _auc_pairs(blocks: TimeBlocks, y: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(concordant, total) pair counts between positives of block k and negatives of block l, same fold."""
    k = blocks.count
    concordant, total = np.zeros((k, k)), np.zeros((k, k))
    positive = y == 1
    pos_block = blocks.of_row[positive]
    pos_score = score[positive]
    pos_count = np.bincount(pos_block, minlength=k).astype(float)
    neg_count = np.bincount(blocks.of_row[~positive], minlength=k).astype(float)
    neg_block, neg_score = blocks.of_row[~positive], score[~positive]
    for fold in np.unique(blocks.fold_of_block):
        members = np.flatnonzero(blocks.fold_of_block == fold)
        in_fold = np.isin(pos_block, members)
        fold_pos_block, fold_pos_score = pos_block[in_fold], pos_score[in_fold]
        for block in members:
            negatives = np.sort(neg_score[neg_block == block])
            if not len(negatives):
                continue
            below = np.searchsorted(negatives, fold_pos_score, side="left")
            not_above = np.searchsorted(negatives, fold_pos_score, side="right")
            wins = (below + not_above) / 2.0  # a tie is half a win
            concordant[:, block] += np.bincount(fold_pos_block, weights=wins, minlength=k)
        total[np.ix_(members, members)] = np.outer(pos_count[members], neg_count[members])
    return concordant, total


def _classification_sums(blocks: TimeBlocks, y: np.ndarray, scores: np.ndarray) -> dict[str, Any]:
    p = np.clip(scores.astype(float), 0.0, 1.0)
    predicted_up = p >= 0.5
    actual_up = y == 1
    likelihood = np.where(actual_up, p, 1.0 - p)
    sums: dict[str, Any] = {
        "n": _block_sums(blocks, np.ones(len(y))),
        "correct": _block_sums(blocks, (predicted_up == actual_up).astype(float)),
        "log_loss": _block_sums(blocks, -np.log(np.clip(likelihood, _EPS, 1.0))),
        "brier": _block_sums(blocks, (p - y) ** 2),
        "tp": _block_sums(blocks, (predicted_up & actual_up).astype(float)),
        "pp": _block_sums(blocks, predicted_up.astype(float)),
        "ap": _block_sums(blocks, actual_up.astype(float)),
    }
    sums["auc"] = _auc_pairs(blocks, y, p)
    return sums


def _classification_values(s: dict[str, Any], w: np.ndarray) -> dict[str, np.ndarray]:
    """Metrics for each row of block weights ``w`` (resamples × blocks)."""
    n, tp, pp, ap = (w @ s[key] for key in ("n", "tp", "pp", "ap"))
    concordant, total = s["auc"]
    with np.errstate(divide="ignore", invalid="ignore"):
        pairs = np.einsum("rk,kl,rl->r", w, total, w)
        return {
            "accuracy": (w @ s["correct"]) / n,
            "precision": np.where(pp > 0, tp / pp, 0.0),
            "recall": np.where(ap > 0, tp / ap, 0.0),
            "f1": np.where(pp + ap > 0, 2 * tp / (pp + ap), 0.0),
            "roc_auc": np.where(pairs > 0, np.einsum("rk,kl,rl->r", w, concordant, w) / pairs, np.nan),
            "log_loss": (w @ s["log_loss"]) / n,
            "brier": (w @ s["brier"]) / n,
        }


def _regression_sums(blocks: TimeBlocks, y: np.ndarray, forecast: np.ndarray) -> dict[str, Any]:
    error = forecast - y
    return {
        "n": _block_sums(blocks, np.ones(len(y))),
        "abs": _block_sums(blocks, np.abs(error)),
        "sq": _block_sums(blocks, error**2),
        "y": _block_sums(blocks, y),
        "y2": _block_sums(blocks, y**2),
    }


def _regression_values(s: dict[str, Any], w: np.ndarray) -> dict[str, np.ndarray]:
    n, sse = w @ s["n"], w @ s["sq"]
    total = w @ s["y2"] - (w @ s["y"]) ** 2 / n
    with np.errstate(divide="ignore", invalid="ignore"):
        return {"mae": (w @ s["abs"]) / n, "rmse": np.sqrt(sse / n), "r2": np.where(total > 0, 1 - sse / total, np.nan)}


def pooled_auc(y: np.ndarray, score: np.ndarray, folds: np.ndarray) -> float | None:
    """ROC AUC over pairs scored by the same fold's model (None without a positive and a negative)."""
    blocks = TimeBlocks(np.asarray(folds, dtype=np.int64) - int(np.min(folds)), np.unique(folds), 1)
    concordant, total = _auc_pairs(blocks, np.asarray(y), np.asarray(score, dtype=float))
    return float(concordant.sum() / total.sum()) if total.sum() > 0 else None


def compare(
    classification: bool,
    y: np.ndarray,
    model: np.ndarray,
    baseline: np.ndarray,
    timestamps: np.ndarray,
    folds: np.ndarray,
    horizon: int,
    *,
    resamples: int = RESAMPLES,
) -> dict[str, Any]:
    """{"intervals": {metric: {"difference": model − baseline, "low", "high" (the 95 % interval),
    "better": "model", "baseline" or None when the interval straddles zero}}, "confidence",
    "resamples", "blocks", "block_length"}."""
    blocks = time_blocks(timestamps, folds, horizon)
    y = np.asarray(y, dtype=float)
    if classification:
        sums_m, sums_b = _classification_sums(blocks, y, model), _classification_sums(blocks, y, baseline)
        values = _classification_values
    else:
        sums_m, sums_b = _regression_sums(blocks, y, model), _regression_sums(blocks, y, baseline)
        values = _regression_values
    rng = np.random.default_rng(SEED)
    draws = rng.integers(0, blocks.count, size=(resamples, blocks.count))
    weights = np.zeros((resamples, blocks.count))
    np.add.at(weights, (np.repeat(np.arange(resamples), blocks.count), draws.ravel()), 1.0)
    ones = np.ones((1, blocks.count))
    point_m, point_b = values(sums_m, ones), values(sums_b, ones)
    boot_m, boot_b = values(sums_m, weights), values(sums_b, weights)
    tail = (1 - CONFIDENCE) / 2 * 100
    out: dict[str, dict[str, Any]] = {}
    for name in point_m:
        difference = float(point_m[name][0] - point_b[name][0])
        spread = boot_m[name] - boot_b[name]
        spread = spread[np.isfinite(spread)]
        if not math.isfinite(difference) or len(spread) < resamples // 2:
            out[name] = {"difference": None, "low": None, "high": None, "better": None}
            continue
        low, high = (float(v) for v in np.percentile(spread, [tail, 100 - tail]))
        higher = HIGHER_IS_BETTER[name]
        model_side = low > 0 if higher else high < 0
        baseline_side = high < 0 if higher else low > 0
        better = "model" if model_side else "baseline" if baseline_side else None
        out[name] = {"difference": difference, "low": low, "high": high, "better": better}
    return {
        "intervals": out, "confidence": CONFIDENCE, "resamples": resamples, "blocks": blocks.count,
        "block_length": blocks.length, "method": "block bootstrap over bar times, within folds",
    }  # fmt: skip


def verdict(intervals: dict[str, dict[str, Any]], target: str) -> str:
    """beats_baseline / no_demonstrated_skill / worse_than_baseline, from the primary metric's interval."""
    better = (intervals.get(PRIMARY_METRIC[target]) or {}).get("better")
    return BEATS if better == "model" else WORSE if better == "baseline" else NO_SKILL
