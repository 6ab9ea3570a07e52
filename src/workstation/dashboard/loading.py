"""Getting data in from the window: demo universe, CSV, Yahoo, Alpaca — then the features on top.

The GUI runs these in its workers; they call the market and features cores directly (progress and
cancel included) and turn the summaries into one-line outcomes for a notification: what was stored,
what was rejected (first reasons with their row numbers) and which symbols failed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from workstation.errors import JobCancelledError, WorkstationError
from workstation.features.engine import build_features
from workstation.jobs import CancelToken, ProgressCallback, ProgressUpdate
from workstation.market.demo import load_demo_universe
from workstation.market.ingest import IngestSummary, ingest_alpaca, ingest_csv, ingest_yahoo

PROVIDERS = ("yahoo", "alpaca")
_REASONS_SHOWN = 3


@dataclass(frozen=True)
class LoadOutcome:
    level: str  # info | warning | error (the notification's level)
    message: str
    intervals: list[str] = field(default_factory=list)  # bar intervals that received data: build their features
    stored: bool = False


def describe_ingest(label: str, summary: IngestSummary) -> LoadOutcome:
    stored = (summary.inserted + summary.updated) > 0 and not summary.aborted
    parts = [f"{len(summary.symbols)} symbols: {summary.inserted:,} bars inserted, {summary.updated:,} updated"]
    if summary.unchanged:
        parts.append(f"{summary.unchanged:,} unchanged")
    level = "info"
    if summary.rejects:
        level = "warning"
        first = "; ".join(
            f"row {r.row}: {r.reason}" if r.row is not None else r.reason for r in summary.rejects[:_REASONS_SHOWN]
        )
        parts.append(f"{summary.rejected:,} rows rejected ({first}{' …' if summary.rejected > _REASONS_SHOWN else ''})")
    if summary.failures:
        level = "error" if not stored else "warning"
        failed = "; ".join(f"{s}: {reason}" for s, reason in sorted(summary.failures.items())[:_REASONS_SHOWN])
        more = f" and {len(summary.failures) - _REASONS_SHOWN} more" if len(summary.failures) > _REASONS_SHOWN else ""
        parts.append(f"failed {failed}{more}")
    if summary.aborted:
        level = "warning"
        parts.append("nothing written (strict mode)")
    intervals = [i for i in (summary.interval or "").split("+") if i] if stored else []
    return LoadOutcome(level, f"{label}: " + ", ".join(parts), intervals, stored)


def load_demo(engine: Engine, symbols: int, progress: ProgressCallback, cancel: CancelToken) -> LoadOutcome:
    """The synthetic demo universe (daily and hourly bars; labelled as synthetic, never passed off as real)."""
    summary = load_demo_universe(engine, symbols=symbols, progress=progress, cancel=cancel)
    return describe_ingest("Demo universe (synthetic)", summary)


def load_csv(engine: Engine, path: str, progress: ProgressCallback, cancel: CancelToken) -> LoadOutcome:
    summary = ingest_csv(engine, path, progress=progress, cancel=cancel)
    return describe_ingest(f"Import {Path(path).name}", summary)


def download(
    engine: Engine, provider: str, symbols: list[str], progress: ProgressCallback, cancel: CancelToken
) -> LoadOutcome:
    if provider == "yahoo":
        summary = ingest_yahoo(engine, symbols, progress=progress, cancel=cancel)
    elif provider == "alpaca":
        summary = ingest_alpaca(engine, symbols, progress=progress, cancel=cancel)
    else:
        raise WorkstationError(f"unknown provider {provider!r}: use one of {', '.join(PROVIDERS)}")
    return describe_ingest(f"Download from {provider.capitalize()}", summary)


def build_interval_features(
    engine: Engine, intervals: list[str], progress: ProgressCallback, cancel: CancelToken
) -> LoadOutcome:
    """Incremental feature build for each interval; one outcome line for all of them."""
    written, failed, built = 0, 0, []
    for number, interval in enumerate(intervals):
        cancel.raise_if_cancelled()

        def scaled(update: ProgressUpdate, number: int = number, interval: str = interval) -> None:
            # Each interval gets an equal share of the bar, so it never runs backwards.
            total = max(update.total, 1)
            share = 1000 // len(intervals)
            done = number * share + (share * min(update.done, total)) // total
            progress(ProgressUpdate(done, 1000, f"{interval}: {update.message}"))

        try:
            summary = build_features(engine, interval=interval, progress=scaled, cancel=cancel)
        except JobCancelledError:
            raise
        except WorkstationError as exc:  # e.g. no bars at this interval: the others still count
            failed += 1
            built.append(f"{interval} skipped ({exc})")
            continue
        written += summary.rows_written
        failed += len(summary.failed)
        built.append(f"{interval} {len(summary.symbols)} symbols")
    level = "warning" if failed else "info"
    message = f"Features built: {written:,} rows ({', '.join(built)})"
    if failed:
        message += f"; {failed} failed — see the log monitor"
    return LoadOutcome(level, message, intervals, written > 0)
