"""Blotter refresh benchmark (a script, not collected by pytest).

    QT_QPA_PLATFORM=offscreen PYTHONPATH=src python3 tests/benchmarks/bench_blotter.py [--orders 1000]

Places ``--orders`` paper market orders (each with its fill) in a temporary SQLite database, then
polls the blotter's data once a second from a background thread — as the blotter panel does —
while an event-loop lag probe ticks on the GUI thread. Two readers, same data, same run:

* baseline: the whole history re-read every poll as ORM objects (SqlOrderStore.orders/fills);
* OrderFeed: the first poll reads everything in Core partitions, later polls only what changed.

Printed: time per poll and the GUI thread's largest stall (target ≤ 50 ms), and their ratios.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

from PySide6.QtCore import QCoreApplication, QEventLoop, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402
from sqlalchemy import Engine  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from workstation.db.engine import create_db_engine  # noqa: E402
from workstation.db.migrate import upgrade  # noqa: E402
from workstation.gui.lag_probe import LagProbe  # noqa: E402
from workstation.gui.panels.blotter_data import BlotterSnapshot, load_snapshot  # noqa: E402
from workstation.trading.domain import OrderRequest  # noqa: E402
from workstation.trading.feed import OrderFeed  # noqa: E402
from workstation.trading.repository import SqlOrderStore  # noqa: E402
from workstation.trading.session import open_session  # noqa: E402


def seed(engine: Engine, orders: int) -> None:
    sys.path.insert(0, str(ROOT))
    from tests.gui.conftest import populate

    populate(engine, bars=60)
    session = open_session(engine, "paper")
    for i in range(orders):
        side = "buy" if i % 3 else "sell"
        if side == "sell" and session.manager.position_quantity("AAPL") < 1:
            side = "buy"
        session.manager.submit(OrderRequest("AAPL", side, Decimal(1)))  # type: ignore[arg-type]
    session.close()


def run(label: str, poll: Callable[[], object], seconds: float) -> tuple[float, float]:
    """Poll once a second in a thread for ``seconds``; returns (mean poll ms, max GUI stall ms)."""
    durations: list[float] = []
    stop = threading.Event()

    def poller() -> None:
        while not stop.is_set():
            start = time.perf_counter()
            poll()
            durations.append((time.perf_counter() - start) * 1000)
            stop.wait(1.0)

    probe = LagProbe(10)
    probe.start()
    thread = threading.Thread(target=poller, daemon=True)
    thread.start()
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()
    stop.set()
    thread.join()
    probe.stop()
    steady = durations[1:] or durations
    mean = sum(steady) / len(steady)
    stall = probe.max_stall_ms
    print(f"{label:<28} first poll {durations[0]:7.1f} ms  later polls {mean:7.1f} ms  GUI max stall {stall:6.1f} ms")
    return mean, probe.max_stall_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()
    sys.setswitchinterval(0.001)  # as the window sets it (gui/app.py)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["WORKSTATION_DATA_DIR"] = tmp
        engine = create_db_engine(make_url(f"sqlite:///{tmp}/bench.db"))
        upgrade(engine)
        start = time.perf_counter()
        seed(engine, args.orders)
        print(f"seeded {args.orders} paper orders with fills in {time.perf_counter() - start:.1f} s")
        store = SqlOrderStore(engine)
        base_poll, base_stall = run(
            "baseline (full ORM re-read)", lambda: (store.orders(limit=1000), store.fills()), args.seconds
        )
        feed, marks = OrderFeed(engine), {}  # type: ignore[var-annotated]
        previous: list[BlotterSnapshot] = []

        def incremental() -> None:
            previous[:] = [load_snapshot(feed, marks, None, previous[0] if previous else None)]

        feed_poll, feed_stall = run("OrderFeed (incremental)", incremental, args.seconds)
        print(
            f"later polls: {base_poll / max(feed_poll, 1e-6):.1f}x faster; GUI max stall: "
            f"{base_stall:.0f} -> {feed_stall:.0f} ms (target <= 50 ms)"
        )
        engine.dispose()
    QCoreApplication.processEvents()
    del app


if __name__ == "__main__":
    main()
