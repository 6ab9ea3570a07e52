"""Open the workstation window, load the demo universe through it, and save PNGs (run by packaging/screenshot.sh).

    python3 tests/gui/screenshot.py OUT.png [--database-url URL] [--theme dark|light] [--sizes 1920x1200,1366x768]

The first size is saved as OUT.png, every other one next to it as OUT-<width>x<height>.png (the same
session, resized: the docks keep their shares of the window, so the chart stays at the centre). Then,
at the first size: OUT-bracket-ticket.png (the ticket with a bracket order class selected; skipped with
a message while the ticket offers no order classes) and OUT-explain.png (the model strategy replayed
over the held-back bars, its first order explained from the window: the Explain dialog over the
window, the chart at the order's bar; the dialog alone in OUT-explain-dialog.png).

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
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from PySide6.QtWidgets import QApplication
from screenshot_extras import bracket_ticket, explain_view
from sqlalchemy.engine import make_url

# A full-HD-class window and a laptop's; packaging/screenshot.sh's screen fits the larger.
WINDOW_SIZES = "1920x1200,1366x768"


def settle(app: QApplication, seconds: float, until: object = None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        app.processEvents()
        if until is not None and until():  # type: ignore[operator]
            return
        time.sleep(0.02)


def train_and_predict(
    app: QApplication, window: object, symbols: int = 10, held_back: int = 60
) -> tuple[str, datetime]:
    """Train a small forest from the model panel's Train dialog, as a user would, on bars up to
    ``held_back`` bars before the end, then predict the selected symbol over those later bars with the
    core's predict_range: the chart's markers are out-of-sample predictions of a real model."""
    from PySide6.QtCore import QDate
    from sqlalchemy import func, select

    from workstation.db.models import MarketData
    from workstation.ml.predict import predict_range

    context = window.context  # type: ignore[attr-defined]
    panel = window.docks["modelPanel"].widget()  # type: ignore[attr-defined]
    engine, symbol = context.engine, context.symbol
    with engine.connect() as conn:
        times = conn.scalars(
            select(MarketData.timestamp)
            .where(MarketData.symbol == symbol, MarketData.interval == "1d")
            .order_by(MarketData.timestamp.desc())
            .limit(held_back + 1)
        ).all()
        universe = conn.scalars(select(func.distinct(MarketData.symbol)).order_by(MarketData.symbol)).all()
    cutoff = times[-1]
    panel.open_train_dialog()
    settle(app, 30, lambda: panel.train_dialog is not None)
    dialog = panel.train_dialog
    dialog.model_type.setCurrentIndex(dialog.model_type.findData("random_forest"))
    dialog.set_symbols(sorted({symbol, *universe[:symbols]}))
    dialog.n_estimators.setValue(150)
    dialog.max_depth.setValue(6)
    dialog.end.setDate(QDate(cutoff.year, cutoff.month, cutoff.day))
    dialog.name.setText("demo forest, trained up to the last quarter")
    handle = dialog.train()
    if handle is None:
        raise SystemExit(f"the train dialog refused: {dialog.hint.text()}")
    settle(app, 600, lambda: handle.state != "running")
    if handle.state != "succeeded":
        raise SystemExit(f"training failed: {handle.error}")
    model_id = handle.result.model.model_id
    if handle.result.model.status != "active":
        # Registered as deprecated when it shows no skill over its baseline: predicting needs it active, as
        # for a user (`workstation models set-status ID active`); the model panel still shows its verdict.
        from workstation.ml.registry import set_status

        set_status(engine, model_id, "active")
        print(f"{model_id} was registered {handle.result.model.status} ({handle.result.result.verdict}); activated")
    predict_range(engine, model_id, symbols=[symbol], start=cutoff)
    settle(app, 10, lambda: panel.selected_model_id() == model_id)
    panel.tabs.setCurrentIndex(0)
    context.refreshRequested.emit()
    return model_id, cutoff


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("output", type=Path)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--theme", default="dark", choices=("dark", "light"))
    parser.add_argument("--sizes", default=WINDOW_SIZES, help="comma-separated WIDTHxHEIGHT, the first for OUT.png")
    args = parser.parse_args()
    sizes = [tuple(int(v) for v in size.lower().split("x")) for size in args.sizes.split(",")]
    workdir = Path(tempfile.mkdtemp(prefix="workstation-shot-"))
    os.environ["WORKSTATION_DATA_DIR"] = str(workdir)  # a fresh layout and settings, not the user's
    url = args.database_url or f"sqlite:///{workdir / 'demo.db'}"

    from workstation.gui.app import build_window, ensure_application

    app = ensure_application()
    window, _reporter = build_window(make_url(url))
    window.set_theme(args.theme)
    window.resize(*sizes[0])
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
    model_id, cutoff = train_and_predict(app, window)
    settle(app, 60, lambda: chart.view.bar_count() > 0 and not context.jobs.running_jobs())
    for toast in window.notifications.active():
        toast.dismiss()  # the picture shows the window, not the start-up messages
    chart.set_indicator("bbands", True)
    chart.set_indicator("macd", True)
    chart.view.show_last(250)
    # A price alert 3 % above the last close, placed as a user would (Alert tool, a click on the chart).
    last = chart.view.last_close()
    if last is not None:
        chart.tools.buttons["alert"].click()
        chart.tools.layer.click(chart.view.bar_count() - 1, last * 1.03)
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
    for number, (width, height) in enumerate(sizes):
        # A status line that was long for a moment (a poll before the schema existed) can have widened the
        # window beyond the requested size; the picture is taken at the size a user starts with.
        window.resize(width, height)
        settle(app, 1.0, lambda w=width, h=height: window.size().toTuple() == (w, h) and window.dock_layout.settled())
        settle(app, 0.5)
        chart._show_readout(-1)
        out = args.output if number == 0 else args.output.with_name(f"{args.output.stem}-{width}x{height}.png")
        if not window.grab().save(str(out)):
            raise SystemExit(f"could not write {out}")
        share = window.dock_layout.share("chartPanel")
        print(f"saved {out} ({width}x{height}, chart {share:.0%} of the window)")
    window.resize(*sizes[0])
    settle(app, 1.0, lambda: window.dock_layout.settled())
    bracket_ticket(app, window, args.output.with_name(f"{args.output.stem}-bracket-ticket.png"), settle)
    explain_view(
        app, window, args.output.with_name(f"{args.output.stem}-explain.png"), settle,
        url=url, model_id=model_id, start=cutoff,
    )  # fmt: skip
    window.close()
    context.close()
    window.deleteLater()
    app.processEvents()


if __name__ == "__main__":
    main()
