"""``workstation orders``: place, list, cancel and reconcile orders (paper or Alpaca)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import click

from workstation.cli.context import app_context
from workstation.cli.output import echo_json, echo_table
from workstation.errors import WorkstationError
from workstation.monitoring.correlation import correlation_scope

BROKERS = click.Choice(["paper", "alpaca"])
LIVE_CONFIRMATION = "LIVE"


def confirm_live(live: bool) -> None:
    """Live trading needs --live plus the typed word LIVE; anything else aborts."""
    if not live:
        return
    typed = click.prompt(
        f"This sends orders to your LIVE Alpaca account with real money. Type {LIVE_CONFIRMATION} to continue",
        default="",
        show_default=False,
        err=True,
    )
    if typed.strip() != LIVE_CONFIRMATION:
        raise WorkstationError("live trading not confirmed; nothing was sent", exit_code=2)


def open_cli_session(broker: str, live: bool = False) -> Any:
    from workstation.trading.session import open_session

    confirm_live(live)
    return open_session(app_context().engine, broker, live=live)


def parse_decimal(value: str | None, name: str) -> Decimal | None:
    if value is None:
        return None
    try:
        result = Decimal(value)
    except InvalidOperation:
        raise WorkstationError(f"{name} must be a number, got {value!r}", exit_code=2) from None
    if not result.is_finite() or result <= 0:
        raise WorkstationError(f"{name} must be positive, got {value!r}", exit_code=2)
    return result


def order_rows(orders: list[Any]) -> list[tuple[Any, ...]]:
    return [
        (
            o.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            o.order_id,
            o.broker,
            o.symbol,
            o.side,
            o.quantity,
            o.order_type,
            o.limit_price or "",
            o.status,
            o.filled_quantity,
            o.average_fill_price or "",
            o.status_reason or "",
        )
        for o in orders
    ]


ORDER_HEADERS = ("created (UTC)", "order id", "broker", "symbol", "side", "qty", "type", "limit", "status", "filled",
                 "avg price", "reason")  # fmt: skip


@click.group("orders")
def command() -> None:
    """Place, list, cancel and reconcile orders."""


@command.command("submit")
@click.option("--broker", type=BROKERS, default="paper", show_default=True)
@click.option("--symbol", required=True)
@click.option("--side", type=click.Choice(["buy", "sell"]), required=True)
@click.option("--qty", required=True, help="Shares (fractional allowed where the broker allows it).")
@click.option("--type", "order_type", type=click.Choice(["market", "limit"]), default="market", show_default=True)
@click.option("--limit-price", help="Limit price (limit orders).")
@click.option("--tif", type=click.Choice(["day", "gtc"]), default="day", show_default=True, help="Time in force.")
@click.option("--live", is_flag=True, help="Alpaca: trade the live account (asks for typed confirmation).")
@click.option("--json", "as_json", is_flag=True)
def submit_cmd(
    broker: str,
    symbol: str,
    side: str,
    qty: str,
    order_type: str,
    limit_price: str | None,
    tif: str,
    live: bool,
    as_json: bool,
) -> None:
    """Place one order through risk checks and the order manager."""
    from workstation.trading.domain import OrderRequest

    quantity = parse_decimal(qty, "--qty")
    assert quantity is not None
    request = OrderRequest(
        symbol=symbol.strip().upper(),
        side=side,  # type: ignore[arg-type]
        quantity=quantity,
        order_type=order_type,  # type: ignore[arg-type]
        limit_price=parse_decimal(limit_price, "--limit-price"),
        time_in_force=tif,
        strategy="manual",
    )
    request.validate()
    with correlation_scope(prefix="cli"):
        session = open_cli_session(broker, live)
        try:
            order = session.manager.submit(request)
        finally:
            session.close()
    if as_json:
        echo_json(order.as_dict())
    else:
        echo_table(ORDER_HEADERS, order_rows([order]))
    if order.status == "rejected":
        raise WorkstationError(f"order rejected by {broker}: {order.status_reason}")


@command.command("list")
@click.option("--open", "open_only", is_flag=True, help="Only orders not in a final state.")
@click.option("--broker", type=BROKERS, default=None, help="Only this broker's orders.")
@click.option("--limit", type=int, default=200, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def list_cmd(open_only: bool, broker: str | None, limit: int, as_json: bool) -> None:
    """The blotter: orders, newest last."""
    from workstation.trading.repository import SqlOrderStore

    orders = SqlOrderStore(app_context().engine).orders(broker=broker, open_only=open_only, limit=limit)
    if as_json:
        echo_json([o.as_dict() for o in orders])
    else:
        echo_table(ORDER_HEADERS, order_rows(orders))


@command.command("cancel")
@click.argument("order_id")
@click.option("--live", is_flag=True, help="The order is on the live Alpaca account.")
@click.option("--json", "as_json", is_flag=True)
def cancel_cmd(order_id: str, live: bool, as_json: bool) -> None:
    """Cancel one order by its client order id."""
    from workstation.trading.repository import SqlOrderStore

    stored = SqlOrderStore(app_context().engine).get_order(order_id)
    if stored is None:
        raise WorkstationError(f"no order {order_id}")
    with correlation_scope(prefix="cli"):
        session = open_cli_session(stored.broker, live)
        try:
            order = session.manager.cancel(order_id)
        finally:
            session.close()
    if as_json:
        echo_json(order.as_dict())
    else:
        click.echo(f"{order.order_id}: {order.status}")


@command.command("cancel-all")
@click.option("--broker", type=BROKERS, default="paper", show_default=True)
@click.option("--live", is_flag=True)
@click.option("--json", "as_json", is_flag=True)
def cancel_all_cmd(broker: str, live: bool, as_json: bool) -> None:
    """Cancel every open order at one broker."""
    with correlation_scope(prefix="cli"):
        session = open_cli_session(broker, live)
        try:
            orders = session.manager.cancel_all()
        finally:
            session.close()
    if as_json:
        echo_json([o.as_dict() for o in orders])
    else:
        click.echo(f"{len(orders)} order(s) cancelled or cancelling")
        for order in orders:
            click.echo(f"  {order.order_id}: {order.status}")


@command.command("reconcile")
@click.option("--broker", type=BROKERS, default="paper", show_default=True)
@click.option("--live", is_flag=True)
@click.option("--json", "as_json", is_flag=True)
def reconcile_cmd(broker: str, live: bool, as_json: bool) -> None:
    """Ask the broker about every order not in a final state (also done on every start)."""
    with correlation_scope(prefix="cli"):
        session = open_cli_session(broker, live)
        session.close()
    result = session.reconciled
    payload = {"checked": result.checked, "changed": result.changed, "fills_recovered": result.fills_recovered}
    if as_json:
        echo_json(payload)
    else:
        click.echo(f"checked {result.checked}, changed {result.changed}, fills recovered {result.fills_recovered}")
