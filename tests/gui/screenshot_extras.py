"""The screenshot script's extra pictures: a bracket order in the ticket, and the Explain view.

Both are produced the way a user gets there: the ticket's own order-class control, and a model
strategy replayed over the held-back bars (``workstation trade run --replay``, a subprocess on the
window's database) whose first order is explained from the window, with the chart jumping to its bar.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from PySide6.QtCore import QPoint
from PySide6.QtGui import QColor, QPainter, QPixmap
from PySide6.QtWidgets import QApplication

Settle = Callable[..., None]


def bracket_ticket(app: QApplication, window: Any, out: Path, settle: Settle) -> bool:
    """Select a bracket order class in the ticket and save the ticket; False (with a message) when the
    ticket offers no order classes."""
    ticket = window.docks["orderTicketPanel"].widget()
    combo = getattr(ticket, "order_class", None)
    if combo is None or not hasattr(combo, "findText"):
        print("skipped the bracket ticket picture: the ticket offers no order class (order_class) yet")
        return False
    index = next(
        (i for i in range(combo.count()) if "bracket" in f"{combo.itemText(i)} {combo.itemData(i)}".lower()), -1
    )
    if index < 0:
        print("skipped the bracket ticket picture: the ticket's order classes include no bracket")
        return False
    ticket.set_side("buy")
    ticket.quantity.setValue(10)
    combo.setCurrentIndex(index)
    dock = window.docks["orderTicketPanel"]
    dock.raise_()
    settle(app, 5, lambda: ticket._last is not None)
    settle(app, 1.0)
    if not dock.grab().save(str(out)):
        raise SystemExit(f"could not write {out}")
    print(f"saved {out} (the ticket with a bracket order: {combo.currentText()})")
    return True


def _replay_orders(url: str, model_id: str, symbol: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Replay the model's stored predictions through the strategy: the orders it placed (a subprocess,
    what a user runs in a terminal)."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    args = [
        sys.executable, "-m", "workstation", "--database-url", url, "trade", "run", "--model-id", model_id,
        "--symbols", symbol, "--qty", "10", "--threshold", "0.5", "--exit-threshold", "0.5",
        "--replay", f"{start:%Y-%m-%d}", f"{end + timedelta(days=1):%Y-%m-%d}", "--json",
    ]  # fmt: skip
    done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=600)
    if done.returncode != 0:
        raise SystemExit(f"the replay failed: {done.stderr.strip()}")
    chunks = done.stdout.strip().replace("}\n{", "}\x00{").split("\x00") if done.stdout.strip() else []
    return [order for chunk in chunks for order in json.loads(chunk).get("orders", [])]


def explain_view(
    app: QApplication, window: Any, out: Path, settle: Settle, *, url: str, model_id: str, start: datetime
) -> str:
    """Explain the replay's first order from the window; save the window with the dialog over it."""
    from workstation.gui.panels.explain import ExplainDialog, open_explanation

    context = window.context
    symbol = context.symbol
    started = time.monotonic()
    orders = _replay_orders(url, model_id, symbol, start, datetime.now())
    if not orders:
        raise SystemExit(f"the replay of {model_id} on {symbol} placed no order: nothing to explain")
    order_id = str(orders[0]["order_id"])
    print(f"replayed {model_id} on {symbol}: {len(orders)} orders in {time.monotonic() - started:.1f} s")
    chart = window.docks["chartPanel"].widget()
    chart.focused_bars = None
    context.refreshRequested.emit()  # the replay's fills appear as chart markers
    settle(app, 30, lambda: not context.jobs.running_jobs())
    dialog = context.perform("screenshot/explain", lambda: open_explanation(context, order_id, window))
    assert isinstance(dialog, ExplainDialog)
    settle(app, 30, lambda: dialog.explanation is not None and chart.focused_bars is not None)
    if dialog.explanation is None:
        raise SystemExit(f"could not explain {order_id}: {dialog.summary.text()}")
    settle(app, 30, lambda: not context.jobs.running_jobs())
    settle(app, 1.0)
    base = window.grab()
    panel = dialog.grab()
    picture = QPixmap(base.size())
    picture.fill(QColor("#000000"))
    painter = QPainter(picture)
    painter.drawPixmap(0, 0, base)
    # The dialog over the watchlist side (a separate top-level window on a desktop), the chart's centre,
    # where the explained bar is, left in view.
    at = QPoint(24, 70)
    painter.fillRect(at.x() - 2, at.y() - 2, panel.width() + 4, panel.height() + 4, QColor("#5a5a5a"))
    painter.drawPixmap(at, panel)
    painter.end()
    if not picture.save(str(out)):
        raise SystemExit(f"could not write {out}")
    dialog.grab().save(str(out.with_name(out.stem + "-dialog.png")))
    dialog.close()
    print(f"saved {out} (explaining {order_id}; chart focused on bars {chart.focused_bars})")
    return order_id
