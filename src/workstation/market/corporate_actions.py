"""Split adjustment: store split-adjusted prices so indicators never see a fake crash.

A file may hold raw prices with a split column (Quandl WIKI: AAPL 7:1 on 2014-06-09, close 645.57 then
93.70) or prices that are already adjusted but still flag the split (zipline's csvdir KO file: 39.40
then 39.30 across a 2:1 split). The prices decide: if the jump across the split is closer to the ratio
than to 1 the bars before it are divided by the ratio (volumes multiplied); otherwise nothing is done.
Either way the decision is written into the ingest summary. Dividends never change stored prices.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from workstation.market.frame import PRICE_COLUMNS


def ratio_text(ratio: float) -> str:
    """7.0 -> '7:1', 0.1 -> '1:10', 1.5 -> '3:2'."""
    if ratio >= 1:
        numerator, denominator = ratio, 1.0
    else:
        numerator, denominator = 1.0, 1.0 / ratio
    for scale in (1, 2, 3, 4, 5, 10):
        n, d = numerator * scale, denominator * scale
        if abs(n - round(n)) < 1e-6 and abs(d - round(d)) < 1e-6:
            return f"{round(n)}:{round(d)}"
    return f"{ratio:g}:1"


def _price(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".")


def adjust_splits(
    bars: pd.DataFrame, splits: pd.DataFrame, *, prices_adjusted: bool = False
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Apply the split events in ``splits`` (symbol, timestamp, ratio) to validated ``bars``.

    Returns the adjusted bars and, per symbol with bars, what was decided ("none" when no split).
    """
    decisions: dict[str, list[str]] = {str(s): [] for s in bars["symbol"].unique()}
    if splits.empty or bars.empty:
        return bars, dict.fromkeys(decisions, "none")
    out = bars.sort_values(["symbol", "interval", "timestamp"], kind="stable").reset_index(drop=True)
    # Latest split first: a bar before two splits is divided by both ratios in turn, which is the
    # cumulative factor, and each detection compares prices that later splits have already scaled.
    events = splits.sort_values("timestamp", ascending=False, kind="stable")
    for raw_symbol, raw_when, raw_ratio in zip(
        events["symbol"].tolist(), events["timestamp"].tolist(), events["ratio"].tolist(), strict=True
    ):
        symbol, when, ratio = str(raw_symbol), pd.Timestamp(raw_when), float(raw_ratio)
        if symbol not in decisions:
            continue
        label = f"split {ratio_text(ratio)} on {when.tz_convert('America/New_York').date()}"
        if prices_adjusted:
            decisions[symbol].append(f"{label}: prices already split-adjusted by the provider, not applied")
            continue
        mine = out["symbol"] == symbol
        before = mine & (out["timestamp"] < when)
        after = mine & (out["timestamp"] >= when)
        if not before.any():
            decisions[symbol].append(f"{label}: no bars before it, nothing to adjust")
            continue
        if not after.any():
            decisions[symbol].append(f"{label}: no bars from that day on to compare, not applied")
            continue
        last_close = float(out.loc[before, "close"].iloc[-1])
        next_open = float(out.loc[after, "open"].iloc[0])
        jump = math.log(last_close / next_open)
        evidence = f"close {_price(last_close)} then open {_price(next_open)}"
        if abs(jump - math.log(ratio)) < abs(jump):
            for column in PRICE_COLUMNS:
                out.loc[before, column] = (out.loc[before, column] / ratio).round(6)
            out.loc[before, "volume"] = np.round(out.loc[before, "volume"].to_numpy() * ratio).astype(np.int64)
            decisions[symbol].append(
                f"{label}: raw prices ({evidence}), {int(before.sum())} earlier bars divided by {ratio:g}"
            )
        else:
            decisions[symbol].append(f"{label}: prices already adjusted ({evidence}), not applied again")
    decisions_text = {s: "; ".join(reversed(d)) if d else "none" for s, d in decisions.items()}
    return out, decisions_text
