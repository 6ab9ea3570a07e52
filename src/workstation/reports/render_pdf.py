"""PDF through Qt's text engine (QTextDocument + QPdfWriter): no browser, no extra dependency.

Charts are the same SVG as in HTML, rasterised by QSvgRenderer and handed to the document as
image resources (QTextDocument does not draw inline SVG).
"""

from __future__ import annotations

import os
from pathlib import Path

from workstation.reports.charts import HEIGHT, WIDTH, line_chart_svg
from workstation.reports.document import LineChart, ReportDocument
from workstation.reports.pdf_pages import keep_headings_with_content
from workstation.reports.render_html import render_html

# QTextDocument understands a subset of CSS; keep the PDF plain and readable.
_PDF_CSS_NOTE = "<style>td, th { padding: 3px; } h2 { color: #1f4e79; }</style>"


def _ensure_gui_application() -> object:
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    # A QApplication (not the lighter QGuiApplication): Qt allows one application object per
    # process, and a process that renders a report may open widgets later (tests, the window).
    app = QGuiApplication.instance()
    return app if app is not None else QApplication([])


def write_pdf(document: ReportDocument, path: Path) -> Path:
    _app = _ensure_gui_application()
    from PySide6.QtCore import QByteArray, QMarginsF, QSizeF, QUrl
    from PySide6.QtGui import QImage, QPageLayout, QPageSize, QPainter, QPdfWriter, QTextDocument, QTextOption
    from PySide6.QtSvg import QSvgRenderer

    images: dict[str, QImage] = {}

    def chart_html(chart: LineChart, index: int) -> str:
        name = f"chart{index}.png"
        scale = 2  # rasterise at twice the size so print stays sharp
        image = QImage(WIDTH * scale, HEIGHT * scale, QImage.Format.Format_ARGB32)
        image.fill(0xFFFFFFFF)
        painter = QPainter(image)
        QSvgRenderer(QByteArray(line_chart_svg(chart).encode("utf-8"))).render(painter)
        painter.end()
        images[name] = image
        return f'<p><img src="{name}" width="{WIDTH * 0.7:.0f}" height="{HEIGHT * 0.7:.0f}"></p>'

    html = render_html(document, chart_html=chart_html).replace("</head>", _PDF_CSS_NOTE + "</head>", 1)
    text_document = QTextDocument()
    # Wrap at spaces only: Qt's default also breaks inside a word ("Directi-on") to squeeze a column.
    option = text_document.defaultTextOption()
    option.setWrapMode(QTextOption.WrapMode.WordWrap)
    text_document.setDefaultTextOption(option)
    for name, image in images.items():
        text_document.addResource(QTextDocument.ResourceType.ImageResource, QUrl(name), image)
    text_document.setHtml(html)

    writer = QPdfWriter(str(path))
    writer.setTitle(document.title)
    writer.setCreator("workstation")
    writer.setResolution(96)
    writer.setPageLayout(
        QPageLayout(QPageSize(QPageSize.PageSizeId.A4), QPageLayout.Orientation.Landscape, QMarginsF(12, 12, 12, 12))
    )
    page = writer.pageLayout().paintRectPixels(writer.resolution())
    text_document.setPageSize(QSizeF(page.width(), page.height()))
    keep_headings_with_content(text_document)
    text_document.print_(writer)
    return path
