"""Loading the synthetic demo universe: what a new user sees offline (never presented as real data)."""

from __future__ import annotations

from sqlalchemy import Engine

from workstation.errors import InvalidInputError
from workstation.jobs import CancelToken, ProgressCallback, ProgressUpdate, no_progress
from workstation.market.ingest import IngestSummary, merge_summaries, process_batch
from workstation.market.providers.synthetic import SOURCE, generate_universe
from workstation.market.symbols import upsert_stock_info

MAX_SYMBOLS = 500
MAX_YEARS = 30


def load_demo_universe(
    engine: Engine,
    symbols: int = 50,
    years: int = 5,
    seed: int = 7,
    *,
    end: str | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> IngestSummary:
    """Generate and store the demo universe (daily and hourly bars, source 'synthetic') with its metadata."""
    if not 1 <= symbols <= MAX_SYMBOLS:
        raise InvalidInputError(f"--symbols must be between 1 and {MAX_SYMBOLS}")
    if not 1 <= years <= MAX_YEARS:
        raise InvalidInputError(f"--years must be between 1 and {MAX_YEARS}")
    progress(ProgressUpdate(0, 3, "generating"))
    universe = generate_universe(symbols=symbols, years=years, seed=seed, end=end)
    if cancel is not None:
        cancel.raise_if_cancelled()
    progress(ProgressUpdate(1, 3, "storing daily bars"))
    daily = process_batch(engine, universe.daily, interval="1d", source=SOURCE, cancel=cancel)
    progress(ProgressUpdate(2, 3, "storing hourly bars"))
    hourly = process_batch(engine, universe.hourly, interval="1h", source=SOURCE, cancel=cancel)
    with engine.begin() as conn:
        for symbol, metadata in universe.metadata.items():
            upsert_stock_info(conn, symbol, metadata, SOURCE)
    progress(ProgressUpdate(3, 3, "done"))
    summary = merge_summaries([hourly])
    # One entry per symbol: counts of both intervals added up, the daily range and split decision kept.
    for symbol, entry in daily.symbols.items():
        hourly_entry = summary.symbols.get(symbol)
        if hourly_entry is not None:
            entry.inserted += hourly_entry.inserted
            entry.updated += hourly_entry.updated
            entry.unchanged += hourly_entry.unchanged
            entry.rejected += hourly_entry.rejected
    summary.symbols = daily.symbols
    summary.rejects = daily.rejects + hourly.rejects
    summary.failures = {**daily.failures, **hourly.failures}
    summary.interval = "1d+1h"
    return summary
