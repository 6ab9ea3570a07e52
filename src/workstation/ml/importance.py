"""Permutation feature importance on held-out rows: how much worse the model scores when one
feature's values are shuffled among the rows (works for any model, including the LSTM)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from workstation.jobs import CancelToken

MAX_ROWS = 2000
REPEATS = 2


def permutation_importance(
    predict: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    y: np.ndarray,
    feature_names: Sequence[str],
    *,
    classification: bool,
    cancel: CancelToken,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """[{"feature", "importance", "std"}] sorted by importance (loss increase; larger = more useful)."""
    rng = np.random.default_rng(seed)
    if len(y) > MAX_ROWS:  # the latest rows of the fold: the most relevant, and bounded cost
        x, y = x[-MAX_ROWS:], y[-MAX_ROWS:]

    def loss(values: np.ndarray) -> float:
        # fsum: exactly rounded whatever the memory layout, so every executor gets the same figures
        # (numpy's SIMD sums depend on the array's alignment).
        values = np.asarray(values, dtype=np.float64)
        if classification:
            p = np.clip(values, 1e-15, 1 - 1e-15)
            return -math.fsum(np.where(y == 1, np.log(p), np.log1p(-p))) / len(y)
        return math.fsum(np.abs(y - values)) / len(y)

    reference = loss(predict(x))
    results: list[dict[str, Any]] = []
    for j, name in enumerate(feature_names):
        cancel.raise_if_cancelled()
        increases = []
        for _ in range(REPEATS):
            shuffled = x.copy()
            order = rng.permutation(len(y))
            shuffled[..., j] = x[order][..., j]
            increases.append(loss(predict(shuffled)) - reference)
        results.append({"feature": name, "importance": float(np.mean(increases)), "std": float(np.std(increases))})
    return sorted(results, key=lambda r: r["importance"], reverse=True)
