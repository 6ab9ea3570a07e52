"""GUI responsiveness while ingest, feature build and training run together (a script, not collected by pytest).

    PYTHONPATH=src python3 tests/benchmarks/bench_gui_lag.py [--runs 3] [--backend sqlite|postgresql] [--compare-gc]
                                                           [--no-live]

Opens the real main window (log tail, alert rules and database health polling, monitoring installed)
on a fresh database with a small demo universe, then per run:
  * idle: the window alone for 5 s (the baseline of this machine, measured in the same run);
  * load: a demo-universe load, an incremental feature build (process pool) and a random-forest fit
    started together in workers, until all three are done and the window has reloaded.
A 10 ms LagProbe on the GUI thread records the longest stall. Target (issue 8): ≤ 50 ms under load.
The window's demo replay ticks throughout (the live window's default on the demo universe: a local
replay server streaming through alpaca-py's client, the window owning the feed and storing its minute
bars); ``--no-live`` measures without it.
``--compare-gc`` adds runs with Python's default garbage-collector settings (no freeze, automatic
full collections), which is what gui/gc_tuning.py exists to avoid.
PostgreSQL: a database named bench_gui_lag is created on WORKSTATION_BENCH_PG (default
postgresql://postgres@127.0.0.1/postgres) and dropped afterwards.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests" / "gui"))

from PySide6.QtCore import QCoreApplication  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from workstation.dashboard import loading  # noqa: E402
from workstation.db.engine import create_db_engine  # noqa: E402
from workstation.db.migrate import upgrade  # noqa: E402
from workstation.gui.lag_probe import LagProbe  # noqa: E402
from workstation.jobs import CancelToken, ProgressCallback  # noqa: E402
from workstation.market.demo import load_demo_universe  # noqa: E402

PG_ADMIN = os.environ.get("WORKSTATION_BENCH_PG", "postgresql://postgres@127.0.0.1/postgres")
PG_NAME = "bench_gui_lag"


def wait(app: object, seconds: float, until: object = None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        QCoreApplication.processEvents()
        if until is not None and until():  # type: ignore[operator]
            return
        time.sleep(0.002)


def one_run(window: object, seed: int) -> tuple[float, float, int]:
    from test_gui_lag import fit_model  # the same training-sized job as the unit test

    context = window.context  # type: ignore[attr-defined]
    engine = context.engine
    probe = LagProbe(interval_ms=10)
    probe.start()
    wait(None, 5.0)
    probe.stop()
    idle = probe.max_stall_ms

    def ingest(progress: ProgressCallback, cancel: CancelToken) -> object:
        return load_demo_universe(engine, symbols=8, years=3, seed=seed, progress=progress, cancel=cancel)

    def features(progress: ProgressCallback, cancel: CancelToken) -> object:
        return loading.build_interval_features(engine, ["1d"], progress, cancel)

    probe.start()
    handles = [context.jobs.submit(label, fn) for label, fn in
               (("Ingest", ingest), ("Features", features), ("Fit", fit_model))]  # fmt: skip
    wait(None, 600, lambda: all(h.state != "running" for h in handles))
    context.refreshRequested.emit()
    wait(None, 60, lambda: not context.jobs.running_jobs())
    wait(None, 0.3)
    probe.stop()
    failed = [f"{h.label}: {h.error}" for h in handles if h.state != "succeeded"]
    if failed:
        raise SystemExit("a job failed: " + "; ".join(failed))
    return idle, probe.max_stall_ms, probe.stalls_over_50ms


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--compare-gc", action="store_true")
    parser.add_argument("--no-live", action="store_true", help="without the demo replay ticking")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-gui-lag-"))
    os.environ["WORKSTATION_DATA_DIR"] = str(workdir)
    os.environ["WORKSTATION_LIVE"] = "off" if args.no_live else "demo"
    admin = None
    if args.backend == "postgresql":
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {PG_NAME}"))
            conn.execute(text(f"CREATE DATABASE {PG_NAME}"))
        url = make_url(PG_ADMIN).set(database=PG_NAME).render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{workdir / 'bench.db'}"
    engine = create_db_engine(url)
    upgrade(engine)
    load_demo_universe(engine, symbols=3, years=2, seed=1)
    engine.dispose()

    from workstation.gui.app import build_window, ensure_application

    app = ensure_application()
    window, _reporter = build_window(make_url(url))
    window.resize(1600, 900)
    window.show()
    wait(app, 30, lambda: window.context.monitoring is not None and not window.context.jobs.running_jobs())
    live = window.context.live
    if not args.no_live:
        wait(app, 30, lambda: live.book.total > 0)
        if live.mode != "demo" or not live.book.total:
            raise SystemExit(f"the demo replay is not ticking: {live.status}")
    modes = ["tuned GC"] + (["default GC"] * 1 if args.compare_gc else [])
    try:
        print(f"GUI lag, {args.backend}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
        received = live.book.total
        for mode in modes:
            if mode == "default GC":
                gc.unfreeze()
                gc.set_threshold(700, 10, 10)
            results = [one_run(window, seed=10 + i) for i in range(args.runs)]
            idle = statistics.median(r[0] for r in results)
            loaded = [r[1] for r in results]
            median = statistics.median(loaded)
            print(
                f"{mode:>10}: idle max stall {idle:6.1f} ms | under load max stall per run "
                + ", ".join(f"{v:.0f}" for v in loaded)
                + f" ms (median {median:.0f}, ratio to idle {median / max(idle, 1):.1f}×)"
                + f" | stalls > 50 ms per run {', '.join(str(r[2]) for r in results)} | target ≤ 50 ms"
            )
        if not args.no_live:
            print(
                f"demo replay ticking throughout: {live.book.total - received:,} messages received, "
                f"{live.flushes:,} live updates of the window, state {live.status.state}"
            )
    finally:
        window.close()
        window.context.close()
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS {PG_NAME} WITH (FORCE)"))
            admin.dispose()


if __name__ == "__main__":
    main()
