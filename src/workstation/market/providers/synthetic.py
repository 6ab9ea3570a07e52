"""The offline demo universe: deterministic synthetic bars that look like a market, labelled as synthetic.

Daily bars follow a market factor with regime switches (bull / sideways / bear, a Markov chain) and
GARCH(1,1) volatility clustering, plus sector and stock-specific noise, overnight gaps and rare jumps.
Raw prices include one or two stock splits; they go through the same split adjustment as real data,
so what is stored is split-adjusted. Trading days are the NYSE sessions (market.calendar). The last
``hourly_days`` sessions also get hourly bars that stay inside their day's range and end at its close
(on an early-close day the bars after 13:00 are folded into the last one). Parameters come from
resources/demo/universe.json; same seed, same data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from workstation.market.calendar import xnys
from workstation.market.frame import ProviderBatch
from workstation.paths import resources_dir

SOURCE = "synthetic"


def load_parameters() -> dict[str, Any]:
    with open(resources_dir() / "demo" / "universe.json", encoding="utf-8") as handle:
        params: dict[str, Any] = json.load(handle)
    return params


@dataclass
class DemoUniverse:
    daily: ProviderBatch
    hourly: ProviderBatch
    metadata: dict[str, dict[str, Any]]


def _sessions(end: pd.Timestamp, years: int) -> pd.DatetimeIndex:
    """The exchange's session dates (NYSE holidays, not federal ones) over ``years`` up to ``end``."""
    start = end - pd.DateOffset(years=years)
    return xnys().session_days(start.date(), end.date())


