"""The trading report: what the account actually did (paper or Alpaca) over a period.

Equity is rebuilt day by day from the stored fills and the daily closes in market_data: cash from
the fills, positions marked at each day's close. For the paper account the starting cash is known;
for Alpaca it is not stored here, so the report shows profit and loss instead of account value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import cast
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Engine

from workstation.market.bars import load_bars
from workstation.reports.backtest import FILL_COLUMNS, POSITION_COLUMNS, TRADE_COLUMNS
from workstation.reports.document import Block, ColumnFormat, KeyValues, Paragraph, ReportDocument, Section, Table
from workstation.reports.holdings import replay, trade_rows
from workstation.reports.performance import drawdown, performance_blocks
from workstation.reports.period import ReportPeriod
from workstation.trading.backtest.metrics import trades_from_fills
from workstation.trading.domain import Fill
from workstation.trading.positions import PositionBook, cash_from_fills
from workstation.trading.repository import SqlOrderStore

MARKET_TZ = ZoneInfo("America/New_York")


def _daily_closes(engine: Engine, symbols: Sequence[str]) -> pd.DataFrame:
    """Close per New York trading date (rows) and symbol (columns)."""
    columns = {}
    for symbol in symbols:
        bars = load_bars(engine, symbol, "1d")
        if bars.empty:
            continue
        dates = pd.DatetimeIndex(bars.index).tz_convert(MARKET_TZ).date
        columns[symbol] = pd.Series(bars["close"].to_numpy(), index=pd.Index(dates))
    return pd.DataFrame(columns).sort_index()


def equity_curve(fills: Sequence[Fill], closes: pd.DataFrame, starting_cash: Decimal) -> pd.Series:
    """Cash plus positions marked at each day's close, from the first fill's day on."""
    if not fills or closes.empty:
        return pd.Series(dtype="float64")
    ordered = sorted(fills, key=lambda f: f.timestamp)
    first_day = ordered[0].timestamp.astimezone(MARKET_TZ).date()
    book, applied, values, stamps = PositionBook(), 0, [], []
    last_known: dict[str, float] = {}
    for day_key, row in closes.loc[closes.index >= first_day].iterrows():
        day = cast(date, day_key)
        while applied < len(ordered) and ordered[applied].timestamp.astimezone(MARKET_TZ).date() <= day:
            book.apply_fill(ordered[applied])
            applied += 1
        last_known.update({str(s): float(v) for s, v in row.items() if pd.notna(v)})
        cash = cash_from_fills(starting_cash, ordered[:applied])
        held = sum(float(p.quantity) * last_known.get(p.symbol, float(p.average_price)) for p in book.open_positions())
        values.append(float(cash) + held)
        stamps.append(datetime.combine(day, datetime.min.time(), tzinfo=MARKET_TZ).astimezone(UTC))
    return pd.Series(values, index=pd.DatetimeIndex(stamps), name="equity")


def build_trading_report(
    engine: Engine, period: ReportPeriod, *, broker: str = "paper", timezone: str = "UTC"
) -> ReportDocument:
    store = SqlOrderStore(engine)
    all_fills = store.fills(broker=broker)
    fills = [f for f in all_fills if period.end_before is None or f.timestamp < period.end_before]
    in_period = [f for f in fills if period.contains(f.timestamp)]
    symbols = sorted({f.symbol for f in fills})
    closes = _daily_closes(engine, symbols)
    if broker == "paper":
        from workstation.trading.paper_account import starting_cash

        base, pnl_only = starting_cash(engine), False
    else:
        base, pnl_only = Decimal(0), True
    equity = equity_curve(fills, closes, base)
    if period.start_at is not None and not equity.empty:
        equity = equity[equity.index >= period.start_at]
    last_close = {s: Decimal(str(closes[s].dropna().iloc[-1])) for s in closes.columns if closes[s].notna().any()}
    last_time = {f.symbol: f.timestamp for f in fills}
    ordered = sorted(fills, key=lambda f: f.timestamp)
    trades = trade_rows(
        [asdict(t) for t in trades_from_fills(ordered, last_close, last_time)],
        replay(f.as_dict() for f in ordered),
    )
    book = PositionBook()
    for fill in sorted(fills, key=lambda f: f.timestamp):
        book.apply_fill(fill)
    book.mark(last_close)
    positions = [
        {"symbol": p.symbol, "quantity": p.quantity, "average_price": p.average_price, "mark": p.last_price,
         "unrealised_pnl": p.unrealised_pnl} for p in book.open_positions()
    ]  # fmt: skip
    orders = [o for o in store.orders(broker=broker) if period.contains(o.created_at)]
    open_positions = book.open_positions()
    items: list[tuple[str, object, ColumnFormat]] = [
        ("Orders", len(orders), "int"),
        ("Rejected orders", sum(o.status == "rejected" for o in orders), "int"),
        ("Fills", len(in_period), "int"),
        ("Traded value", sum((f.quantity * f.price for f in in_period), Decimal(0)), "money"),
        ("Commission", sum((f.commission for f in in_period), Decimal(0)), "money"),
        ("Realised P&L (all time, before commission)", book.realised_pnl, "money"),
        ("Unrealised P&L at the last close", sum((p.unrealised_pnl for p in open_positions), Decimal(0)), "money"),
    ]
    if not pnl_only and not equity.empty:
        items += [
            ("Starting cash", base, "money"),
            ("Equity at the end", equity.iloc[-1], "money"),
            ("Return over the period", equity.iloc[-1] / equity.iloc[0] - 1, "percent"),
            ("Max drawdown", -float(drawdown(equity).min()), "percent"),
        ]
    performance: list[Block]
    if equity.empty:
        performance = [Paragraph("No fills with stored daily closes in this period.")]
    elif pnl_only:
        performance = [Paragraph("Alpaca account: starting cash is not stored here, so the curve is profit and loss.")]
        performance += performance_blocks(equity, title="Cumulative P&L")[:1]
    else:
        performance = performance_blocks(equity)
    sections = [
        Section("Summary", [KeyValues("Metrics", items)]),
        Section("Performance", performance),
        Section("Trades", [Table("trades", "Round trips", TRADE_COLUMNS, trades)]),
        Section(
            "Fills",
            [
                Table(
                    "fills",
                    "Fills with commissions",
                    FILL_COLUMNS,
                    [f.as_dict() for f in sorted(in_period, key=lambda f: f.timestamp)],
                )
            ],
        ),
        Section("Positions at the end", [Table("positions", "Open positions", POSITION_COLUMNS, positions)]),
    ]
    return ReportDocument(
        kind="trading",
        title=f"Trading report: {broker} account",
        subtitle=period.describe(),
        generated_at=datetime.now(UTC),
        timezone=timezone,
        sections=sections,
    )
