"""Export from the backtest panel through the report service: a run (backtest report) or a sweep (sweep report).

The document is built in a job; HTML, CSV and XLSX are written there too, a PDF on the GUI thread
(Qt's text engine must not run on a worker thread), as the File → Export report dialog does.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from PySide6.QtCore import QStandardPaths
from PySide6.QtWidgets import QFileDialog, QWidget

from workstation.errors import WorkstationError
from workstation.gui.context import WorkstationContext
from workstation.gui.workers import JobHandle
from workstation.jobs import CancelToken, ProgressCallback, ProgressUpdate
from workstation.reports.document import ReportDocument

FILTERS = {
    "html": "HTML files (*.html)",
    "pdf": "PDF files (*.pdf)",
    "csv": "CSV files (*.csv)",
    "xlsx": "Excel workbooks (*.xlsx)",
}
Done = Callable[[list[Path] | None, str | None], None]  # written files, or an error message


def suggested_path(name: str, fmt: str) -> str:
    folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation) or str(Path.home())
    return str(Path(folder) / f"{name}-{date.today().isoformat()}.{fmt}")


def ask_path(parent: QWidget, name: str, fmt: str) -> Path | None:
    path, _ = QFileDialog.getSaveFileName(parent, "Export report as", suggested_path(name, fmt), FILTERS[fmt])
    if not path:
        return None
    return Path(path if Path(path).suffix else f"{path}.{fmt}")


def export_document(
    context: WorkstationContext, label: str, build: Callable[[], ReportDocument], fmt: str, out: Path, done: Done
) -> JobHandle:
    def job(progress: ProgressCallback, cancel: CancelToken) -> tuple[ReportDocument, list[Path]]:
        from workstation.reports.service import write_report

        progress(ProgressUpdate(0, 2, "building the report"))
        document = build()
        cancel.raise_if_cancelled()
        if fmt == "pdf":
            return document, []
        progress(ProgressUpdate(1, 2, f"writing {fmt.upper()}"))
        return document, write_report(document, fmt, out)  # type: ignore[arg-type]

    def built(result: Any) -> None:
        document, written = result
        if fmt == "pdf":
            from workstation.reports.service import write_report

            try:
                written = write_report(document, "pdf", out)
            except (OSError, WorkstationError) as exc:
                done(None, str(exc))
                return
        context.notify.emit("info", f"Report written: {', '.join(str(p) for p in written)}")
        done(list(written), None)

    handle = context.jobs.submit(label, job, on_success=built)
    handle.failed.connect(lambda message: done(None, message))
    return handle
