"""PySide6 6.12.0 aborts Python 3.11 (``none_dealloc``) after a few thousand QPainter calls that return
None. We pin 6.11.3; this test makes 20,000 such calls offscreen in a subprocess and expects it to live."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.gui

_SCRIPT = textwrap.dedent(
    """
    import os
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QLineF, Qt
    from PySide6.QtGui import QBrush, QColor, QGuiApplication, QImage, QPainter, QPen
    app = QGuiApplication([])
    image = QImage(400, 300, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    brushes = [QBrush(QColor(c)) for c in ("red", "green", "blue")]
    calls = 0
    for i in range(10_000):
        painter.setBrush(brushes[i % 3])          # returns None
        painter.drawLine(QLineF(0, i % 300, 400, (i * 7) % 300))  # returns None
        calls += 2
    painter.setPen(QPen(Qt.GlobalColor.black))
    painter.end()
    print("calls", calls)
    """
)


def test_twenty_thousand_qpainter_calls_survive() -> None:
    import PySide6

    assert PySide6.__version__.startswith("6.11."), "PySide6 must stay below 6.12 (see pyproject.toml)"
    result = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "calls 20000" in result.stdout
