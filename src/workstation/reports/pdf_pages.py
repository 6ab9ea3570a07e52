"""Page breaks a printed report needs and Qt's text layout does not make by itself.

QTextDocument paginates by moving whatever does not fit to the next page, line by line: a heading can be
the last thing on a page with its table or chart on the next. Qt has no "keep with next", so after the
layout each run of headings is checked against the first line of what it introduces (for a table: its
header and first rows) and moved to the next page, with a page break before it, when they would part.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6.QtGui import QTextBlock, QTextDocument

# A heading takes at least this many rows of its table along (or all of a shorter table).
BODY_ROWS_KEPT = 3


def _line_span(document: QTextDocument, block: QTextBlock) -> tuple[float, float]:
    """Top and bottom of a block's first line in document coordinates (after Qt moved it to its page)."""
    rect = document.documentLayout().blockBoundingRect(block)
    layout = block.layout()
    if layout is None or layout.lineCount() == 0:
        return rect.top(), rect.bottom()
    line = layout.lineAt(0)
    top = rect.top() + line.y()
    return top, top + line.height()


def _content_bottom(document: QTextDocument, block: QTextBlock) -> float:
    """Where the first unit of content after a heading ends: a line, or a table's header and first row."""
    from PySide6.QtGui import QTextCursor

    table = QTextCursor(block).currentTable()
    if table is None:
        return _line_span(document, block)[1]
    row = min(table.format().headerRowCount() + BODY_ROWS_KEPT - 1, table.rows() - 1)
    return max(
        _line_span(document, table.cellAt(row, column).firstCursorPosition().block())[1]
        for column in range(table.columns())
    )


def _is_plain_text(block: QTextBlock) -> bool:
    """A paragraph of text: not a heading, not in a table, no image (an image is an object character)."""
    from PySide6.QtGui import QTextCursor

    text = block.text()
    return (
        not block.blockFormat().headingLevel()
        and QTextCursor(block).currentTable() is None
        and "\ufffc" not in text
        and bool(text.strip())
    )


def _skip_empty(block: QTextBlock) -> QTextBlock:
    """Past the empty blocks Qt leaves between frames."""
    from PySide6.QtGui import QTextCursor

    while block.isValid() and not block.text().strip() and QTextCursor(block).currentTable() is None:
        block = block.next()
    return block


def _lead_end(start: QTextBlock) -> QTextBlock:
    """The last block of a lead: the headings, and the paragraphs between them (a section's heading, its
    introduction and the title of its first table travel together)."""
    last = start
    probe = _skip_empty(start.next())
    while probe.isValid() and (probe.blockFormat().headingLevel() or _is_plain_text(probe)):
        if probe.blockFormat().headingLevel():
            last = probe
        probe = _skip_empty(probe.next())
    return last


def _parts(document: QTextDocument, first: QTextBlock, content: QTextBlock, page_height: float) -> bool:
    top = _line_span(document, first)[0]
    bottom = _content_bottom(document, content)
    return int(top // page_height) != int((bottom - 0.5) // page_height)


def _break_before(document: QTextDocument, block: QTextBlock) -> None:
    from PySide6.QtGui import QTextCursor, QTextFormat

    block_format = block.blockFormat()
    block_format.setPageBreakPolicy(QTextFormat.PageBreakFlag.PageBreak_AlwaysBefore)
    QTextCursor(block).setBlockFormat(block_format)
    document.pageCount()  # the layout is lazy and partial after an edit: finish it before measuring on


def keep_headings_with_content(document: QTextDocument) -> int:
    """Put a page break before every lead that would be parted from what it introduces (a table's header
    and first row, a chart, a paragraph's first line); returns how many breaks were added."""
    page_height = document.pageSize().height()
    document.pageCount()  # lays the whole document out
    added = 0
    block = document.begin()
    while block.isValid():
        if not block.blockFormat().headingLevel():
            block = block.next()
            continue
        last = _lead_end(block)
        content = _skip_empty(last.next())
        if not content.isValid():
            break
        if _parts(document, block, content, page_height):
            # A lead taller than a third of a page is not moved whole: only its last heading keeps company.
            lead_top = _line_span(document, block)[0]
            first = block if _line_span(document, last)[1] - lead_top < page_height / 3 else last
            while not first.blockFormat().headingLevel():
                first = first.previous()
            if first.position() > 0 and _parts(document, first, content, page_height):
                _break_before(document, first)
                added += 1
        block = last.next()
    return added
