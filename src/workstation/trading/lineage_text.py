"""An explanation as readable lines, from the fills back to the origin (the CLI and the window's text).

Times are stored in UTC and shown here in exchange time (New York) with the zone's abbreviation, or in
the zone the caller passes; a daily bar is shown as its session date.
"""

from __future__ import annotations

from datetime import UTC, tzinfo
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from workstation.trading.lineage import Explanation
from workstation.trading.lineage_links import parse_time

EXCHANGE_ZONE = ZoneInfo("America/New_York")
DAILY_UNITS = ("d", "day", "wk", "w", "week", "mo", "month")


def when(value: object, zone: tzinfo = EXCHANGE_ZONE) -> str:
    moment = parse_time(value)
    if moment is None:
        return "—"
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    local = aware.astimezone(zone)
    return f"{local:%Y-%m-%d %H:%M:%S} {local.tzname()}"


def bar_when(value: object, interval: str | None, zone: tzinfo = EXCHANGE_ZONE) -> str:
    moment = parse_time(value)
    if moment is None:
        return "—"
    if interval and interval.lstrip("0123456789").lower() in DAILY_UNITS:
        aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
        return aware.astimezone(EXCHANGE_ZONE).date().isoformat()
    return when(moment, zone)


def number(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.6g}"
    try:
        d = Decimal(str(value))
    except Exception:
        return str(value)
    return format(d.normalize(), "f")


def order_lines(e: Explanation, zone: tzinfo) -> list[str]:
    o = e.order
    price = f" {number(o.get('limit_price'))}" if o.get("limit_price") is not None else ""
    where = f"backtest run {o['run_id']}" if o.get("run_id") else f"{o.get('broker')}"
    lines = [
        f"Order {o['order_id']}",
        f"  {where}; broker id {o.get('broker_order_id') or '—'}",
        f"  {str(o['side']).upper()} {number(o['quantity'])} {o['symbol']} {o['order_type']}{price}, "
        f"{o.get('time_in_force') or ''} — {o['status']}"
        + (f" ({o['status_reason']})" if o.get("status_reason") else "")
        + (f"; filled {number(o.get('filled_quantity'))} @ {number(o.get('average_fill_price'))}"
           if o.get("average_fill_price") is not None else ""),
        f"  strategy {o.get('strategy') or 'manual'}" + (f", model {o['model_id']}" if o.get("model_id") else ""),
        "  state changes:",
    ]  # fmt: skip
    for change in o.get("state_changes") or []:
        status = f" → {change['status']}" if change.get("status") else ""
        meta = change.get("metadata") or {}
        reason = f"  ({meta['reason']})" if meta.get("reason") else ""
        lines.append(f"    {when(change.get('timestamp'), zone)}  {change['event_type']}{status}{reason}")
    return lines


def fill_lines(e: Explanation, zone: tzinfo) -> list[str]:
    if not e.fills:
        return ["Fills: none"]
    lines = [f"Fills ({len(e.fills)}):"]
    for f in e.fills:
        lines.append(
            f"  {when(f.get('timestamp'), zone)}  {number(f.get('quantity'))} @ {number(f.get('price'))}  "
            f"commission {number(f.get('commission'))}  ({f.get('fill_id') or '—'})"
        )
    return lines


def risk_lines(risk: dict[str, Any] | None) -> list[str]:
    if not risk:
        return ["Risk: not recorded"]
    outcome = str(risk.get("outcome", "?"))
    lines = [f"Risk: {outcome}" + (f" by {risk['rule']}: {risk['reason']}" if risk.get("rule") else "")]
    if risk.get("rules_checked") is not None:
        lines.append(f"  rules checked: {', '.join(risk['rules_checked']) or 'none (no limits set)'}")
    inputs = risk.get("inputs") or {}
    if inputs:
        lines.append("  inputs:")
        lines += [
            f"    {k.replace('_', ' ')} {number(v) if k != 'at' else when(v)}"
            for k, v in inputs.items()
            if v is not None
        ]
    limits = risk.get("limits") or {}
    lines.append("  limits: " + (", ".join(f"{k} {v}" for k, v in limits.items()) if limits else "none set"))
    return lines


