"""Hyperparameter search: a grid of candidates, each scored walk-forward, every fit one task.

Honesty about selection: a candidate chosen on some held-out rows looks better on them than it is. So the
candidates are scored on every walk-forward fold **but the last**, the best (lowest mean log loss for a
direction model, MAE for a volatility model, over those folds) is chosen, and the model's verdict against
its baseline is then judged on the last fold alone — rows the choice never saw. The pooled metrics over all
folds are still reported, marked as including the selection folds.

Every (candidate, fold) fit is a :class:`~workstation.ml.tasks.FitTask`, so the search runs on whatever
executor the training runs on: the local process pool or a Dask cluster's workers. The chosen candidate's
fits on the selection folds are the very fits the normal run would make (same rows, parameters and seed),
so they are reused, not repeated.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from workstation.db.types import json_safe
from workstation.errors import ConfigurationError
from workstation.ml.labels import is_classification
from workstation.ml.metrics import classification_metrics, regression_metrics
from workstation.ml.tasks import FitOutcome
from workstation.ml.uncertainty import PRIMARY_METRIC

MAX_CANDIDATES = 64
MIN_FOLDS = 3  # at least two folds to choose on and one the choice never saw


def parse_search(items: Sequence[str]) -> dict[str, tuple[Any, ...]]:
    """``["max_depth=3,6", "learning_rate=0.05,0.1"]`` → a grid; values read as JSON where they parse."""
    grid: dict[str, tuple[Any, ...]] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        values = [v.strip() for v in raw.split(",") if v.strip()]
        if not sep or not key.strip() or not values:
            raise ConfigurationError(f"--search needs NAME=VALUE,VALUE…, got {item!r}")
        grid[key.strip()] = tuple(_value(v) for v in values)
    return grid


def _value(raw: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def candidate_params(base: Mapping[str, Any], grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of the grid over ``base``, in the grid's order (the first wins a tie)."""
    names = list(grid)
    combos = list(itertools.product(*(grid[name] for name in names)))
    if len(combos) > MAX_CANDIDATES:
        raise ConfigurationError(
            f"the search grid has {len(combos)} candidates; at most {MAX_CANDIDATES} (narrow a --search list)"
        )
    return [dict(base) | dict(zip(names, combo, strict=True)) for combo in combos]


def check_folds(n_folds: int) -> None:
    if n_folds < MIN_FOLDS:
        raise ConfigurationError(
            f"a search needs at least {MIN_FOLDS} folds (it chooses on all but the last; the last judges the choice)"
        )


def candidate_key(index: int, fold: int) -> str:
    return f"candidate {index} fold {fold}"


@dataclass(frozen=True)
class SearchResult:
    chosen: int  # index into candidates
    candidates: list[dict[str, Any]]
    scores: list[float]  # each candidate's mean selection-fold score (lower is better)
    metric: str
    selection_folds: list[int]
    judged_fold: int

    def record(self) -> dict[str, Any]:
        """What the model's parameters keep of the search (and the CLI prints)."""
        return {
            "metric": self.metric,
            "selection_folds": self.selection_folds,
            "judged_on_fold": self.judged_fold,
            "chosen": self.chosen,
            "candidates": [
                {"params": json_safe(c), "score": s} for c, s in zip(self.candidates, self.scores, strict=True)
            ],
            "note": (
                f"chosen by mean {self.metric} on folds {_span(self.selection_folds)}; the verdict is judged on "
                f"fold {self.judged_fold}, which the choice never saw"
            ),
        }


def choose(
    target: str,
    y: np.ndarray,
    candidates: list[dict[str, Any]],
    outcomes: Mapping[str, FitOutcome],
    fold_rows: Mapping[int, np.ndarray],
    judged_fold: int,
) -> SearchResult:
    """The candidate with the lowest mean primary metric over the selection folds (``fold_rows``)."""
    metric = PRIMARY_METRIC[target]
    scores: list[float] = []
    for index in range(len(candidates)):
        per_fold = []
        for fold, rows in fold_rows.items():
            predicted = outcomes[candidate_key(index, fold)].scores
            assert predicted is not None
            measured = (
                classification_metrics(y[rows], predicted)
                if is_classification(target)
                else regression_metrics(y[rows], predicted)
            )[metric]
            per_fold.append(np.inf if measured is None else float(measured))
        scores.append(float(np.mean(per_fold)))
    chosen = int(np.argmin(scores))  # the first of equals: the grid's order decides a tie
    return SearchResult(chosen, candidates, scores, metric, sorted(fold_rows), judged_fold)


def _span(folds: list[int]) -> str:
    return f"{folds[0]}–{folds[-1]}" if len(folds) > 1 else str(folds[0])
