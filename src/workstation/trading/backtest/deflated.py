"""The deflated Sharpe ratio (Bailey & López de Prado, 2014): how likely the best of N trials is real.

Trying N parameter sets and keeping the best inflates its Sharpe ratio. The expected maximum Sharpe
ratio of N trials with no skill is

    SR0 = sqrt(V) · ((1 − γ) · Φ⁻¹(1 − 1/N) + γ · Φ⁻¹(1 − 1/(N·e)))

(V: variance of the trials' Sharpe ratios, γ: the Euler–Mascheroni constant), and the deflated
Sharpe ratio is the probabilistic Sharpe ratio of the best against that benchmark:

    DSR = Φ( (SR* − SR0) · sqrt(T − 1) / sqrt(1 − γ3·SR* + (γ4 − 1)/4 · SR*²) )

with SR* the best trial's Sharpe ratio, T its number of returns, γ3 their skewness and γ4 their
(non-excess) kurtosis. All Sharpe ratios here are per bar (not annualised), as the formula needs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

EULER_GAMMA = 0.5772156649015329
_NORMAL = NormalDist()


@dataclass(frozen=True, slots=True)
class ReturnMoments:
    """What the deflated Sharpe ratio needs of one trial's per-bar returns."""

    sharpe: float | None  # per bar: mean / standard deviation (ddof=1)
    count: int
    skewness: float
    kurtosis: float  # non-excess (3 for a normal distribution)

    @classmethod
    def of(cls, returns: np.ndarray) -> ReturnMoments:
        returns = np.asarray(returns, dtype=np.float64)
        count = len(returns)
        std = float(np.std(returns, ddof=1)) if count > 1 else 0.0
        if count < 3 or std == 0.0:
            return cls(None, count, 0.0, 3.0)
        # Sample skewness G1 and kurtosis G2 + 3, bias-corrected (as pandas' skew() and kurt() + 3).
        n = float(count)
        centred = returns - np.mean(returns)
        m2, m3, m4 = (float(np.mean(centred**k)) for k in (2, 3, 4))
        skewness = math.sqrt(n * (n - 1)) / (n - 2) * m3 / m2**1.5
        excess = (n - 1) / ((n - 2) * (n - 3)) * ((n + 1) * m4 / m2**2 - 3 * (n - 1)) if count > 3 else 0.0
        return cls(float(np.mean(returns)) / std, count, skewness, excess + 3.0)


def expected_max_sharpe(trials: int, variance: float) -> float:
    """SR0: the Sharpe ratio the best of ``trials`` unskilled trials reaches on average."""
    if trials < 2 or variance <= 0:
        return 0.0
    return math.sqrt(variance) * (
        (1 - EULER_GAMMA) * _NORMAL.inv_cdf(1 - 1 / trials) + EULER_GAMMA * _NORMAL.inv_cdf(1 - 1 / (trials * math.e))
    )


def probabilistic_sharpe(sharpe: float, benchmark: float, count: int, skewness: float, kurt: float) -> float | None:
    """P(true Sharpe > benchmark) given the estimate's sampling error (non-normal returns)."""
    if count < 2:
        return None
    spread = 1 - skewness * sharpe + (kurt - 1) / 4 * sharpe**2
    if spread <= 0:
        return None
    return _NORMAL.cdf((sharpe - benchmark) * math.sqrt(count - 1) / math.sqrt(spread))


def deflated_sharpe(
    best: ReturnMoments, trial_sharpes: Sequence[float | None], trials: int | None = None
) -> float | None:
    """The DSR of ``best`` after ``trials`` tries (default: the count of trial Sharpe ratios)."""
    if best.sharpe is None:
        return None
    known = np.array([s for s in trial_sharpes if s is not None and math.isfinite(s)], dtype=np.float64)
    tried = trials if trials is not None else len(trial_sharpes)
    variance = float(np.var(known, ddof=1)) if len(known) > 1 else 0.0
    benchmark = expected_max_sharpe(tried, variance)
    return probabilistic_sharpe(best.sharpe, benchmark, best.count, best.skewness, best.kurtosis)
