"""A real Dask cluster on loopback for the session: one ``dask scheduler`` and two ``dask worker``
processes of two single-threaded workers each, started as a user would start them (no preload, no
plugin), plus helpers that fill a PostgreSQL database with bars.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine

from workstation.market.frame import ProviderBatch
from workstation.market.ingest import process_batch

WORKER_PROCESSES, WORKERS_EACH = 2, 2
START_SECONDS = 90.0


@dataclass
class LocalCluster:
    address: str
    folder: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def log(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in sorted(self.folder.glob("*.log")))


def _start(command: list[str], folder: Path, name: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with open(folder / f"{name}.log", "wb") as log:
        # Own session: teardown signals exactly these processes and the workers their nannies start.
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
    except ProcessLookupError:
        pass


@pytest.fixture(scope="session")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    pytest.importorskip("distributed")
    from distributed import Client

    folder = tmp_path_factory.mktemp("dask")
    env = {**os.environ, "WORKSTATION_DATA_DIR": str(folder / "data"), "PYTHONUNBUFFERED": "1"}
    env.pop("WORKSTATION_DATABASE_URL", None)
    scheduler_file = folder / "scheduler.json"
    dask = [sys.executable, "-m", "dask"]
    scheduler = _start(
        [*dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file",
         str(scheduler_file)], folder, "scheduler", env,
    )  # fmt: skip
    cluster = LocalCluster("", folder, [scheduler])
    try:
        deadline = time.monotonic() + START_SECONDS
        while not scheduler_file.exists() or not scheduler_file.read_text().strip():
            if scheduler.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the Dask scheduler did not start:\n{cluster.log()}")
            time.sleep(0.1)
        time.sleep(0.05)  # the file is written in one go, but be sure it is complete
        cluster.address = json.loads(scheduler_file.read_text())["address"]
        for i in range(WORKER_PROCESSES):
            command = [
                *dask, "worker", cluster.address, "--nworkers", str(WORKERS_EACH), "--nthreads", "1",
                "--host", "127.0.0.1", "--no-dashboard", "--local-directory", str(folder / f"w{i}"),
                "--death-timeout", "60",
            ]  # fmt: skip
            cluster.processes.append(_start(command, folder, f"worker{i}", env))
        with Client(cluster.address, timeout=30, set_as_default=False) as client:
            client.wait_for_workers(WORKER_PROCESSES * WORKERS_EACH, timeout=START_SECONDS)
        yield cluster
    finally:
        for process in reversed(cluster.processes):
            _stop(process)


@pytest.fixture
def client(dask_cluster: LocalCluster) -> Iterator[object]:
    from distributed import Client

    with Client(dask_cluster.address, timeout=30, set_as_default=False) as client:
        client.wait_for_workers(WORKER_PROCESSES * WORKERS_EACH, timeout=60)  # a killed worker restarts
        yield client


def _walk(symbol: str, bars: int, seed: int) -> dict[str, np.ndarray]:
    """One symbol's bars; each series has its own generator, so the first n bars never depend on how many follow."""
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence([seed, *symbol.encode()]).spawn(5)]
    close = 50 * np.exp(np.cumsum(streams[0].normal(0.0003, 0.015, bars)))
    open_ = close * np.exp(streams[1].normal(0, 0.004, bars))
    high = np.maximum(open_, close) * np.exp(np.abs(streams[2].normal(0, 0.006, bars)))
    low = np.minimum(open_, close) * np.exp(-np.abs(streams[3].normal(0, 0.006, bars)))
    volume = streams[4].integers(100_000, 5_000_000, bars)
    prices = {"open": open_, "high": high, "low": low, "close": close}
    return {name: values.round(4) for name, values in prices.items()} | {"volume": volume}


def daily_bars(symbols: list[str], bars: int, seed: int = 5) -> pd.DataFrame:
    """Random-walk daily bars (stamped at the 21:00 UTC close) for every symbol, in ingest's layout."""
    stamps = pd.bdate_range("2015-01-02", periods=bars, tz="UTC") + pd.Timedelta(hours=21)
    walks = [_walk(symbol, bars, seed) for symbol in symbols]
    frame = pd.DataFrame({name: np.concatenate([w[name] for w in walks]) for name in walks[0]})
    frame.insert(0, "timestamp", np.tile(stamps, len(symbols)))
    frame.insert(0, "interval", "1d")
    frame.insert(0, "symbol", np.repeat(symbols, bars))
    frame.insert(0, "row", np.arange(1, len(frame) + 1))
    frame["source"] = "test"
    return frame


def store_daily(engine: Engine, symbols: list[str], bars: int, seed: int = 5) -> None:
    summary = process_batch(engine, ProviderBatch(bars=daily_bars(symbols, bars, seed)), interval="1d", source="test")
    assert not summary.failures and not summary.rejects, summary


def feature_rows(engine: Engine) -> pd.DataFrame:
    """Every stored feature row, every column but the per-run ones, in a fixed order."""
    frame = pd.read_sql_query("SELECT * FROM feature_engineered_data ORDER BY symbol, interval, timestamp", engine)
    return frame.drop(columns=["id", "created_at", "updated_at"], errors="ignore").reset_index(drop=True)
