"""build_features: the feature service the CLI, the live loop and the GUI call.

Plans in the caller's process with one grouped query (``state.plan_builds``: which symbols, which bar
source, unchanged / new bars / possibly revised), cuts the work into batches of symbols and spreads
them over a process pool (two workers: TA-Lib is single-threaded and the machine has two cores). On
PostgreSQL the workers write with COPY; on SQLite (one writer) the caller writes. Each batch is
replaced in one transaction together with its build state, so a cancelled or failed build leaves every
symbol either as it was or fully rebuilt. The dashboard summary is refreshed at the end.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator
from concurrent.futures import Future, as_completed, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from sqlalchemy import Engine

from workstation.db.engine import check_connection
from workstation.db.summary import refresh_dashboard_summary
from workstation.errors import InvalidInputError, JobCancelledError, WorkstationError
from workstation.features.catalog import FEATURE_VERSION, HISTORY_BARS
from workstation.features.pool import WORKERS, discard_feature_pool, feature_pool, warm_up_feature_pool
from workstation.features.state import SymbolPlan, plan_builds
from workstation.features.worker import BatchTask, SymbolOutcome, run_batch, run_in_worker, write_outcomes
from workstation.jobs import CancelToken, ProgressCallback, ProgressUpdate, no_progress

log = logging.getLogger(__name__)

# A batch is read with one query and written in one transaction: about this many bars to compute,
# and at most this many symbols (an incremental build of many symbols computes only short tails).
BATCH_ROWS = 30_000
BATCH_SYMBOLS = 100


class BatchRunner(Protocol):
    """Runs batches elsewhere (a cluster): each task computed and written where it runs.

    ``workers`` is how many batches run at once (the build makes at least two per worker)."""

    workers: int

    def run(
        self, engine: Engine, tasks: list[BatchTask], cancel: CancelToken | None
    ) -> Iterator[tuple[BatchTask, list[SymbolOutcome]]]: ...


@dataclass
class FeatureBuildSummary:
    interval: str
    feature_version: str
    symbols: list[SymbolOutcome] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # symbol -> reason
    seconds: float = 0.0
    summary_refreshed: bool = False
    phase_seconds: dict[str, float] = field(default_factory=dict)  # plan, build (compute + write), summary

    @property
    def rows_written(self) -> int:
        return sum(s.rows_written for s in self.symbols)

    @property
    def failed(self) -> list[SymbolOutcome]:
        return [s for s in self.symbols if s.mode == "failed"]

    def as_dict(self) -> dict[str, Any]:
        keep = ("symbol", "source", "mode", "since", "rows_written", "rows_deleted", "error")
        return {
            "interval": self.interval,
            "feature_version": self.feature_version,
            "rows_written": self.rows_written,
            "seconds": round(self.seconds, 3),
            "summary_refreshed": self.summary_refreshed,
            "symbols": [{k: v for k, v in asdict(s).items() if k in keep} for s in self.symbols],
            "skipped": [{"symbol": k, "reason": v} for k, v in self.skipped.items()],
        }


def build_features(
    engine: Engine,
    *,
    symbols: list[str] | None = None,
    interval: str = "1d",
    full: bool = False,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
    runner: BatchRunner | None = None,
) -> FeatureBuildSummary:
    """Compute and store catalog FEATURE_VERSION for ``symbols`` (default: every symbol with bars at ``interval``).

    Incremental by default: only bars after the last stored row, plus everything from the first
    revised bar on, are rewritten (with HISTORY_BARS of replayed history). ``full`` rebuilds all.
    ``runner`` sends the batches elsewhere (``workstation.cluster``; PostgreSQL only, the workers
    write); by default they run in the local pool.
    """
    started = time.perf_counter()
    check_connection(engine)
    wanted = None if symbols is None else sorted({s.strip().upper() for s in symbols if s.strip()})
    if wanted == []:
        raise InvalidInputError("no symbols given")
    if runner is None and not _is_memory_sqlite(engine) and (wanted is None or len(wanted) > 1):
        # More than one symbol may mean more than one batch, i.e. the pool: start it while planning.
        warm_up_feature_pool()
    with engine.begin() as conn:
        plans = plan_builds(conn, interval, FEATURE_VERSION, wanted, full)
    planned = time.perf_counter()
    summary = FeatureBuildSummary(interval, FEATURE_VERSION)
    for symbol in wanted or []:
        if symbol not in plans:
            summary.skipped[symbol] = f"no {interval} bars in market_data"
    if not plans:
        which = ", ".join(wanted) if wanted else "any symbol"
        raise WorkstationError(f"no {interval} bars stored for {which}; ingest market data first")

    work = [plan for _symbol, plan in sorted(plans.items()) if plan.mode != "up_to_date"]
    batches = _batches(work, WORKERS if runner is None else runner.workers)
    in_process = runner is None and (len(batches) <= 1 or _is_memory_sqlite(engine))
    sqlite = engine.dialect.name == "sqlite"
    if runner is not None and sqlite:
        raise InvalidInputError("feature batches can run elsewhere only on PostgreSQL (the workers write)")
    tasks = [BatchTask(interval, FEATURE_VERSION, tuple(batch), write=in_process or not sqlite) for batch in batches]
    for plan in plans.values():
        if plan.mode == "up_to_date":
            summary.symbols.append(SymbolOutcome(plan.symbol, plan.source, "up_to_date"))
    total = len(plans)
    done = len(summary.symbols)
    progress(ProgressUpdate(done, total, "starting"))
    try:
        results = _run(engine, tasks, in_process, cancel) if runner is None else runner.run(engine, tasks, cancel)
        for task, outcomes in results:
            if not task.write:
                write_outcomes(engine, task, outcomes)
            for outcome in outcomes:
                summary.symbols.append(outcome)
                done += 1
                progress(ProgressUpdate(done, total, outcome.symbol))
    finally:
        if summary.rows_written or any(s.rows_deleted for s in summary.symbols):
            refreshing = time.perf_counter()
            refresh_dashboard_summary(engine)
            summary.phase_seconds["summary"] = time.perf_counter() - refreshing
            summary.summary_refreshed = True
    summary.symbols.sort(key=lambda s: s.symbol)
    summary.seconds = time.perf_counter() - started
    summary.phase_seconds["plan"] = planned - started
    summary.phase_seconds["build"] = (
        summary.seconds - summary.phase_seconds["plan"] - summary.phase_seconds.get("summary", 0)
    )
    log.info(
        "features %s %s: %d symbols, %d rows in %.2fs (%s)", interval, FEATURE_VERSION, len(summary.symbols),
        summary.rows_written, summary.seconds, ", ".join(f"{k} {v:.2f}s" for k, v in summary.phase_seconds.items()),
    )  # fmt: skip
    return summary


def _is_memory_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite" and engine.url.database in (None, "", ":memory:")


def _batches(plans: list[SymbolPlan], workers: int = WORKERS) -> list[list[SymbolPlan]]:
    """Consecutive groups of about BATCH_ROWS bars to compute, at least two per worker when there is enough work."""
    if not plans:
        return []
    cost = [_rows_to_compute(p) for p in plans]
    count = max(math.ceil(sum(cost) / BATCH_ROWS), min(len(plans), 2 * workers), math.ceil(len(plans) / BATCH_SYMBOLS))
    size = math.ceil(len(plans) / count)
    return [plans[i : i + size] for i in range(0, len(plans), size)]


def _rows_to_compute(plan: SymbolPlan) -> int:
    if plan.mode == "tail" and plan.previous is not None and plan.previous.bar_count is not None:
        return min(plan.bar_count, plan.bar_count - plan.previous.bar_count + HISTORY_BARS)
    return plan.bar_count


def _run(
    engine: Engine, tasks: list[BatchTask], in_process: bool, cancel: CancelToken | None
) -> Iterator[tuple[BatchTask, list[SymbolOutcome]]]:
    if in_process:
        for task in tasks:
            if cancel is not None:
                cancel.raise_if_cancelled()
            yield task, run_batch(engine, task)
        return
    url = engine.url.render_as_string(hide_password=False)
    pool = feature_pool()
    futures: dict[Future[list[SymbolOutcome]], BatchTask] = {}
    try:
        futures = {pool.submit(run_in_worker, url, task): task for task in tasks}
        for future in as_completed(futures):
            if cancel is not None and cancel.cancelled:
                done = sum(len(futures[f].plans) for f in futures if f.done())
                raise JobCancelledError(f"cancelled by the user after {done} symbols")
            yield futures[future], future.result()
    except BrokenProcessPool:
        discard_feature_pool(pool)
        raise
    except BaseException:
        for future in futures:
            future.cancel()
        # Batches already running finish (each is one transaction) before the build returns, so a
        # following build never races one of this build's batches for the same symbols.
        wait(futures)
        raise
