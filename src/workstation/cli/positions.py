"""``workstation positions``: open positions, and with --compare-broker the book next to the broker.

The book's positions come from the fills in the database; the broker's from the broker (for the
paper broker they are the same fills). ``--compare-broker`` prints both per symbol and exits 1 when
they differ anywhere (an order placed outside the workstation, a fill the book has not seen yet).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import click

from workstation.cli.orders import BROKERS, open_cli_session
from workstation.cli.output import echo_json, echo_table
from workstation.errors import RefusedError
from workstation.monitoring.correlation import correlation_scope


def _rows(positions: list[Any]) -> list[tuple[Any, ...]]:
    return [
        (p.symbol, p.quantity, p.average_price, p.last_price or "", f"{p.market_value:.2f}", f"{p.unrealised_pnl:.2f}",
         f"{p.realised_pnl:.2f}", f"{p.commission:.2f}")
        for p in positions
    ]  # fmt: skip


def compare(book: dict[str, Decimal], broker: dict[str, Decimal]) -> list[dict[str, Any]]:
    """Per symbol: the book's and the broker's quantity and whether they agree."""
    rows = []
    for symbol in sorted(set(book) | set(broker)):
        ours, theirs = book.get(symbol, Decimal(0)), broker.get(symbol, Decimal(0))
        rows.append({"symbol": symbol, "book": ours, "broker": theirs, "difference": theirs - ours})
    return rows


@click.group("positions", invoke_without_command=True)
@click.option("--broker", type=BROKERS, default="paper", show_default=True)
@click.option("--live", is_flag=True)
@click.option(
    "--compare-broker", is_flag=True, help="The book's positions next to the broker's; exit 1 if they differ."
)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def command(ctx: click.Context, broker: str, live: bool, compare_broker: bool, as_json: bool) -> None:
    """Open positions with average price and P&L, marked to the last price."""
    if ctx.invoked_subcommand is not None:
        return
    with correlation_scope(prefix="cli"):
        session = open_cli_session(broker, live, reconcile=compare_broker)
        try:
            # The broker's view: for paper it is derived from the fills; Alpaca also knows positions
            # opened outside the workstation.
            positions = session.broker.positions()
            book = session.manager.positions() if compare_broker else None
        finally:
            session.close()
    if book is None:
        if as_json:
            echo_json([p.as_dict() for p in positions])
            return
        echo_table(("symbol", "qty", "avg price", "last", "value", "unrealised", "realised", "commission"),
                   _rows(positions))  # fmt: skip
        return
    rows = compare(
        {p.symbol: p.quantity for p in book.open_positions()}, {p.symbol: p.quantity for p in positions if p.quantity}
    )
    differing = [r for r in rows if r["difference"] != 0]
    if as_json:
        echo_json({"broker": broker, "positions": rows, "differences": len(differing)})
    else:
        table = [(r["symbol"], r["book"], r["broker"], r["difference"] if r["difference"] else "") for r in rows]
        echo_table(("symbol", "book", broker, "difference"), table)
        click.echo("book and broker agree" if not differing else f"{len(differing)} symbol(s) differ")
    if differing:
        names = ", ".join(r["symbol"] for r in differing[:10])
        raise RefusedError(f"the book and {broker} disagree on {len(differing)} position(s): {names}")


def _closed(orders: list[Any], errors: list[str], as_json: bool) -> None:
    if as_json:
        echo_json({"orders": [o.as_dict() for o in orders], "errors": errors})
    else:
        for order in orders:
            price = f" at {order.average_fill_price}" if order.average_fill_price is not None else ""
            click.echo(f"{order.symbol}: {order.side} {order.quantity} {order.status}{price} ({order.order_id})")
        for error in errors:
            click.echo(f"error: {error}", err=True)
    rejected = [o for o in orders if o.status == "rejected"]
    if errors or rejected:
        first = errors[0] if errors else f"{rejected[0].symbol}: {rejected[0].status_reason}"
        raise RefusedError(f"{len(errors) + len(rejected)} position(s) not closed: {first}")


@command.command("close")
@click.argument("symbol")
@click.option("--broker", type=BROKERS, default="paper", show_default=True)
@click.option("--live", is_flag=True)
@click.option("--json", "as_json", is_flag=True)
def close_cmd(symbol: str, broker: str, live: bool, as_json: bool) -> None:
    """Close one position: cancel the symbol's open orders, then sell (or buy back) it all at market."""
    from workstation.trading.bounds import normalise_symbol

    symbol = normalise_symbol(symbol)
    with correlation_scope(prefix="cli"):
        session = open_cli_session(broker, live)
        try:
            order = session.manager.close_position(symbol)
        finally:
            session.close()
    _closed([order], [], as_json)


@command.command("close-all")
@click.option("--broker", type=BROKERS, default="paper", show_default=True)
@click.option("--live", is_flag=True)
@click.option("--json", "as_json", is_flag=True)
def close_all_cmd(broker: str, live: bool, as_json: bool) -> None:
    """Close every open position at market (each symbol's open orders cancelled first). Exit 1 if any fails."""
    with correlation_scope(prefix="cli"):
        session = open_cli_session(broker, live)
        try:
            orders, errors = session.manager.close_all_positions()
        finally:
            session.close()
    if not orders and not errors and not as_json:
        click.echo("no open positions")
        return
    _closed(orders, errors, as_json)
