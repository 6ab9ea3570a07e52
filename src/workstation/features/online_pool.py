"""The online rows of a batch of symbols, computed in this process and in warm worker processes at once.

A live batch is one new bar of each of many symbols (a bar close of the whole universe), and its cost is
the catalog over each symbol's window: ~1.2–2 ms a symbol on the reference machine, nearly all of it
the per-call cost of ~150 TA-Lib and NumPy calls, not the bars. The windows are independent, so a
batch is split in shares: this process computes the first while the workers of a warm pool (warm_pool,
one per spare core) compute the others. ``compute_matrix`` is deterministic, so a row is the same bits
whichever process computed it.

Workers keep no state: a task carries its windows (a symbol's is 600 × 5 floats, 24 kB), so nothing is
lost when one dies or fails — its share is computed here, and so are whole batches until a fresh pool
is warm (a batch never waits for helpers to start). The helpers serve online batches only (the feature
build has its own pool); several live loops in one process share them, so a share can wait behind
another loop's share (a share the executor has not queued yet is taken back and computed here, but one
it has queued for a worker cannot be).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from concurrent.futures.process import BrokenProcessPool

import numpy as np

from workstation.features.compute import compute_matrix
from workstation.features.spec import FloatArray
from workstation.warm_pool import WarmPool

log = logging.getLogger(__name__)

# Below this many symbols a batch is computed here: a task's round trip (pickling the windows, the
# queue, the answer) costs about as much as the catalog over a few symbols.
MIN_PARALLEL = 16

_helpers = WarmPool(max(1, (os.cpu_count() or 1) - 1), "workstation.features.online_pool")


def last_rows(windows: Sequence[FloatArray]) -> list[FloatArray]:
    """The catalog's last row over each window (an (n_bars, 5) array: open, high, low, close, volume)."""
    return [compute_matrix(*(np.ascontiguousarray(w[:, k]) for k in range(5)))[-1].copy() for w in windows]


def parallel_worth_it(symbols: int) -> bool:
    return symbols >= MIN_PARALLEL and (os.cpu_count() or 1) > 1


def warm_up() -> None:
    """Start the helper processes in the background (a live loop with enough symbols does this while
    it primes its windows)."""
    _helpers.warm_up()


def batch_last_rows(windows: Sequence[FloatArray]) -> list[FloatArray]:
    """``last_rows(windows)``, split over this process and the helpers when the batch is large enough."""
    if not parallel_worth_it(len(windows)):
        return last_rows(windows)
    pool = _helpers.warm_pool()
    if pool is None:  # starting (or restarting after a death): not worth waiting for
        _helpers.warm_up()
        return last_rows(windows)
    shares = np.array_split(np.arange(len(windows)), _helpers.workers + 1)
    try:
        futures = [pool.submit(last_rows, [windows[i] for i in share]) for share in shares[1:]]
    except (RuntimeError, BrokenProcessPool) as exc:  # broken, or shutting down at exit
        log.warning("online feature helpers unavailable (%s): computing here", exc)
        _helpers.discard(pool)
        return last_rows(windows)
    out: list[FloatArray | None] = [None] * len(windows)
    for i, row in zip(shares[0].tolist(), last_rows([windows[i] for i in shares[0]]), strict=True):
        out[i] = row
    for share, future in zip(shares[1:], futures, strict=True):
        rows: list[FloatArray] | None = None
        if not future.cancel():  # started (or done): its answer is on the way
            try:
                rows = future.result()
            except BrokenProcessPool as exc:
                log.warning("an online feature helper died (%s): its share is computed here", exc)
                _helpers.discard(pool)
            except Exception as exc:  # anything else a helper raised: the rows still come from here
                log.warning("an online feature helper failed (%s): its share is computed here", exc)
        if rows is None:
            rows = last_rows([windows[i] for i in share])
        for i, row in zip(share.tolist(), rows, strict=True):
            out[i] = row
    done = [row for row in out if row is not None]
    assert len(done) == len(windows), "every window has its row"
    return done
