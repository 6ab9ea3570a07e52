"""Open the workstation window, load the demo universe through it, and save a PNG (run by packaging/screenshot.sh).

    python3 tests/gui/screenshot.py OUT.png [--database-url URL] [--theme dark|light]

Without --database-url the window starts on a fresh SQLite file and loads the synthetic demo universe
the way a new user does (File → Load demo universe: bars, then features, in workers), so the log
monitor shows the real activity of that load. The demo data is labelled synthetic; nothing is
invented for the picture.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from PySide6.QtWidgets import QApplication
from sqlalchemy.engine import make_url


def settle(app: QApplication, seconds: float, until: object = None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        app.processEvents()
        if until is not None and until():  # type: ignore[operator]
            return
        time.sleep(0.02)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("output", type=Path)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--theme", default="dark", choices=("dark", "light"))
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="workstation-shot-"))
    os.environ["WORKSTATION_DATA_DIR"] = str(workdir)  # a fresh layout and settings, not the user's
    url = args.database_url or f"sqlite:///{workdir / 'demo.db'}"

    from workstation.gui.app import build_window, ensure_application

    app = ensure_application()
    window, _reporter = build_window(make_url(url))
    window.set_theme(args.theme)
    window.resize(1600, 1000)
    window.show()
    context = window.context
    settle(app, 30, lambda: context.monitoring is not None and not context.jobs.running_jobs())
    if args.database_url is None:
        finished: list[bool] = []
        window.onboarding.loadFinished.connect(finished.append)
        window.shortcuts.get("data.demo").action.trigger()  # as a user would: a recorded action
        settle(app, 300, lambda: bool(finished))
        if finished != [True]:
            raise SystemExit("loading the demo universe failed; see the log monitor")
    chart = window.docks["chartPanel"].widget()
    settle(app, 60, lambda: chart.view.bar_count() > 0 and not context.jobs.running_jobs())
    for toast in window.notifications.active():
        toast.dismiss()  # the picture shows the window, not the start-up messages
    chart.set_indicator("bbands", True)
    chart.set_indicator("macd", True)
    chart.view.show_last(250)
    chart._show_readout(chart.view.bar_count() - 1)
    monitor = window.docks["logMonitorPanel"].widget()
    settle(app, 3, lambda: monitor.model.rowCount() > 5)
    entries = monitor.model.entries()
    pick = next(
        (i for i, e in reversed(list(enumerate(entries))) if e.component.startswith("workstation.features")),
        len(entries) - 1,
    )
    if pick >= 0:
        monitor.table.selectRow(pick)
    monitor.resume()
    settle(app, 1.0)
    for toast in window.notifications.active():
        toast.dismiss()  # alerts evaluated meanwhile: they are in the log monitor's alert strip
    settle(app, 0.3)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    if not window.grab().save(str(args.output)):
        raise SystemExit(f"could not write {args.output}")
    print(f"saved {args.output}")
    window.close()
    context.close()
    window.deleteLater()
    app.processEvents()


if __name__ == "__main__":
    main()
