"""build_features: the feature service the CLI, the live loop and the GUI call.

Plans in the caller's process (which symbols, which bar source), spreads symbols over a process
pool (two workers: TA-Lib is single-threaded and the machine has two cores), writes with COPY on
PostgreSQL from the workers, or from the caller on SQLite (one writer), then refreshes the dashboard
summary. Each symbol is replaced in its own transaction, so a cancelled or failed build leaves every
symbol either as it was or fully rebuilt.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Engine

from workstation.db.engine import check_connection
from workstation.db.summary import refresh_dashboard_summary
from workstation.errors import JobCancelledError, WorkstationError
from workstation.features import changes
from workstation.features.catalog import FEATURE_VERSION
from workstation.features.worker import SymbolOutcome, SymbolTask, run_in_worker, run_task, write_outcome
from workstation.jobs import CancelToken, ProgressCallback, ProgressUpdate, no_progress

log = logging.getLogger(__name__)

WORKERS = 2


@dataclass
class FeatureBuildSummary:
    interval: str
    feature_version: str
    symbols: list[SymbolOutcome] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # symbol -> reason
    seconds: float = 0.0
    summary_refreshed: bool = False

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
) -> FeatureBuildSummary:
    """Compute and store catalog FEATURE_VERSION for ``symbols`` (default: every symbol with bars at ``interval``).

    Incremental by default: only bars after the last stored row, plus everything from the first
    revised bar on, are rewritten (with HISTORY_BARS of replayed history). ``full`` rebuilds all.
    """
    started = time.perf_counter()
    check_connection(engine)
    wanted = None if symbols is None else sorted({s.strip().upper() for s in symbols if s.strip()})
    if wanted == []:
        raise WorkstationError("no symbols given", exit_code=2)
    with engine.connect() as conn:
        sources = changes.bar_sources(conn, interval, wanted)
    summary = FeatureBuildSummary(interval, FEATURE_VERSION)
    for symbol in wanted or []:
        if symbol not in sources:
            summary.skipped[symbol] = f"no {interval} bars in market_data"
    if not sources:
        which = ", ".join(wanted) if wanted else "any symbol"
        raise WorkstationError(f"no {interval} bars stored for {which}; ingest market data first")

    in_process = len(sources) == 1 or _is_memory_sqlite(engine)
    sqlite = engine.dialect.name == "sqlite"
    tasks = [
        SymbolTask(s, interval, src, FEATURE_VERSION, full, write=in_process or not sqlite)
        for s, src in sorted(sources.items())
    ]
    by_symbol = {task.symbol: task for task in tasks}
    progress(ProgressUpdate(0, len(tasks), "starting"))
    try:
        for done, outcome in enumerate(_run(engine, tasks, in_process, cancel), start=1):
            if outcome.timestamps is not None and outcome.mode != "failed":
                write_outcome(engine, by_symbol[outcome.symbol], outcome)
            summary.symbols.append(outcome)
            progress(ProgressUpdate(done, len(tasks), outcome.symbol))
    finally:
        if summary.rows_written or any(s.rows_deleted for s in summary.symbols):
            refresh_dashboard_summary(engine)
            summary.summary_refreshed = True
    summary.seconds = time.perf_counter() - started
    log.info(
        "features %s %s: %d symbols, %d rows in %.2fs", interval, FEATURE_VERSION, len(summary.symbols),
        summary.rows_written, summary.seconds,
    )  # fmt: skip
    return summary


def _is_memory_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite" and engine.url.database in (None, "", ":memory:")


def _run(
    engine: Engine, tasks: list[SymbolTask], in_process: bool, cancel: CancelToken | None
) -> Iterator[SymbolOutcome]:
    if in_process:
        for task in tasks:
            if cancel is not None:
                cancel.raise_if_cancelled()
            yield run_task(engine, task)
        return
    url = engine.url.render_as_string(hide_password=False)
    # forkserver: workers never inherit the caller's threads (Qt, SQLAlchemy pools); preloading keeps start-up short.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["workstation.features.worker"])
    with ProcessPoolExecutor(max_workers=min(WORKERS, len(tasks)), mp_context=context) as pool:
        futures: list[Future[SymbolOutcome]] = [pool.submit(run_in_worker, url, task) for task in tasks]
        try:
            for future in as_completed(futures):
                if cancel is not None and cancel.cancelled:
                    raise JobCancelledError(f"cancelled by the user after {sum(f.done() for f in futures)} symbols")
                yield future.result()
        except BaseException:
            for future in futures:
                future.cancel()
            raise