def signal_lines(signal: dict[str, Any] | None, zone: tzinfo) -> list[str]:
    if signal is None:
        return ["Signal: none (not a strategy order)"]
    at = bar_when(signal.get("bar"), signal.get("interval"), zone)
    if signal.get("kind") == "sma_cross":
        return [
            f"Signal: {signal.get('strategy')} cross {signal.get('cross')} on the {at} bar: "
            f"SMA({signal.get('fast')}) {number(signal.get('sma_fast'))} vs SMA({signal.get('slow')}) "
            f"{number(signal.get('sma_slow'))}, close {number(signal.get('close'))}"
        ]
    return [
        f"Signal: {signal.get('strategy') or 'model'} on the {at} bar ({signal.get('interval') or '?'}): "
        f"{signal.get('prediction_type') or 'prediction'} {number(signal.get('prediction_value'))}, "
        f"confidence {number(signal.get('confidence'))}"
    ]


def prediction_lines(p: dict[str, Any] | None, zone: tzinfo, all_inputs: str = "--json lists them all") -> list[str]:
    if p is None:
        return ["Prediction: none"]
    lines = [
        f"Prediction {p['prediction_id']}",
        f"  model {p['model_id']} version {p.get('model_version') or '?'} ({p.get('model_type') or '?'}, "
        f"{p.get('model_status') or '?'}), made at {when(p.get('timestamp'), zone)}",
        f"  {p.get('prediction_type')} {number(p.get('prediction_value'))}, confidence {number(p.get('confidence'))}",
        f"  input vector: {len(p.get('input_vector') or {})} values ({all_inputs})",
    ]
    standout = p.get("standout_features") or []
    if standout and any(s.get("percentile") is not None for s in standout):
        lines.append("  stood out against the training data:")
        for s in standout:
            pct = "—" if s.get("percentile") is None else f"{s['percentile']:.1f}th percentile"
            lines.append(f"    {s['feature']} = {number(s['value'])}  ({pct}; median {number(s.get('median'))})")
    elif standout:
        lines.append("  no training statistics stored for this model: inputs shown without percentiles")
        for s in standout:
            lines.append(f"    {s['feature']} = {number(s['value'])}")
    return lines


def bar_lines(bars: list[dict[str, Any]] | None, zone: tzinfo) -> list[str]:
    if not bars:
        return ["Bars: none (no bar drove this order)"]
    lines = ["Bars:"]
    for b in bars:
        ohlc = (
            f"O {number(b.get('open'))} H {number(b.get('high'))} L {number(b.get('low'))} C {number(b.get('close'))} "
            f"V {number(b.get('volume'))}"
            if b.get("close") is not None
            else "(not in market_data)"
        )
        lines.append(
            f"  {b.get('role')}: {b.get('symbol')} {b.get('interval') or '?'} "
            f"{bar_when(b.get('timestamp'), b.get('interval'), zone)}  {ohlc}"
        )
    return lines


def origin_lines(origin: dict[str, Any] | None, zone: tzinfo) -> list[str]:
    if origin is None:
        return ["Origin: not recorded"]
    kind = origin.get("kind")
    if kind == "click":
        return [f"Origin: click {origin.get('action')!r} in the window at {when(origin.get('timestamp'), zone)}"
                + (f" by {origin['user_id']}" if origin.get("user_id") else "")]  # fmt: skip
    if kind == "command":
        return [f"Origin: command line at {when(origin.get('timestamp'), zone)}: {origin.get('command_line')}"]
    lines = [
        f"Origin: the {origin.get('symbol')} {origin.get('interval') or ''} bar of "
        f"{bar_when(origin.get('timestamp'), origin.get('interval'), zone)} "
        f"({origin.get('strategy') or 'strategy'}"
        + (f", model {origin['model_id']})" if origin.get("model_id") else ")")
    ]
    started = origin.get("run_started_by")
    if origin.get("run_id"):
        how = f": {started.get('command_line') or started.get('action')}" if started else ""
        lines.append(f"  in backtest run {origin['run_id']}{how}")
    return lines


def explanation_lines(e: Explanation, zone: tzinfo = EXCHANGE_ZONE) -> list[str]:
    """The chain, fills first, origin last."""
    sections = [
        fill_lines(e, zone),
        order_lines(e, zone),
        risk_lines(e.risk),
        signal_lines(e.signal, zone),
        prediction_lines(e.prediction, zone),
        bar_lines(e.bars, zone),
        origin_lines(e.origin, zone),
    ]
    out: list[str] = []
    for section in sections:
        out.extend(section)
    return out
