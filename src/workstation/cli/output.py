"""Printing helpers shared by the command groups: JSON for machines, aligned tables and questions for people."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import click

from workstation.cli.context import AppContext
from workstation.errors import RefusedError


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def echo_json(payload: Any) -> None:
    """Print the command's JSON result (one object or array; see cli.exits for errors)."""
    click.echo(json.dumps(payload, default=_default, indent=2, sort_keys=False))
    ctx = click.get_current_context(silent=True)
    app = ctx.find_object(AppContext) if ctx is not None else None
    if app is not None:
        app.result_printed = True


def confirm_or_refuse(question: str) -> None:
    """Ask before something destructive; "no" is a refusal (exit 1), Ctrl+C or end of input cancels (130)."""
    if not click.confirm(question, default=False):
        raise RefusedError("not confirmed: nothing was changed")


def echo_json_line(payload: Any) -> None:
    """One compact JSON object on one line (JSON Lines, for streams of results)."""
    click.echo(json.dumps(payload, default=_default, separators=(",", ":")))


def echo_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [[("" if v is None else str(v)) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, value in enumerate(row):
            widths[i] = max(widths[i], len(value))
    click.echo("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    click.echo("  ".join("-" * w for w in widths))
    for row in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
