"""Numbers and times formatted for people: thousands separators, percentages, an explicit time zone."""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from workstation.reports.document import ColumnFormat


def format_value(value: Any, fmt: ColumnFormat, *, decimals: int = 2, tz: str = "UTC") -> str:
    if value is None:
        return ""
    if isinstance(value, float) and not math.isfinite(value):
        return "∞" if value > 0 else ("-∞" if value < 0 else "")
    if fmt == "int":
        return f"{int(value):,}"
    if fmt == "number":
        return f"{float(value):,.{decimals}f}"
    if fmt == "money":
        amount = Decimal(str(value)) if not isinstance(value, Decimal) else value
        sign = "-" if amount < 0 else ""
        return f"{sign}${abs(amount):,.{decimals}f}"
    if fmt == "percent":
        text = f"{float(value) * 100:,.{decimals}f}%"
        return text[1:] if text.startswith("-") and not text.strip("-0.,%") else text  # no "-0.0%"
    if fmt == "datetime" and isinstance(value, datetime):
        local = value.astimezone(ZoneInfo(tz)) if value.tzinfo else value
        return local.strftime("%Y-%m-%d %H:%M")
    if fmt in ("date", "datetime") and isinstance(value, date | datetime):
        if isinstance(value, datetime) and value.tzinfo:
            value = value.astimezone(ZoneInfo(tz))
        return str(value.strftime("%Y-%m-%d"))
    return str(value)