def _market_returns(rng: np.random.Generator, n: int, market: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Market log returns and their volatility relative to the base (the common volatility factor)."""
    regimes = list(market["regimes"])
    transition = np.array([[market["transitions"][a][b] for b in regimes] for a in regimes])
    transition /= transition.sum(axis=1, keepdims=True)
    garch = market["garch"]
    state = regimes.index("sideways")
    variance = market["base_daily_vol"] ** 2
    returns = np.empty(n)
    level = np.empty(n)
    shocks = rng.standard_normal(n)
    uniforms = rng.random(n)
    for t in range(n):
        state = int(np.searchsorted(np.cumsum(transition[state]), uniforms[t]))
        state = min(state, len(regimes) - 1)
        regime = market["regimes"][regimes[state]]
        scale = regime["vol_scale"] * market["base_daily_vol"]
        eps = np.sqrt(variance) * shocks[t]
        returns[t] = regime["drift"] + eps * scale / market["base_daily_vol"]
        level[t] = np.sqrt(variance) * regime["vol_scale"] / market["base_daily_vol"]
        variance = garch["omega"] + garch["alpha"] * eps**2 + garch["beta"] * variance
    return returns, level


def generate_universe(symbols: int = 50, years: int = 5, seed: int = 7, end: str | None = None) -> DemoUniverse:
    params = load_parameters()
    rng = np.random.default_rng(seed)
    tz = params["time_zone"]
    last_day = pd.Timestamp(end or params["end_date"])
    days = _sessions(last_day, years)
    n = len(days)
    market, vol_level = _market_returns(rng, n, params["market"])
    sectors = params["sectors"]
    sector_returns = {
        s["code"]: 0.5 * market + rng.standard_normal(n) * 0.006 * s["vol_scale"] * vol_level for s in sectors
    }
    stock = params["stock"]
    daily_stamps = days.tz_localize(tz).tz_convert("UTC")
    daily_frames: list[pd.DataFrame] = []
    metadata: dict[str, dict[str, Any]] = {}
    used_names: set[str] = set()
    closes: dict[str, np.ndarray] = {}
    for i in range(symbols):
        sector = sectors[i % len(sectors)]
        ticker = f"{sector['code']}{i // len(sectors) + 1:02d}"
        beta = rng.uniform(*stock["beta_range"])
        idio = rng.uniform(*stock["idio_vol_range"]) * sector["vol_scale"]
        # Stock-specific noise rises and falls with market volatility: calm and stormy spells for all.
        log_ret = beta * market + 0.6 * sector_returns[sector["code"]] + rng.standard_normal(n) * idio * vol_level
        gaps = rng.standard_normal(n) * stock["overnight_gap_vol"] * vol_level
        jumps = (rng.random(n) < stock["jump_probability"]) * rng.standard_normal(n) * stock["jump_vol"]
        overnight = gaps + jumps
        intraday = log_ret - gaps  # the close-to-close move is shared between the gap and the session
        start_price = rng.uniform(*stock["start_price_range"])
        path = start_price * np.exp(np.cumsum(overnight + intraday))
        close = path
        open_ = np.concatenate([[start_price], close[:-1]]) * np.exp(overnight)
        span = np.abs(rng.standard_normal((2, n))) * stock["intraday_range"] * sector["vol_scale"]
        high = np.maximum(open_, close) * np.exp(span[0])
        low = np.minimum(open_, close) * np.exp(-span[1])
        median_volume = rng.uniform(*stock["volume_median_range"])
        surprise = np.abs(log_ret) / (np.std(log_ret) + 1e-12)
        volume = (median_volume * rng.lognormal(0.0, 0.3, n) * (0.6 + 0.4 * surprise)).round()
        closes[ticker] = close
        daily_frames.append(
            pd.DataFrame(
                {"row": np.arange(1, n + 1), "symbol": ticker, "interval": "1d", "timestamp": daily_stamps,
                 "open": open_, "high": high, "low": low, "close": close, "volume": volume, "source": SOURCE}
            )
        )  # fmt: skip
        name = ""
        while not name or name in used_names:
            name = f"{rng.choice(sector['words'])} {rng.choice(params['company_suffixes'])}"
        used_names.add(name)
        shares = int(rng.uniform(*params["stock"]["shares_outstanding_range"]))
        metadata[ticker] = {
            "company_name": f"{name} (synthetic)",
            "sector": sector["name"],
            "industry": str(rng.choice(sector["industries"])),
            "market_cap": int(shares * close[-1]),
            "currency": "USD",
            "exchange": "SYNTHETIC",
        }
    daily = pd.concat(daily_frames, ignore_index=True)
    splits = _raw_splits(rng, daily, params["splits"], n_hourly=params["hourly_days"])
    hourly = _hourly(rng, daily, params, tz)
    split_frame = pd.DataFrame(splits, columns=["symbol", "timestamp", "ratio"])
    return DemoUniverse(
        daily=ProviderBatch(bars=daily, splits=split_frame),
        hourly=ProviderBatch(bars=hourly, prices_adjusted=True),
        metadata=metadata,
    )


def _raw_splits(
    rng: np.random.Generator, daily: pd.DataFrame, config: dict[str, Any], n_hourly: int
) -> list[tuple[str, pd.Timestamp, float]]:
    """Turn the adjusted daily prices of a few expensive stocks into raw ones with a split in them."""
    events: list[tuple[str, pd.Timestamp, float]] = []
    peaks = daily.groupby("symbol")["close"].max().sort_values(ascending=False)
    candidates = [str(s) for s in peaks.index if peaks[s] >= config["min_price"] / 2]
    for symbol in candidates[: config["count"]]:
        rows = daily.index[daily["symbol"] == symbol]
        # Somewhere in the middle of the history and well before the hourly window.
        cut = int(rng.integers(len(rows) // 4, max(len(rows) // 4 + 1, len(rows) - n_hourly - 20)))
        ratio = float(rng.choice(config["ratios"]))
        before = rows[:cut]
        for column in ("open", "high", "low", "close"):
            daily.loc[before, column] = daily.loc[before, column] * ratio
        daily.loc[before, "volume"] = (daily.loc[before, "volume"] / ratio).round()
        events.append((symbol, pd.Timestamp(daily["timestamp"].iloc[rows[cut]]), ratio))
    return events


def _hourly(rng: np.random.Generator, daily: pd.DataFrame, params: dict[str, Any], tz: str) -> pd.DataFrame:
    starts = params["hourly_bar_starts"]
    k = len(starts)
    weights = np.array([1.6, 1.0, 0.8, 0.7, 0.8, 1.0, 1.5][:k])
    weights = weights / weights.sum()
    frames: list[pd.DataFrame] = []
    for symbol, bars in daily.groupby("symbol", sort=False):
        recent = bars.tail(params["hourly_days"])
        m = len(recent)
        o, c = recent["open"].to_numpy(), recent["close"].to_numpy()
        hi, lo = recent["high"].to_numpy(), recent["low"].to_numpy()
        # A random walk per day pinned to the day's open and close (a Brownian bridge on log prices).
        steps = rng.standard_normal((m, k)) * 0.003
        walk = np.cumsum(steps, axis=1)
        walk -= walk[:, -1:] * (np.arange(1, k + 1) / k)
        points = np.exp(np.log(o)[:, None] + np.log(c / o)[:, None] * (np.arange(1, k + 1) / k) + walk)
        points = np.clip(points, lo[:, None], hi[:, None])
        points[:, -1] = c
        h_open = np.concatenate([o[:, None], points[:, :-1]], axis=1)
        h_close = points
        wiggle = np.abs(rng.standard_normal((2, m, k))) * 0.0015
        h_high = np.minimum(np.maximum(h_open, h_close) * np.exp(wiggle[0]), hi[:, None])
        h_low = np.maximum(np.minimum(h_open, h_close) * np.exp(-wiggle[1]), lo[:, None])
        h_volume = (recent["volume"].to_numpy()[:, None] * weights[None, :] * rng.lognormal(0, 0.2, (m, k))).round()
        local_days = recent["timestamp"].dt.tz_convert(tz).dt.tz_localize(None).dt.normalize().to_numpy()
        offsets = np.array([pd.Timedelta(s + ":00").to_timedelta64() for s in starts])
        grid = pd.DatetimeIndex((local_days[:, None] + offsets[None, :]).ravel()).tz_localize(tz).tz_convert("UTC")
        keep = _fold_after_close(grid, local_days, k, h_close, h_high, h_low, h_volume)
        frames.append(
            pd.DataFrame(
                {"row": np.arange(1, int(keep.sum()) + 1), "symbol": symbol, "interval": "1h",
                 "timestamp": grid[keep], "open": h_open.ravel()[keep], "high": h_high.ravel()[keep],
                 "low": h_low.ravel()[keep], "close": h_close.ravel()[keep], "volume": h_volume.ravel()[keep],
                 "source": SOURCE}
            )
        )  # fmt: skip
    return pd.concat(frames, ignore_index=True)


def _fold_after_close(
    grid: pd.DatetimeIndex, local_days: np.ndarray, k: int, close: np.ndarray, high: np.ndarray, low: np.ndarray,
    volume: np.ndarray,
) -> np.ndarray:  # fmt: skip
    """On early-close days, merge the hourly bars that would start at or after the close into the last
    one before it (in place: it takes the day's close, the extremes and the volume); returns the mask of
    bars to keep."""
    closes = np.array([xnys().session_on(pd.Timestamp(day).date()).close for day in local_days])  # type: ignore[union-attr]
    starts = grid.tz_localize(None).to_numpy(dtype="datetime64[ns]").reshape(len(local_days), k)
    ends = pd.DatetimeIndex(closes).tz_convert("UTC").tz_localize(None).to_numpy(dtype="datetime64[ns]")
    before = starts < ends[:, None]
    for d in np.flatnonzero(~before.all(axis=1)):
        j = max(int(before[d].sum()) - 1, 0)
        close[d, j] = close[d, -1]
        high[d, j] = high[d, j:].max()
        low[d, j] = low[d, j:].min()
        volume[d, j] = volume[d, j:].sum()
        before[d, j] = True
    return before.ravel()
