"""The cluster gives the local run's results: features, training, cancel, a lost worker, refusals, secrets.

Every test runs on the session's real loopback cluster (conftest) and a real PostgreSQL database.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import time
from collections.abc import Callable
from subprocess import CompletedProcess
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine

from cluster.conftest import LocalCluster, feature_rows, store_daily
from ml.helpers import insert_features, synthetic_bars
from workstation.cluster.connect import scheduler_address
from workstation.cluster.executor import ClusterExecutor, cluster_client
from workstation.cluster.features import TASK_NAME, ClusterBatchRunner
from workstation.cluster.jobs import build_features_on, train_and_register_on
from workstation.cluster.versions import check_workers, local_versions
from workstation.db.engine import create_db_engine
from workstation.errors import ConfigurationError, ExitCode, JobCancelledError
from workstation.features.engine import build_features
from workstation.jobs import CancelToken, ProgressUpdate
from workstation.ml.executors import SerialExecutor
from workstation.ml.training import TrainingSpec, train

# One cluster per run: every cluster test goes to the same xdist worker (pytest --dist loadgroup).
pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.xdist_group("cluster")]

SYMBOLS = [f"S{i:02d}" for i in range(16)]


def _state(engine: Engine) -> pd.DataFrame:
    frame = pd.read_sql_query("SELECT * FROM feature_build_state ORDER BY symbol, interval, feature_version", engine)
    return frame.drop(columns=["updated_at"]).reset_index(drop=True)


def _rebuild_on_cluster(engine: Engine, client: Any, **kwargs: Any) -> Any:
    return build_features(engine, full=True, runner=ClusterBatchRunner(client), **kwargs)


def test_features_on_the_cluster_equal_the_local_build(
    pg_engine: Engine, dask_cluster: LocalCluster, workstation_cli: Callable[..., CompletedProcess[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    store_daily(pg_engine, SYMBOLS, 300)
    local = build_features(pg_engine)
    expected, expected_state = feature_rows(pg_engine), _state(pg_engine)
    assert len(expected) == len(SYMBOLS) * 300 and not local.failed

    # The real entry point: the installed command, its --scheduler option, a full rebuild.
    url = pg_engine.url.render_as_string(hide_password=False)
    done = workstation_cli("features", "build", "--full", "--json", "--scheduler", dask_cluster.address,
                           env={"WORKSTATION_DATABASE_URL": url})  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "cluster tcp://127.0.0.1:" in done.stderr and "4 workers" in done.stderr
    summary = json.loads(done.stdout)
    assert summary["rows_written"] == len(expected)
    assert {s["mode"] for s in summary["symbols"]} == {"full"}
    pd.testing.assert_frame_equal(feature_rows(pg_engine), expected, check_exact=True)
    pd.testing.assert_frame_equal(_state(pg_engine), expected_state, check_exact=True)

    # Incremental on the cluster named by the environment (as the window finds it): new bars for two symbols.
    store_daily(pg_engine, SYMBOLS[:2], 310)  # the first 300 are the same bars: only 10 new ones each
    monkeypatch.setenv("WORKSTATION_DASK_SCHEDULER", dask_cluster.address)
    lines: list[str] = []
    summary = build_features_on(pg_engine, announce=lines.append)
    assert lines and lines[0].startswith(f"cluster {dask_cluster.address}: 4 workers")
    modes = {s.symbol: s.mode for s in summary.symbols}
    assert modes["S00"] == modes["S01"] == "incremental" and modes["S02"] == "up_to_date"
    on_cluster = feature_rows(pg_engine)
    build_features(pg_engine, full=True)  # the local reference for the same bars
    pd.testing.assert_frame_equal(on_cluster, feature_rows(pg_engine), check_exact=True)


def test_training_on_the_cluster_gives_the_local_metrics(pg_engine: Engine, client: Any) -> None:
    for i, symbol in enumerate(("AAA", "BBB")):
        insert_features(pg_engine, symbol, synthetic_bars(200, 40 + i))
    # With a hyperparameter search: every (candidate, fold) fit is a task on the workers too.
    spec = TrainingSpec("gradient_boosting", "price_direction", ("AAA", "BBB"), n_folds=3,
                        hyperparameters={"max_iter": 15}, search={"max_depth": (2, 3)})  # fmt: skip
    local = train(pg_engine, spec, executor=SerialExecutor())  # any local executor gives the same numbers
    executor = ClusterExecutor(client)
    updates: list[ProgressUpdate] = []
    remote = train(pg_engine, spec, executor=executor, publish=executor.publish, progress=updates.append)
    assert remote.parameters["search"] == local.parameters["search"]
    assert len(remote.parameters["search"]["candidates"]) == 2
    assert any(u.message.startswith("search: ") for u in updates)
    assert remote.metrics == local.metrics
    assert remote.comparison == local.comparison
    assert remote.feature_importance == local.feature_importance
    assert np.array_equal(remote.held_out["model"], local.held_out["model"])
    assert any("fits done" in u.message for u in updates) and updates[-1].message == "done"


def test_models_train_command_runs_on_the_cluster(
    pg_engine: Engine, dask_cluster: LocalCluster, workstation_cli: Callable[..., CompletedProcess[str]]
) -> None:
    for i, symbol in enumerate(("AAA", "BBB")):
        insert_features(pg_engine, symbol, synthetic_bars(200, 7 + i))
    spec = TrainingSpec("random_forest", "volatility", ("AAA", "BBB"), n_folds=2, hyperparameters={"n_estimators": 10})
    local = train(pg_engine, spec, executor=SerialExecutor())
    url = pg_engine.url.render_as_string(hide_password=False)
    done = workstation_cli(
        "models", "train", "--model-type", "random_forest", "--target", "volatility", "--symbols", "AAA,BBB",
        "--folds", "2", "--param", "n_estimators=10", "--json", "--scheduler", dask_cluster.address,
        env={"WORKSTATION_DATABASE_URL": url},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["metrics"] == json.loads(json.dumps(local.metrics))
    assert summary["baseline_metrics"] == json.loads(json.dumps(local.baseline_metrics))
    assert summary["folds"] == json.loads(json.dumps(local.folds))


def test_sqlite_with_a_scheduler_is_one_line_exit_2(
    tmp_path: Any, workstation_cli: Callable[..., CompletedProcess[str]]
) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    env = {"WORKSTATION_DATABASE_URL": url}
    done = workstation_cli("features", "build", "--scheduler", "tcp://127.0.0.1:9", env=env)
    assert done.returncode == ExitCode.USAGE, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "needs PostgreSQL" in lines[0] and "Traceback" not in done.stderr
    engine = create_db_engine(url)
    try:
        spec = TrainingSpec("random_forest", "price_direction", ("AAA",))
        with pytest.raises(ConfigurationError, match="a Dask cluster needs PostgreSQL"):
            train_and_register_on(engine, spec, scheduler="tcp://127.0.0.1:9")
    finally:
        engine.dispose()


def test_an_unreachable_scheduler_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("workstation.cluster.connect.CONNECT_SECONDS", 1.0)
    with pytest.raises(ConfigurationError) as refused, cluster_client(scheduler_address("127.0.0.1:9") or ""):
        pass
    assert refused.value.exit_code == ExitCode.USAGE and "\n" not in str(refused.value)
    assert str(refused.value).startswith("cannot reach the Dask scheduler at tcp://127.0.0.1:9: ")
    with pytest.raises(ConfigurationError, match="not a Dask scheduler address"):
        scheduler_address("udp://x")
    monkeypatch.setenv("WORKSTATION_DASK_SCHEDULER", "10.0.0.5:8786")
    assert scheduler_address(None) == "tcp://10.0.0.5:8786" and scheduler_address("") is None


def test_workers_with_other_versions_are_refused(dask_cluster: LocalCluster, monkeypatch: pytest.MonkeyPatch) -> None:
    with cluster_client(dask_cluster.address) as client:  # same versions everywhere: accepted
        check_workers(client)
    # This machine now claims another catalog; the workers still run the real one.
    monkeypatch.setattr("workstation.features.catalog.FEATURE_VERSION", "99.0")
    assert local_versions()["feature catalog"] == "99.0"
    with pytest.raises(ConfigurationError) as refused, cluster_client(dask_cluster.address):
        pass
    message = str(refused.value)
    assert refused.value.exit_code == ExitCode.USAGE and "\n" not in message
    assert "refusing the cluster: worker tcp://127.0.0.1:" in message and "feature catalog 3.0" in message
    assert "this machine runs" in message and "feature catalog 99.0" in message


def _worker_pids(client: Any) -> dict[str, int]:
    return dict(client.run(os.getpid))


def test_a_worker_killed_mid_build_is_retried(pg_engine: Engine, client: Any) -> None:
    store_daily(pg_engine, SYMBOLS, 400, seed=9)
    build_features(pg_engine)
    expected = feature_rows(pg_engine)
    pids = _worker_pids(client)
    killed: list[int] = []

    def on_progress(update: ProgressUpdate) -> None:
        # Kill a worker that is running a batch right now (the first to report has just freed its thread).
        if not killed and update.done > 0:
            busy = client.processing()
            victim = next((w for w, keys in busy.items() if keys), next(iter(pids)))
            killed.append(pids[victim])
            os.kill(pids[victim], signal.SIGKILL)

    summary = _rebuild_on_cluster(pg_engine, client, progress=on_progress)
    assert killed and not summary.failed and summary.rows_written == len(expected)
    pd.testing.assert_frame_equal(feature_rows(pg_engine), expected, check_exact=True)


def test_cancel_cancels_the_futures(pg_engine: Engine, client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    store_daily(pg_engine, [f"C{i:02d}" for i in range(32)], 300, seed=3)
    monkeypatch.setattr("workstation.features.engine.BATCH_SYMBOLS", 1)  # 32 tasks: most still queued at the cancel
    token = CancelToken()
    updates: list[ProgressUpdate] = []

    def on_progress(update: ProgressUpdate) -> None:
        updates.append(update)
        if update.done > 0:
            token.cancel()

    started = time.perf_counter()
    with pytest.raises(JobCancelledError):
        _rebuild_on_cluster(pg_engine, client, progress=on_progress, cancel=token)
    stopped = time.perf_counter() - started
    states = client.run_on_scheduler(
        lambda dask_scheduler: [(str(k), t.state) for k, t in dask_scheduler.tasks.items()]
    )
    assert not [s for k, s in states if k.startswith(TASK_NAME)]  # nothing queued, running or held on the cluster
    built = pd.read_sql_query("SELECT count(*) AS n FROM feature_build_state", pg_engine)["n"][0]
    assert 0 < built < 32, built  # batches that had started finished; the rest never ran
    assert stopped < 30


def test_no_credentials_in_task_keys_logs_or_the_scheduler(
    pg_engine: Engine, client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from distributed import get_task_stream

    secret = "Sw0rdfish-Tr0ub4dor"
    store_daily(pg_engine, SYMBOLS[:8], 200)
    url = pg_engine.url.set(password=secret)  # trusted on loopback: the password is sent but not needed
    engine = create_db_engine(url.render_as_string(hide_password=False))
    seen: list[str] = []

    def on_progress(update: ProgressUpdate) -> None:  # what the scheduler holds while the tasks exist
        seen.extend(client.run_on_scheduler(
            lambda dask_scheduler: [f"{k} {ts.run_spec!r} {ts.group_key}" for k, ts in dask_scheduler.tasks.items()]
        ))  # fmt: skip

    caplog.set_level(logging.DEBUG)
    try:
        with get_task_stream(client) as stream:
            summary = _rebuild_on_cluster(engine, client, progress=on_progress)
        assert summary.rows_written == 8 * 200
    finally:
        engine.dispose()
    assert seen and any(TASK_NAME in s for s in seen)
    keys = [str(record["key"]) for record in stream.data]
    assert keys and all(k.startswith(f"{TASK_NAME}-") for k in keys)
    worker_state = client.run(lambda dask_worker: repr(list(dask_worker.state.log)) + repr(dask_worker.state.tasks))
    scheduler_state = client.run_on_scheduler(lambda dask_scheduler: repr(list(dask_scheduler.transition_log)))
    logs = repr(client.get_worker_logs()) + repr(client.get_scheduler_logs())
    local_logs = "\n".join(r.getMessage() for r in caplog.records)
    for text in (*seen, *keys, repr(stream.data), repr(worker_state), scheduler_state, logs, local_logs):
        assert secret not in text


def test_a_batch_run_twice_leaves_the_state_of_one_run(pg_engine: Engine) -> None:
    """A worker that dies after its batch committed: the scheduler runs the task again."""
    from workstation.cluster.features import build_batch
    from workstation.cluster.secret import DatabaseUrl
    from workstation.features.catalog import FEATURE_VERSION
    from workstation.features.state import plan_builds
    from workstation.features.worker import BatchTask

    store_daily(pg_engine, ["R1", "R2"], 300)
    build_features(pg_engine)
    store_daily(pg_engine, ["R1", "R2"], 305)  # five new bars each: incremental plans
    with pg_engine.begin() as conn:
        plans = plan_builds(conn, "1d", FEATURE_VERSION, None, False)
    task = BatchTask("1d", FEATURE_VERSION, tuple(plans[s] for s in ("R1", "R2")), write=True)
    url = DatabaseUrl(pg_engine.url)
    first = build_batch(url, task)
    assert [o.mode for o in first] == ["incremental", "incremental"]
    again = build_batch(url, task)
    assert [o.mode for o in again] == ["up_to_date", "up_to_date"]
    once_rows, once_state = feature_rows(pg_engine), _state(pg_engine)
    build_features(pg_engine, full=True)
    pd.testing.assert_frame_equal(once_rows, feature_rows(pg_engine), check_exact=True)
    pd.testing.assert_frame_equal(once_state, _state(pg_engine), check_exact=True)
    assert repr(url) == f"DatabaseUrl({pg_engine.url.render_as_string(hide_password=True)})"


def test_cluster_executor_runs_any_callable_and_cancels(dask_cluster: LocalCluster) -> None:
    """What a sweep does with ``cluster_executor``: submit points, collect them as they finish, cancel."""
    from concurrent.futures import as_completed, wait

    from workstation.cluster.executor import cluster_executor

    lines: list[str] = []
    with cluster_executor(dask_cluster.address, announce=lines.append) as executor:
        # A function the workers can import (a test module's could not be unpickled there), with a keyword.
        futures = {executor.submit(int, f"{i:x}", base=16): i for i in range(12)}
        assert {futures[f]: f.result() for f in as_completed(futures, timeout=60)} == {i: i for i in range(12)}
        slow = [executor.submit(time.sleep, 2) for _ in range(12)]
        time.sleep(0.5)
        for future in slow:
            future.cancel()
        wait(slow, timeout=10)
        assert all(f.cancelled() for f in slow)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            left = executor.client.run_on_scheduler(
                lambda dask_scheduler: [str(k) for k in dask_scheduler.tasks if str(k).startswith("sleep-")]
            )
            if not left:
                break
            time.sleep(0.1)
        assert not left
    assert lines and lines[0].startswith("cluster tcp://127.0.0.1:") and "no dashboard" in lines[0]


def test_sweep_on_the_cluster_equals_the_local_sweep(
    pg_engine: Engine, dask_cluster: LocalCluster, workstation_cli: Callable[..., CompletedProcess[str]]
) -> None:
    store_daily(pg_engine, ["AAA", "BBB"], 300)
    url = pg_engine.url.render_as_string(hide_password=False)
    sweep = ("sweep", "--grid", "fast=5:15:5,slow=20:30:10", "--symbols", "AAA,BBB", "--qty", "10", "--no-save",
             "--json")  # fmt: skip
    local = workstation_cli(*sweep, "--workers", "1", env={"WORKSTATION_DATABASE_URL": url})
    assert local.returncode == 0, local.stderr
    remote = workstation_cli(*sweep, "--scheduler", dask_cluster.address, env={"WORKSTATION_DATABASE_URL": url})
    assert remote.returncode == 0, remote.stderr
    assert "cluster tcp://" in remote.stderr  # the cluster's line (workers, dashboard) on stderr
    by_params = {json.dumps(r["params"]): r["metrics"] for r in json.loads(local.stdout)["results"]}
    results = json.loads(remote.stdout)["results"]
    assert len(results) == len(by_params) == 6  # 3 × 2 points, none with fast ≥ slow
    for result in results:
        assert result["metrics"] == by_params[json.dumps(result["params"])]
    both = workstation_cli(*sweep, "--workers", "2", "--scheduler", dask_cluster.address,
                           env={"WORKSTATION_DATABASE_URL": url})  # fmt: skip
    assert both.returncode == 2 and json.loads(both.stdout)["exit_code"] == 2
