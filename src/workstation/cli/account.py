"""``workstation fills|account|kill-switch``: the account side of trading (positions: cli/positions.py)."""

from __future__ import annotations

from decimal import Decimal

import click

from workstation.cli.context import app_context
from workstation.cli.orders import BROKERS, open_cli_session, parse_decimal
from workstation.cli.output import echo_json, echo_table
from workstation.errors import RefusedError
from workstation.monitoring.correlation import correlation_scope


@click.command("fills")
@click.option("--broker", type=BROKERS, default=None)
@click.option("--order-id", default=None, help="Only this order's fills.")
@click.option("--json", "as_json", is_flag=True)
def fills_cmd(broker: str | None, order_id: str | None, as_json: bool) -> None:
    """Executions, oldest first."""
    from workstation.trading.repository import SqlOrderStore

    store = SqlOrderStore(app_context().engine)
    fills = store.fills(broker=broker, order_id=order_id)
    if as_json:
        echo_json([f.as_dict() for f in fills])
        return
    rows = [
        (f.timestamp.strftime("%Y-%m-%d %H:%M:%S"), f.fill_id, f.order_id, f.symbol, f.side, f.quantity, f.price,
         f.commission)
        for f in fills
    ]  # fmt: skip
    echo_table(("time (UTC)", "fill id", "order id", "symbol", "side", "qty", "price", "commission"), rows)


@click.command("account")
@click.option("--broker", type=BROKERS, default="paper", show_default=True)
@click.option("--live", is_flag=True)
@click.option("--set-paper-cash", default=None, help="Set the paper account's starting cash.")
@click.option("--json", "as_json", is_flag=True)
def account_cmd(broker: str, live: bool, set_paper_cash: str | None, as_json: bool) -> None:
    """Cash, buying power and equity."""
    if set_paper_cash is not None:
        from workstation.trading.paper_account import set_starting_cash

        cash = parse_decimal(set_paper_cash, "--set-paper-cash")
        assert cash is not None
        set_starting_cash(app_context().engine, cash)
    with correlation_scope(prefix="cli"):
        session = open_cli_session(broker, live)
        try:
            account = session.broker.account()
            book = session.manager.positions()
            realised, commission = book.realised_pnl, book.commission
            market_clock = getattr(session.broker, "market_clock", None)
            clock = market_clock() if callable(market_clock) else None
        finally:
            session.close()
    payload = account.as_dict() | {"realised_pnl": realised, "commission": commission}
    if clock:
        payload |= {k: clock.get(k) for k in ("is_open", "next_open", "next_close")}
    if as_json:
        echo_json(payload)
        return
    for key, value in payload.items():
        shown = f"{value:,.2f}" if isinstance(value, Decimal) else value
        click.echo(f"{key + ':':<14}{shown}")


@click.command("kill-switch")
@click.option("--broker", type=BROKERS, default="paper", show_default=True)
@click.option("--flatten", is_flag=True, help="Also close every position with market orders.")
@click.option("--resume", is_flag=True, help="Lift the halt a previous kill switch left in place.")
@click.option("--live", is_flag=True)
@click.option("--json", "as_json", is_flag=True)
def kill_switch_cmd(broker: str, flatten: bool, resume: bool, live: bool, as_json: bool) -> None:
    """Halt new orders, cancel all open orders and optionally flatten all positions."""
    from workstation.trading.killswitch import kill_switch

    if resume:
        from workstation.trading.session import resume_trading

        with correlation_scope(prefix="cli"):
            resume_trading(app_context().engine, broker=broker)
        click.echo("trading resumed: new orders are allowed again")
        return
    with correlation_scope(prefix="cli"):
        session = open_cli_session(broker, live)
        try:
            result = kill_switch(session.manager, flatten=flatten, reason="kill switch from the command line")
        finally:
            session.close()
    if as_json:
        echo_json(result.as_dict())
    else:
        click.echo(f"halted; cancelled {len(result.cancelled)} order(s)")
        for order in result.flatten_orders:
            click.echo(f"  flatten {order.symbol} {order.side} {order.quantity}: {order.status}")
        for error in result.errors:
            click.echo(f"  error: {error}", err=True)
    if result.errors:
        raise RefusedError(f"kill switch: {len(result.errors)} step(s) failed (see above); trading is halted")


commands = [fills_cmd, account_cmd, kill_switch_cmd]
