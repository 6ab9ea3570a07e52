"""`workstation features build/list` and `workstation dashboard refresh/summary` end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable

import pandas as pd
from sqlalchemy import Engine

from workstation.features.catalog import CATALOG


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "workstation", *args], capture_output=True, text=True, env=dict(os.environ), timeout=180
    )


def test_features_list_json_is_the_catalog() -> None:
    result = _run("features", "list", "--json")
    assert result.returncode == 0, result.stderr
    catalog = json.loads(result.stdout)
    assert len(catalog) == len(CATALOG) >= 120
    rsi = next(entry for entry in catalog if entry["name"] == "rsi_1d")
    assert rsi["computation"].startswith("talib.RSI(close")
    assert rsi["warmup"] == 14
    assert {"name", "group", "definition", "computation", "warmup", "history", "feature_version"} <= set(rsi)
    table = _run("features", "list")
    assert "bb_upper" in table.stdout
    assert f"{len(CATALOG)} features" in table.stdout


def test_build_then_dashboard(
    db_url: str, engine: Engine, make_bars: Callable[..., pd.DataFrame], store_bars: Callable[..., None]
) -> None:
    store_bars(engine, "AAA", make_bars(260, seed=1))
    store_bars(engine, "BBB", make_bars(120, seed=2))
    built = _run("--database-url", db_url, "features", "build", "--json")
    assert built.returncode == 0, built.stderr
    payload = json.loads(built.stdout)
    assert {s["symbol"]: s["rows_written"] for s in payload["symbols"]} == {"AAA": 260, "BBB": 120}
    assert payload["summary_refreshed"] is True

    again = _run("--database-url", db_url, "features", "build", "--symbols", "AAA")
    assert again.returncode == 0, again.stderr
    assert "up_to_date" in again.stdout
    assert "0 rows" in again.stdout

    missing = _run("--database-url", db_url, "features", "build", "--symbols", "AAA,NOPE")
    assert missing.returncode == 1
    assert "NOPE" in missing.stdout
    assert "no 1d bars" in missing.stdout
    assert missing.stderr.strip().startswith("error: 1 symbol(s) skipped")
    assert "Traceback" not in missing.stderr

    nothing = _run("--database-url", db_url, "features", "build", "--interval", "1h")
    assert nothing.returncode == 1
    assert nothing.stderr.startswith("error: no 1h bars stored")

    refreshed = _run("--database-url", db_url, "dashboard", "refresh")
    assert refreshed.returncode == 0
    assert "2 symbols" in refreshed.stdout
    summary = json.loads(_run("--database-url", db_url, "dashboard", "summary", "--json").stdout)
    assert [(r["symbol"], r["total_records"], r["latest_version"]) for r in summary] == [
        ("AAA", 260, "3.0"),
        ("BBB", 120, "3.0"),
    ]
    assert "AAA" in _run("--database-url", db_url, "dashboard", "summary").stdout
