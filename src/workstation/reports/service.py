"""Build a report of a given kind and write it in a given format: the one entry point for CLI and GUI."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal

from sqlalchemy import Engine

from workstation.errors import InvalidInputError
from workstation.reports.document import ReportDocument
from workstation.reports.period import ReportPeriod

ReportKind = Literal["backtest", "trading", "models", "activity"]
ReportFormat = Literal["html", "pdf", "csv", "xlsx"]
REPORT_KINDS: tuple[ReportKind, ...] = ("backtest", "trading", "models", "activity")
REPORT_FORMATS: tuple[ReportFormat, ...] = ("html", "pdf", "csv", "xlsx")


def build_report(
    engine: Engine,
    kind: ReportKind,
    *,
    period: ReportPeriod | None = None,
    model_id: str | None = None,
    backtest_id: str | None = None,
    broker: str = "paper",
    timezone: str = "America/New_York",
) -> ReportDocument:
    period = period or ReportPeriod()
    builders: dict[str, Callable[[], ReportDocument]] = {
        "activity": lambda: _activity(engine, period, timezone),
        "backtest": lambda: _backtest(engine, backtest_id, timezone),
        "trading": lambda: _trading(engine, period, broker, timezone),
        "models": lambda: _models(engine, model_id, timezone),
    }
    builder = builders.get(kind)
    if builder is None:
        raise InvalidInputError(f"unknown report kind {kind!r}: choose one of {', '.join(REPORT_KINDS)}")
    return builder()


def _activity(engine: Engine, period: ReportPeriod, timezone: str) -> ReportDocument:
    from workstation.reports.activity import build_activity_report

    return build_activity_report(engine, period, timezone=timezone)


def _backtest(engine: Engine, backtest_id: str | None, timezone: str) -> ReportDocument:
    from workstation.reports.backtest import build_backtest_report

    return build_backtest_report(engine, backtest_id, timezone=timezone)


def _trading(engine: Engine, period: ReportPeriod, broker: str, timezone: str) -> ReportDocument:
    from workstation.reports.trading import build_trading_report

    return build_trading_report(engine, period, broker=broker, timezone=timezone)


def _models(engine: Engine, model_id: str | None, timezone: str) -> ReportDocument:
    from workstation.reports.models import build_models_report

    return build_models_report(engine, model_id, timezone=timezone)


def write_report(document: ReportDocument, fmt: ReportFormat, out: Path) -> list[Path]:
    """Write ``document``; returns the files written (CSV writes one file per table)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "html":
        from workstation.reports.render_html import write_html

        return [write_html(document, out)]
    if fmt == "pdf":
        from workstation.reports.render_pdf import write_pdf

        return [write_pdf(document, out)]
    if fmt == "csv":
        from workstation.reports.render_tabular import write_csv

        return write_csv(document, out)
    if fmt == "xlsx":
        from workstation.reports.render_tabular import write_xlsx

        return [write_xlsx(document, out)]
    raise InvalidInputError(f"unknown format {fmt!r}: choose one of {', '.join(REPORT_FORMATS)}")
