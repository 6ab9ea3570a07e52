"""Feature rows for the ML tests, computed here with TA-Lib (the features engine is not needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import talib
from sqlalchemy import Engine, insert

from workstation.db.models import FeatureEngineeredData
from workstation.db.partitions import ensure_partitions


def spec_features(bars: pd.DataFrame) -> pd.DataFrame:
    """The spec's feature columns from OHLCV (every value at t uses bars ≤ t only)."""
    high, low, close = (bars[c].to_numpy(dtype=float) for c in ("high", "low", "close"))
    out = bars[["open", "high", "low", "close", "volume"]].astype(float).copy()
    out["returns"] = bars["close"].pct_change()
    out["rsi_1d"] = talib.RSI(close, timeperiod=14)
    out["price_ma_short"] = talib.SMA(close, timeperiod=20)
    out["bb_upper"] = talib.BBANDS(close, timeperiod=20)[0]
    out["macd"] = talib.MACD(close)[0]
    out["atr"] = talib.ATR(high, low, close, timeperiod=14)
    return out


def read_yahoo(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path)
    frame.columns = [c.lower().replace(" ", "_") for c in frame.columns]
    frame["timestamp"] = pd.to_datetime(frame["date"]).dt.tz_localize("UTC") + pd.Timedelta(hours=21)
    return frame.set_index("timestamp")[["open", "high", "low", "close", "volume"]]


def synthetic_bars(n: int, seed: int, start: str = "2015-01-02") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 50 * np.exp(np.cumsum(rng.normal(0.0003, 0.015, n)))
    spread = np.abs(rng.normal(0, 0.01, n)) * close
    index = pd.bdate_range(start, periods=n, tz="UTC") + pd.Timedelta(hours=21)
    return pd.DataFrame(
        {
            "open": close,
            "high": close + spread,
            "low": close - spread,
            "close": close,
            "volume": rng.integers(1e5, 1e6, n),
        },
        index=index,
    )


def insert_features(
    engine: Engine, symbol: str, bars: pd.DataFrame, *, interval: str = "1d", source: str = "test"
) -> pd.DataFrame:
    features = spec_features(bars)
    rows = []
    for timestamp, row in features.iterrows():
        values = {k: (None if pd.isna(v) else float(v)) for k, v in row.items()}
        rows.append(
            {"symbol": symbol, "interval": interval, "timestamp": timestamp.to_pydatetime(), "source": source} | values
        )
    # PostgreSQL: feature_engineered_data is partitioned; the feature build would make the ranges itself.
    ensure_partitions(engine, "feature_engineered_data", features.index)
    with engine.begin() as conn:
        conn.execute(insert(FeatureEngineeredData), rows)
    return features


def run_cli(capsys: pytest.CaptureFixture[str], url: str, *args: str) -> tuple[int, str, str]:
    """``workstation --database-url URL ARGS…`` in this process: (exit code, stdout, stderr)."""
    from workstation.cli import run

    with pytest.raises(SystemExit) as exited:
        run(["--database-url", url, *args])
    out = capsys.readouterr()
    return int(exited.value.code or 0), out.out, out.err
